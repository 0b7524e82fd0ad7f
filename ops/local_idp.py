"""A local OpenID provider for development and the tests: the `oidc-provider` package (npm)
run by tests/oidc/provider.mjs, issuing JWT access tokens by the client-credentials grant.

Each demo staff member is a client of its own whose client id is their staff id, so the
`sub` of its tokens is the `idp_subject` ops/demo.py gives them. The provider's signing
keys and the clients' secrets are made here and kept in one JSON file (under .data/oidc/
for `make dev`): the provider reads it at start, `python -m ops.token` reads the secrets.

    python -m ops.local_idp        # make dev's `oidc` process: http://127.0.0.1:9400

Development only: a real council's identity provider is configured with OIDC_ISSUER.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import urllib.parse
import urllib.request
from base64 import b64encode
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from config import ROOT, get_settings
from models.protocol_files import load_protocols
from ops.demo import demo_staff

PROVIDER_DIR = ROOT / "tests" / "oidc"
SCRIPT = PROVIDER_DIR / "provider.mjs"
DEV_PORT = 9400
DEV_ISSUER = f"http://127.0.0.1:{DEV_PORT}"
DEV_AUDIENCE = "api://caseflow"
DEV_CONFIG = ROOT / ".data" / "oidc" / "provider.json"
DEV_PAGES_CLIENT = "caseflow-pages"
DEV_PAGES_REDIRECT = "http://127.0.0.1:8000/pages/sign-in/callback"
TOKEN_TTL_SECONDS = 3600


def new_signing_key(alg: str = "RS256") -> dict[str, Any]:
    """A private key as a JWK (RSA for RS256, P-256 for ES256), with a key id of its own."""
    jwk: dict[str, Any]
    if alg == "ES256":
        jwk = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()), as_dict=True)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
    return {**jwk, "kid": secrets.token_hex(8), "alg": alg, "use": "sig"}


def write_config(path: Path, *, port: int, audiences: dict[str, str], subjects: Iterable[str],
                 rotate: bool = False, pages_clients: dict[str, list[str]] | None = None
                 ) -> dict[str, Any]:
    """Write (or refresh) the provider's file: `audiences` maps each audience (resource) it
    issues tokens for to the algorithm they are signed with (RS256 or ES256). Keep the keys
    and secrets it already holds, add a client for every new subject; `rotate` puts a new
    RSA key first (the old one stays published, as a provider does while tokens it signed
    are still in use). `pages_clients`: the pages' public clients and their redirect URIs,
    for the authorization code flow with PKCE."""
    old: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    keys: list[dict[str, Any]] = old.get("keys") or []
    if rotate:
        keys = [new_signing_key(), *keys]
    keys += [new_signing_key(alg) for alg in sorted(set(audiences.values()))
             if not any(k["alg"] == alg for k in keys)]
    secrets_by_id = {c["client_id"]: c["client_secret"] for c in old.get("clients", [])}
    clients = [{"client_id": s, "client_secret": secrets_by_id.get(s) or secrets.token_urlsafe(24)}
               for s in dict.fromkeys(subjects)]
    config = {"issuer": f"http://127.0.0.1:{port}", "port": port,
              "resources": [{"audience": aud, "alg": alg} for aud, alg in audiences.items()],
              "token_ttl_seconds": TOKEN_TTL_SECONDS, "keys": keys, "clients": clients,
              "pages_clients": [{"client_id": c, "redirect_uris": uris}
                                for c, uris in (pages_clients or {}).items()]}
    path.parent.mkdir(parents=True, exist_ok=True)
    # Private keys and client secrets: readable by this user only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(config, out, indent=1)
    return config


class NotInstalled(RuntimeError):
    pass


def command(config_path: Path) -> list[str]:
    node = shutil.which("node")
    if node is None:
        raise NotInstalled("node is not installed: the local identity provider needs it")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        raise NotInstalled(f"oidc-provider is not installed: run `npm ci --prefix "
                           f"{PROVIDER_DIR}` (make dev and make test do)")
    return [node, str(SCRIPT), str(config_path)]


def start(config_path: Path, log: Path) -> subprocess.Popen[bytes]:
    """The provider as a child process of its own session, logging to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(command(config_path), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def fetch_token(issuer: str, client_id: str, client_secret: str,
                resource: str | None = None) -> str:
    """An access token from the provider's token endpoint (named by its discovery document),
    by the client-credentials grant."""
    with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration",
                                timeout=10) as response:
        endpoint = json.load(response)["token_endpoint"]
    form = {"grant_type": "client_credentials", **({"resource": resource} if resource else {})}
    basic = b64encode(f"{urllib.parse.quote(client_id)}:{urllib.parse.quote(client_secret)}"
                      .encode()).decode()
    request = urllib.request.Request(endpoint, data=urllib.parse.urlencode(form).encode(),
                                     headers={"Authorization": f"Basic {basic}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        token: str = json.load(response)["access_token"]
    return token


def main() -> None:
    settings = get_settings()
    if settings.environment != "development":
        raise SystemExit("the local identity provider is for development only")
    subjects = [person.id for protocol in load_protocols(settings.protocols_dir).values()
                for person in demo_staff(protocol)]
    write_config(DEV_CONFIG, port=DEV_PORT, audiences={DEV_AUDIENCE: "RS256"},
                 subjects=subjects, pages_clients={DEV_PAGES_CLIENT: [DEV_PAGES_REDIRECT]})
    try:
        args = command(DEV_CONFIG)
    except NotInstalled as exc:
        raise SystemExit(str(exc)) from exc
    os.execv(args[0], args)


if __name__ == "__main__":
    main()
