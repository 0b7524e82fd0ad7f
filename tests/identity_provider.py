"""The local OpenID provider (ops/local_idp.py, tests/oidc/provider.mjs) as a child process
of a test: started on a free port, waited for, stopped; tokens from its token endpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from config import ROOT
from models.protocol_files import load_protocols
from ops.demo import demo_staff
from ops.local_idp import fetch_token, start, write_config
from tests.mail import free_port

READY_SECONDS = 30.0
AUDIENCE = "api://caseflow-test"
OTHER_AUDIENCE = "api://another-service"
EC_AUDIENCE = "api://caseflow-ec"  # its tokens are signed with ES256
STRANGER = "someone-not-in-the-directory"


class LocalProvider:
    def __init__(self, workdir: Path, subjects: Iterable[str], audiences: dict[str, str],
                 pages_clients: dict[str, list[str]] | None = None) -> None:
        """`audiences`: each audience the provider issues tokens for, and their algorithm;
        `pages_clients`: the pages' clients (code flow) and their redirect URIs."""
        self.workdir = workdir
        self.config_path = workdir / "provider.json"
        self.log = workdir / "provider.log"
        self.subjects = list(subjects)
        self.audiences = audiences
        self.pages_clients = pages_clients
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.config: dict[str, Any] = {}
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, *, rotate: bool = False) -> None:
        self.config = write_config(self.config_path, port=self.port, audiences=self.audiences,
                                   subjects=self.subjects, rotate=rotate,
                                   pages_clients=self.pages_clients)
        self._process = start(self.config_path, self.log)
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the identity provider exited:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(
                        f"{self.issuer}/.well-known/openid-configuration", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the identity provider did not answer:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        self._process = None

    def rotate(self) -> None:
        """Restart with a new signing key first, the old one still published."""
        self.stop()
        self.start(rotate=True)

    def token(self, subject: str, resource: str | None = None) -> str:
        secret = {c["client_id"]: c["client_secret"] for c in self.config["clients"]}[subject]
        return fetch_token(self.issuer, subject, secret, resource or next(iter(self.audiences)))

    @property
    def signing_key(self) -> dict[str, Any]:
        """The private RSA JWK the provider signs with now (for tests that forge claims)."""
        key: dict[str, Any] = next(k for k in self.config["keys"] if k["alg"] == "RS256")
        return key

    def jwks_fetches(self) -> int:
        """How often the provider has been asked for its keys (from its request log)."""
        return sum(1 for line in self.log.read_text().splitlines()
                   if line.startswith("GET /jwks "))


@pytest.fixture(scope="session")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProvider]:
    """One provider for the session: every demo staff member is a client of its own (their
    id is the `sub` of their tokens), and one stranger the directory does not know."""
    subjects = [p.id for protocol in load_protocols(ROOT / "protocols").values()
                for p in demo_staff(protocol)] + [STRANGER]
    provider = LocalProvider(tmp_path_factory.mktemp("idp"), subjects, {
        AUDIENCE: "RS256", OTHER_AUDIENCE: "RS256", EC_AUDIENCE: "ES256"})
    provider.start()
    yield provider
    provider.stop()
