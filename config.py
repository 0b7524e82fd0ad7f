"""Settings, read once from the environment (and `.env`), typed; and the development
secrets that stand in for some of them, kept in files under .data/."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlparse

from pydantic import (
    Field,
    FilePath,
    NonNegativeInt,
    PositiveInt,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parent


MIN_SESSION_SECRET = 32  # characters; `openssl rand -hex 32` gives 64
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                         "ES256", "ES384", "ES512", "EdDSA")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = f"sqlite:///{ROOT / '.data' / 'caseflow.db'}"
    # The role that owns the schema and runs migrations (and the retention purge); the app
    # connects with DATABASE_URL as APP_DATABASE_ROLE, which may only append to the audit
    # trail. Unset: DATABASE_URL for both, and no grants (SQLite, a development database).
    migration_database_url: str | None = None
    app_database_role: str | None = None
    protocols_dir: Path = ROOT / "protocols"
    # Where organisations outside the council (another authority, CAFCASS) are emailed.
    external_addresses_file: Path = ROOT / "external-addresses.yaml"

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "case-transfers"
    temporal_retention_days: int = 30
    # Whoever reaches Temporal can start and act on transfers as anyone: only the API, the
    # worker and operators' tools may. TLS (with the system's roots, or the CA given), mTLS
    # with a client certificate, and/or an API key (Temporal Cloud; it implies TLS).
    temporal_tls: bool = False
    temporal_tls_server_ca_file: FilePath | None = None
    temporal_tls_client_cert_file: FilePath | None = None
    temporal_tls_client_key_file: FilePath | None = None
    temporal_tls_server_name: str | None = None  # when the address is not the cert's name
    temporal_api_key: SecretStr | None = None
    # The operator's decision that the network to Temporal is private (e.g. a sidecar on
    # localhost, or a network nothing else joins): production then starts without TLS.
    temporal_insecure_ok: bool = False

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_tls: bool = False  # implicit TLS from the first byte (SMTPS, usually port 465)
    # The operator's decision that mail to the relay never leaves a private network (e.g.
    # docker-compose's Mailpit): only then does production send mail without TLS.
    smtp_insecure_ok: bool = False
    mail_from: str = "case-transfers@council.example"
    # Temporal payload encryption (payload_codec.py): "k2:<base64 of 32 bytes>,k1:<base64>",
    # the first encrypts, all decrypt. Development without it uses (and makes) the key file.
    payload_keys: SecretStr = SecretStr("")
    payload_key_file: Path = ROOT / ".data" / "payload-key"
    # Keys the hash that stands for an Idempotency-Key in Temporal (api/references.py);
    # unset, one is derived from the current payload key. Set it before rotating those.
    reference_key: SecretStr = SecretStr("")
    # Browser origins allowed to call the codec endpoints (/codec/decode): the Temporal UI's.
    codec_cors_origins: list[str] = ["http://localhost:8233", "http://127.0.0.1:8233"]
    # Development only: the staff id the dev server's UI decodes payloads as (it has no
    # sign-in and cannot pass a token). Refused in production.
    codec_development_operator: str = ""

    # Requests with a larger body are refused (413) before it is read or the token checked.
    max_body_bytes: int = 64 * 1024
    # The interactive API documentation (/docs), its assets served by the API itself;
    # default: on in development, off in production. /openapi.json, the contract, is
    # always served.
    docs_enabled: bool | None = None
    # Whether this process serves the managers' pages (pages/, under /pages). The API does;
    # a process that serves none (the worker, the migrations) may say so, and then needs none
    # of their secrets. In production the pages need PAGES_SESSION_SECRET and the council's
    # identity provider (PAGES_OIDC_*): the demo chooser is for development only.
    pages_enabled: bool = True
    # The managers' pages' session cookie is signed with this secret; in development
    # without it, one is made and kept in the key file (like the payload key).
    pages_session_secret: SecretStr = SecretStr("")
    pages_session_key_file: Path = ROOT / ".data" / "pages-session-key"
    pages_session_hours: PositiveInt = 8
    # GOV.UK Frontend and axe-core, installed by `npm ci --prefix web` (the Makefile).
    pages_node_modules: Path = ROOT / "web" / "node_modules"

    # The retention schedule (ops/retention), in days. Notes and email bodies are counted
    # from the day the transfer closed (or ended); start keys from the day they were sent,
    # as they only guard retries of a start.
    retention_notes_days: int = Field(default=6 * 365, ge=1)
    retention_emails_days: int = Field(default=2 * 365, ge=1)
    retention_start_keys_days: int = Field(default=90, ge=1)
    # A note no event refers to: its action was refused (notes are never taken back, so
    # that no refusal can remove one an accepted retry refers to). Counted from writing it.
    retention_unreferenced_notes_days: int = Field(default=30, ge=1)

    # Sign-in with the council's identity provider (OpenID Connect): access tokens (JWTs) it
    # issues for this API. Empty issuer: only API tokens are accepted.
    oidc_issuer: str = ""
    oidc_audience: str = ""  # Entra ID (v2 tokens): the API application's client id
    oidc_jwks_url: str = ""  # empty: the jwks_uri of the issuer's discovery document
    oidc_algorithms: Annotated[list[str], NoDecode] = ["RS256", "ES256", "PS256"]
    oidc_subject_claim: str = "sub"  # Entra ID: "oid", the same person in every application
    oidc_leeway_seconds: NonNegativeInt = 30  # clock skew allowed on exp and nbf
    oidc_jwks_cache_seconds: PositiveInt = 600
    # A token naming a key we do not hold refetches the keys at most this often, so a stream
    # of forged key ids cannot make us hammer the provider.
    oidc_jwks_cooldown_seconds: NonNegativeInt = 60
    # The pages' sign-in through the same provider (authorization code with PKCE): the pages'
    # own client. No secret: a public client (PKCE alone); with one, client_secret_basic.
    # Empty client id: no sign-in through the provider (development offers the chooser).
    pages_oidc_client_id: str = ""
    pages_oidc_client_secret: SecretStr = SecretStr("")
    # This service's callback, as registered with the provider:
    # https://<this service>/pages/sign-in/callback
    pages_oidc_redirect_url: str = ""
    pages_oidc_scopes: str = "openid"
    # Repeated failed sign-ins from one client address: after this many within the window,
    # every sign-in from it is refused (429) for the backoff period.
    sign_in_max_failures: PositiveInt = 10
    sign_in_failure_window_seconds: PositiveInt = 60
    sign_in_backoff_seconds: PositiveInt = 300

    def _production_pages_problems(self) -> list[str]:
        """What the managers' pages need in production, when this process serves them."""
        problems = []
        secret = self.pages_session_secret.get_secret_value().strip()
        if not secret:
            problems.append("production needs PAGES_SESSION_SECRET (e.g. `openssl rand -hex "
                            "32`): it signs the managers' pages' session and sign-in cookies;"
                            " or PAGES_ENABLED=false for a process that serves no pages")
        elif len(secret) < MIN_SESSION_SECRET:
            problems.append(f"PAGES_SESSION_SECRET must be at least {MIN_SESSION_SECRET} "
                            "characters (e.g. `openssl rand -hex 32`)")
        if not self.pages_oidc_client_id:
            problems.append("production signs in to the managers' pages through the council's "
                            "identity provider: set PAGES_OIDC_CLIENT_ID (with OIDC_ISSUER and"
                            " PAGES_OIDC_REDIRECT_URL); or PAGES_ENABLED=false for a process "
                            "that serves no pages")
        return problems

    @property
    def owner_database_url(self) -> str:
        """Where migrations and the retention purge connect: the schema's owner."""
        return self.migration_database_url or self.database_url

    @property
    def temporal_uses_tls(self) -> bool:
        return bool(self.temporal_tls or self.temporal_tls_server_ca_file
                    or self.temporal_tls_client_cert_file or self.temporal_tls_server_name
                    or self.temporal_api_key)

    @property
    def docs_on(self) -> bool:
        if self.docs_enabled is None:
            return self.environment == "development"
        return self.docs_enabled

    @field_validator("oidc_algorithms", mode="before")
    @classmethod
    def _split_algorithms(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("oidc_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        # A shared-secret (HS*) or unsigned token proves nothing about who signed it: with
        # an issuer's public keys as "secrets", anyone could mint one.
        refused = [alg for alg in value if alg not in ASYMMETRIC_ALGORITHMS]
        if refused:
            raise ValueError(f"OIDC_ALGORITHMS may only name {', '.join(ASYMMETRIC_ALGORITHMS)}"
                             f"; not {', '.join(refused)}")
        if not value:
            raise ValueError("OIDC_ALGORITHMS must name at least one algorithm")
        return value

    @model_validator(mode="after")
    def _production_is_configured(self) -> Settings:
        problems = []
        if (self.temporal_tls_client_cert_file is None) != (
                self.temporal_tls_client_key_file is None):
            problems.append("TEMPORAL_TLS_CLIENT_CERT_FILE and TEMPORAL_TLS_CLIENT_KEY_FILE "
                            "go together: give both or neither")
        if ".tmprl.cloud:" in self.temporal_address and not self.temporal_uses_tls:
            problems.append("Temporal Cloud is reached over TLS: set TEMPORAL_API_KEY, or "
                            "TEMPORAL_TLS_CLIENT_CERT_FILE / _KEY_FILE for mTLS")
        if self.smtp_starttls and self.smtp_tls:
            problems.append("choose SMTP_STARTTLS (upgrade a plain connection, usually port "
                            "587) or SMTP_TLS (TLS from the start, usually port 465), not both")
        if self.environment == "production":
            if self.database_url.startswith("sqlite"):
                problems.append("production needs DATABASE_URL pointing at PostgreSQL")
            if not self.temporal_uses_tls and not self.temporal_insecure_ok:
                problems.append(
                    "production needs TLS to Temporal: set TEMPORAL_TLS=true (with "
                    "TEMPORAL_TLS_SERVER_CA_FILE for a private CA, and "
                    "TEMPORAL_TLS_CLIENT_CERT_FILE / _KEY_FILE for mTLS) or TEMPORAL_API_KEY; "
                    "or, if the network to Temporal is private, say so with "
                    "TEMPORAL_INSECURE_OK=true")
            if not (self.smtp_starttls or self.smtp_tls or self.smtp_insecure_ok):
                problems.append("production sends email over TLS: set SMTP_STARTTLS=true "
                                "(usually port 587) or SMTP_TLS=true (usually port 465); or, "
                                "if the relay is on a private network, say so with "
                                "SMTP_INSECURE_OK=true")
        if self.environment == "production" and self.codec_development_operator:
            problems.append("CODEC_DEVELOPMENT_OPERATOR is for development only: in production "
                            "the Temporal UI signs in and passes the user's access token")
        if self.environment == "production" and not self.payload_keys.get_secret_value():
            problems.append("production needs PAYLOAD_KEYS ('id:<base64 of 32 random bytes>'):"
                            " without it Temporal would keep case data unencrypted")
        if self.oidc_issuer and urlparse(self.oidc_issuer).scheme not in ("http", "https"):
            problems.append("OIDC_ISSUER must be an https:// address (http:// in development)")
        if self.oidc_issuer and not self.oidc_audience:
            problems.append("OIDC_ISSUER is set without OIDC_AUDIENCE: the audience this "
                            "API's access tokens are issued for (e.g. api://<client id>)")
        if self.pages_oidc_client_id and not (self.oidc_issuer and self.pages_oidc_redirect_url):
            problems.append("PAGES_OIDC_CLIENT_ID needs OIDC_ISSUER and PAGES_OIDC_REDIRECT_URL "
                            "(this service's /pages/sign-in/callback address)")
        if self.environment == "production" and (self.pages_enabled
                                                 or self.pages_oidc_client_id):
            problems += self._production_pages_problems()
        if self.environment == "production":
            for name, url in (("OIDC_ISSUER", self.oidc_issuer),
                              ("OIDC_JWKS_URL", self.oidc_jwks_url),
                              ("PAGES_OIDC_REDIRECT_URL", self.pages_oidc_redirect_url)):
                if url and urlparse(url).scheme != "https":
                    problems.append(f"production needs {name} to be an https:// address")
        if problems:
            raise ValueError("; ".join(problems))
        return self


@cache
def get_settings() -> Settings:
    return Settings()


# Several processes start together under `make dev` (worker, API, codec) and must end up
# with the same development secret: the file is written whole under a temporary name and
# then linked into place, which fails if another process got there first. Nobody reads a
# half-written file, and the first writer's secret is the one every process keeps.
def kept_secret(path: Path, make: Callable[[], str]) -> str:
    """The text kept at `path` (readable by its owner only); `make()` the first time."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as out:
                out.write(make() + "\n")
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: keep theirs
        finally:
            os.unlink(draft)
    return path.read_text().strip()
