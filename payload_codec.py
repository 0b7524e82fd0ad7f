"""Every payload Temporal stores is encrypted: AES-256-GCM, keys by id, rotation-ready.

The codec runs in the client (API, worker, ops tools), never in the workflow sandbox,
so workflow code stays deterministic. A payload it encrypted carries
`encoding: binary/encrypted` and the id of the key in its metadata; the data is the
nonce followed by the ciphertext of the whole original payload (metadata included), so
nothing about the value, not even its type, is readable without the key. Payloads it
did not encrypt (histories recorded before encryption, a payload another client wrote)
pass through decoding untouched.

Keys come from `PAYLOAD_KEYS` ("k2:<base64 of 32 bytes>,k1:<base64>"): the first
encrypts, every one decrypts, so a new key goes first and the old one stays listed until
no history that needs it is kept. In development without the setting, one key is made
once and kept in `.data/payload-key`; production refuses to start without it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from config import Settings, kept_secret

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
NONCE_BYTES = 12
KEY_BYTES = 32
DEV_KEY_ID = "dev"


class PayloadKeyError(ValueError):
    """The configured keys cannot be used (malformed, wrong length, missing in production)."""


class PayloadDecryptionError(ValueError):
    """An encrypted payload cannot be decrypted: unknown key id, or not what was encrypted."""


@dataclasses.dataclass(frozen=True)
class PayloadKeys:
    """The key that encrypts (`current`) and every key that may decrypt, by id."""

    current: str
    keys: Mapping[str, bytes]

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise PayloadKeyError(f"the current payload key '{self.current}' is not listed")
        for key_id, key in self.keys.items():
            if not KEY_ID_PATTERN.match(key_id):
                raise PayloadKeyError("a payload key id must be 1-32 letters, digits, '_' or '-'")
            if len(key) != KEY_BYTES:
                raise PayloadKeyError(f"payload key '{key_id}' must be {KEY_BYTES} bytes "
                                      f"(base64 of 32 random bytes), not {len(key)}")

    @classmethod
    def parse(cls, text: str) -> PayloadKeys:
        """From "id:base64,id:base64" (the first is current). Key material is never echoed."""
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            key_id, sep, encoded = item.partition(":")
            key_id = key_id.strip()
            if not sep or not KEY_ID_PATTERN.match(key_id):
                raise PayloadKeyError("PAYLOAD_KEYS must read 'id:<base64 of 32 bytes>', "
                                      "comma-separated, ids of letters, digits, '_' or '-'")
            if key_id in keys:
                raise PayloadKeyError(f"payload key id '{key_id}' is listed twice")
            try:
                keys[key_id] = base64.b64decode(encoded.strip(), validate=True)
            except binascii.Error as exc:
                raise PayloadKeyError(f"payload key '{key_id}' is not valid base64") from exc
            order.append(key_id)
        if not order:
            raise PayloadKeyError("PAYLOAD_KEYS lists no key")
        return cls(current=order[0], keys=keys)

    @classmethod
    def generate(cls, key_id: str = DEV_KEY_ID) -> PayloadKeys:
        return cls(current=key_id, keys={key_id: secrets.token_bytes(KEY_BYTES)})

    def setting(self) -> str:
        """The PAYLOAD_KEYS text for these keys (current first)."""
        ordered = [self.current, *(k for k in self.keys if k != self.current)]
        return ",".join(f"{k}:{base64.b64encode(self.keys[k]).decode()}" for k in ordered)


def development_keys(path: Path) -> PayloadKeys:
    """The development key kept at `path`, made on first use (readable by its owner only)."""
    return PayloadKeys.parse(kept_secret(path, lambda: PayloadKeys.generate().setting()))


def keys_from_settings(settings: Settings) -> PayloadKeys:
    """The configured keys; in development without any, the kept development key."""
    configured = settings.payload_keys.get_secret_value().strip()
    if configured:
        return PayloadKeys.parse(configured)
    if settings.environment == "production":
        raise PayloadKeyError(
            "production needs PAYLOAD_KEYS ('id:<base64 of 32 random bytes>', e.g. from "
            "`python -c \"import os,base64;print(base64.b64encode(os.urandom(32)).decode())\"`)"
            ": without it Temporal would store case data unencrypted")
    return development_keys(settings.payload_key_file)


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole payloads; the key id is authenticated with the ciphertext."""

    def __init__(self, keys: PayloadKeys) -> None:
        self.keys = keys
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self.keys.current
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(),
                                               key_id.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id.encode()},
                       data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # not ours: plaintext from before encryption, or another codec's
        key_id = payload.metadata.get(KEY_ID, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecryptionError(
                f"payload encrypted with key '{key_id[:32]}', which is not among the "
                f"configured PAYLOAD_KEYS ({', '.join(self.keys.keys)}): add it back to decrypt")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag as exc:
            raise PayloadDecryptionError(
                f"payload encrypted with key '{key_id}' failed authentication: it was "
                "altered, or the key under that id is not the one that encrypted it") from exc
        original = Payload()
        original.ParseFromString(plain)
        return original


def data_converter(keys: PayloadKeys) -> DataConverter:
    """The project's converter: pydantic, then encryption. Failure messages and stack traces
    are moved into an (encrypted) payload too, so a refusal never sits in history as text."""
    return dataclasses.replace(pydantic_data_converter, payload_codec=EncryptionCodec(keys),
                               failure_converter_class=DefaultFailureConverterWithEncodedAttributes)
