"""Only a client with the right certificate reaches Temporal (config.py, temporal_setup.connect).

The dev server (`temporal server start-dev`) has no TLS options, so it runs here behind
a TLS front: an mTLS-terminating proxy, as a self-hosted Temporal stands behind one (or
serves TLS itself) in production. The front is Python's own `ssl`, requiring a client
certificate from the test's CA; the client side is the project's `connect` with its
settings, so what is shown is the settings → temporalio TLS mapping doing its work on a
real handshake: the right certificate connects, a plain client, a client with a
certificate from another CA, and a client that does not trust the server's CA are refused;
the server-name setting checks the name the certificate carries. (The API-key path is
shown only by the mapping: no server here checks keys.)
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from config import Settings
from temporal_setup import connect, tls_config
from tests.certs import Authority, Pair
from tests.converter import TEST_PAYLOAD_KEYS


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    directory = tmp_path_factory.mktemp("pki")
    ours, theirs = Authority(directory, "council"), Authority(directory, "stranger")
    yield {"ca": ours.file, "server": ours.issue("localhost", server=True),
           # A certificate naming only the frontend's service name, not the address dialled.
           "named": ours.issue("temporal-frontend", server=True, ip=False),
           "api": ours.issue("caseflow-api", server=False),
           "stranger": theirs.issue("caseflow-api", server=False), "other_ca": theirs.file}


@pytest.fixture
async def dev_server() -> AsyncIterator[str]:
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"))
    try:
        yield env.client.service_client.config.target_host
    finally:
        await env.shutdown()


@pytest.fixture
async def tls_front(dev_server: str, pki: dict[str, Any]) -> AsyncIterator[str]:
    async with mtls_front(dev_server, pki, pki["server"]) as address:
        yield f"localhost:{address.rpartition(':')[2]}"


@contextlib.asynccontextmanager
async def mtls_front(dev_server: str, pki: dict[str, Any], server_pair: Pair
                     ) -> AsyncIterator[str]:
    """127.0.0.1:port of an mTLS endpoint passing each accepted connection on to the dev
    server, presenting `server_pair`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki["ca"]))
    context.load_cert_chain(server_pair.cert, server_pair.key)
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])  # gRPC
    host, _, port = dev_server.rpartition(":")

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    front = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    try:
        yield f"127.0.0.1:{front.sockets[0].getsockname()[1]}"
    finally:
        front.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(front.wait_closed(), 5)


def settings(address: str, **tls: Any) -> Settings:
    return Settings(temporal_address=address, **tls)


async def test_a_client_with_the_councils_certificate_connects(tls_front, pki):
    client = await connect(settings(tls_front, temporal_tls_server_ca_file=pki["ca"],
                                    temporal_tls_client_cert_file=pki["api"].cert,
                                    temporal_tls_client_key_file=pki["api"].key), attempts=1)
    info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
    assert info.server_version


async def test_the_server_name_setting_checks_the_name_on_the_certificate(dev_server, pki):
    ours = {"temporal_tls_server_ca_file": pki["ca"],
            "temporal_tls_client_cert_file": pki["api"].cert,
            "temporal_tls_client_key_file": pki["api"].key}
    async with mtls_front(dev_server, pki, pki["named"]) as address:
        with pytest.raises(RuntimeError, match="Failed client connect"):
            await connect(settings(address, **ours), attempts=1)  # 127.0.0.1 is not named
        client = await connect(settings(address, temporal_tls_server_name="temporal-frontend",
                                        **ours), attempts=1)
        assert (await client.workflow_service.get_system_info(
            GetSystemInfoRequest())).server_version


@pytest.mark.parametrize("who", ["plain", "no client certificate", "another CA's certificate",
                                 "not trusting the server"])
async def test_any_other_client_is_refused(tls_front, pki, who):
    ours: Pair = pki["api"]
    chosen = {
        "plain": {},
        "no client certificate": {"temporal_tls_server_ca_file": pki["ca"]},
        "another CA's certificate": {"temporal_tls_server_ca_file": pki["ca"],
                                     "temporal_tls_client_cert_file": pki["stranger"].cert,
                                     "temporal_tls_client_key_file": pki["stranger"].key},
        # The system's roots (or another CA) do not vouch for the council's server.
        "not trusting the server": {"temporal_tls_server_ca_file": pki["other_ca"],
                                    "temporal_tls_client_cert_file": ours.cert,
                                    "temporal_tls_client_key_file": ours.key},
    }[who]
    with pytest.raises(RuntimeError, match="Failed client connect"):
        client = await asyncio.wait_for(connect(settings(tls_front, **chosen), attempts=1), 30)
        # With TLS 1.3 a refused client certificate can surface on the first call instead.
        await client.count_workflows()


# ----- the settings themselves ------------------------------------------------------------------


def test_settings_map_onto_temporalios_tls(pki):
    mapped = tls_config(settings("temporal.council.internal:7233",
                                 temporal_tls_server_ca_file=pki["ca"],
                                 temporal_tls_client_cert_file=pki["api"].cert,
                                 temporal_tls_client_key_file=pki["api"].key,
                                 temporal_tls_server_name="temporal-frontend"))
    assert isinstance(mapped, TLSConfig)
    assert mapped.server_root_ca_cert == pki["ca"].read_bytes()
    assert mapped.client_cert == pki["api"].cert.read_bytes()
    assert mapped.client_private_key == pki["api"].key.read_bytes()
    assert mapped.domain == "temporal-frontend"
    assert tls_config(settings("localhost:7233")) is False
    # Temporal Cloud: an API key alone means TLS with the system's roots.
    cloud = tls_config(settings("caseflow.a1b2c.tmprl.cloud:7233", temporal_api_key="k"))
    assert cloud == TLSConfig()
    assert tls_config(settings("t:7233", temporal_tls=True)) == TLSConfig()


def production(**changes: Any) -> Settings:
    base: dict[str, Any] = {"environment": "production", "database_url":
                            "postgresql://caseflow@db/caseflow", "smtp_starttls": True,
                            "payload_keys": TEST_PAYLOAD_KEYS, "pages_enabled": False}
    return Settings(**{**base, **changes})


def test_production_refuses_to_reach_temporal_in_the_clear(pki):
    with pytest.raises(ValidationError, match="production needs TLS to Temporal.*"
                                              "TEMPORAL_INSECURE_OK=true"):
        production()
    assert production(temporal_insecure_ok=True).temporal_uses_tls is False
    assert production(temporal_tls=True).temporal_uses_tls
    assert production(temporal_api_key="k").temporal_uses_tls
    assert production(temporal_tls_server_ca_file=pki["ca"]).temporal_uses_tls


def test_temporal_cloud_is_never_reached_in_the_clear():
    with pytest.raises(ValidationError, match="Temporal Cloud is reached over TLS"):
        settings("caseflow.a1b2c.tmprl.cloud:7233")


def test_a_client_certificate_needs_its_key_and_files_must_exist(pki, tmp_path):
    with pytest.raises(ValidationError, match="go together"):
        settings("t:7233", temporal_tls_client_cert_file=pki["api"].cert)
    with pytest.raises(ValidationError, match="temporal_tls_server_ca_file"):
        settings("t:7233", temporal_tls_server_ca_file=tmp_path / "missing.pem")
