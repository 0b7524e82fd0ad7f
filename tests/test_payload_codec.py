"""The payload codec: round trip, rotation, tampering, unknown keys, plaintext passing through."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from config import Settings
from models.protocol import Role
from models.transfer import Actor, AllocateAction
from payload_codec import (
    ENCODING,
    KEY_ID,
    EncryptionCodec,
    PayloadDecryptionError,
    PayloadKeyError,
    PayloadKeys,
    data_converter,
    development_keys,
    keys_from_settings,
)

ACTION = AllocateAction(actor=Actor(staff_id="gateshead-lac-tm", role=Role.team_manager,
                                    team="lac"), worker_id="W-C100234", note_ref="n-1")


def key_text(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


async def test_round_trip_hides_the_value_and_its_type() -> None:
    converter = data_converter(PayloadKeys.generate("k1"))
    [payload] = await converter.encode([ACTION])
    assert payload.metadata["encoding"] == ENCODING
    assert payload.metadata[KEY_ID] == b"k1"
    assert b"C100234" not in payload.data and b"json" not in payload.data
    assert set(payload.metadata) == {"encoding", KEY_ID}
    [back] = await converter.decode([payload], [AllocateAction])
    assert back == ACTION


async def test_the_same_value_encrypts_differently_each_time() -> None:
    codec = EncryptionCodec(PayloadKeys.generate())
    plain = (await pydantic_data_converter.encode([ACTION]))[0]
    first, second = await codec.encode([plain, plain])
    assert first.data != second.data


async def test_rotation_old_payloads_decrypt_after_a_new_key_is_current() -> None:
    old = key_text("k1")
    before = EncryptionCodec(PayloadKeys.parse(old))
    plain = (await pydantic_data_converter.encode([ACTION]))[0]
    [sealed_old] = await before.encode([plain])

    after = EncryptionCodec(PayloadKeys.parse(f"{key_text('k2')},{old}"))
    [sealed_new] = await after.encode([plain])
    assert sealed_new.metadata[KEY_ID] == b"k2"  # the first listed encrypts
    assert await after.decode([sealed_old, sealed_new]) == [plain, plain]


async def test_tampered_ciphertext_is_refused() -> None:
    codec = EncryptionCodec(PayloadKeys.generate("k1"))
    plain = (await pydantic_data_converter.encode([ACTION]))[0]
    [sealed] = await codec.encode([plain])
    flipped = bytearray(sealed.data)
    flipped[-1] ^= 1
    tampered = Payload(metadata=dict(sealed.metadata), data=bytes(flipped))
    with pytest.raises(PayloadDecryptionError, match="failed authentication"):
        await codec.decode([tampered])


async def test_a_payload_moved_to_another_key_id_is_refused() -> None:
    # The key id is authenticated with the ciphertext: relabelling it does not decrypt.
    shared = base64.b64encode(os.urandom(32)).decode()
    codec = EncryptionCodec(PayloadKeys.parse(f"k1:{shared},k2:{shared}"))
    [sealed] = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"1")])
    relabelled = Payload(metadata={"encoding": ENCODING, KEY_ID: b"k2"}, data=sealed.data)
    with pytest.raises(PayloadDecryptionError):
        await codec.decode([relabelled])


async def test_an_unknown_key_id_is_refused_with_a_clear_error() -> None:
    [sealed] = await EncryptionCodec(PayloadKeys.generate("gone")).encode(
        [Payload(metadata={"encoding": b"json/plain"}, data=b"1")])
    codec = EncryptionCodec(PayloadKeys.generate("k2"))
    with pytest.raises(PayloadDecryptionError,
                       match=r"key 'gone', which is not among the configured PAYLOAD_KEYS \(k2\)"):
        await codec.decode([sealed])


async def test_payloads_it_did_not_encrypt_pass_through() -> None:
    # Histories recorded before encryption hold plaintext payloads: they must still replay.
    codec = EncryptionCodec(PayloadKeys.generate())
    plain = (await pydantic_data_converter.encode([ACTION]))[0]
    assert await codec.decode([plain]) == [plain]


@pytest.mark.parametrize(("text", "problem"), [
    ("", "lists no key"),
    ("k1", "must read"),
    ("bad id:AAAA", "must read"),
    ("k1:not base64!", "not valid base64"),
    (f"k1:{base64.b64encode(b'short').decode()}", "must be 32 bytes"),
    ("k1:" + base64.b64encode(bytes(32)).decode() + ",k1:"
     + base64.b64encode(bytes(32)).decode(), "listed twice"),
])
def test_malformed_keys_are_refused_without_echoing_them(text: str, problem: str) -> None:
    with pytest.raises(PayloadKeyError, match=problem) as refused:
        PayloadKeys.parse(text)
    secret = text.partition(":")[2]
    assert not secret or secret not in str(refused.value)


def test_production_without_keys_refuses_to_start() -> None:
    with pytest.raises(ValueError, match="production needs PAYLOAD_KEYS"):
        Settings(environment="production", database_url="postgresql://db/caseflow")
    keys = key_text("p1")
    settings = Settings(environment="production", database_url="postgresql://db/caseflow",
                        payload_keys=SecretStr(keys), temporal_insecure_ok=True,
                        smtp_starttls=True, pages_enabled=False)
    assert keys_from_settings(settings).current == "p1"


def test_development_makes_one_key_and_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / ".data" / "payload-key"
    settings = Settings(payload_key_file=path)
    first = keys_from_settings(settings)
    assert path.stat().st_mode & 0o777 == 0o600
    assert development_keys(path) == first  # the next start reads the same key
