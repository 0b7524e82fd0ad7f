"""Settings, read once from the environment (and `.env`), typed."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import FilePath, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = f"sqlite:///{ROOT / '.data' / 'caseflow.db'}"
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
    mail_from: str = "case-transfers@council.example"
    # Requests with a larger body are refused (413) before it is read or the token checked.
    max_body_bytes: int = 64 * 1024
    # The interactive API documentation (/docs), its assets served by the API itself;
    # default: on in development, off in production. /openapi.json, the contract, is
    # always served.
    docs_enabled: bool | None = None

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
            if not (self.smtp_starttls or self.smtp_tls):
                problems.append("production sends email over TLS: set SMTP_STARTTLS=true "
                                "(usually port 587) or SMTP_TLS=true (usually port 465)")
        if problems:
            raise ValueError("; ".join(problems))
        return self


@cache
def get_settings() -> Settings:
    return Settings()
