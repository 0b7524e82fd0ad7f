"""What Temporal may see of a client's key: an opaque reference, never the key itself.

An `Idempotency-Key` is a client's text; a careless client might put a child's name in
it. Update ids and request ids sit in workflow history in plain (the payload codec does
not cover them), so the key reaches Temporal only as a keyed hash: HMAC-SHA256 over the
authority and the key, so the same key from another authority is another reference and a
guessed name cannot be confirmed from history without the secret.
"""

from __future__ import annotations

import hashlib
import hmac

from temporalio.client import Client

from config import Settings
from payload_codec import EncryptionCodec

# Letters, digits and . _ : - only: a UUID, a ULID or "start-C100234" pass; a name with a
# space, an e-mail address or free text does not. No minimum length: the key is hashed and
# scoped to the authority, so a short key leaks nothing; uniqueness is the client's job.
IDEMPOTENCY_KEY = r"^[A-Za-z0-9._:-]{1,128}$"
REFERENCE_BYTES = 16  # 128 bits: no two keys of one authority collide in practice


def reference_secret(settings: Settings, client: Client) -> bytes:
    """REFERENCE_KEY if set, otherwise derived from the current payload key.

    Set REFERENCE_KEY before rotating PAYLOAD_KEYS: a reference derived from the payload
    key changes with it, and a request retried across the rotation would be a new one.
    """
    configured = settings.reference_key.get_secret_value()
    if configured:
        return configured.encode()
    codec = client.data_converter.payload_codec
    if isinstance(codec, EncryptionCodec):
        return hmac.new(codec.keys.keys[codec.keys.current], b"caseflow key references",
                        hashlib.sha256).digest()
    return b""  # a client without encryption (never the API's): a plain SHA-256


def key_reference(secret: bytes, authority: str, key: str) -> str:
    """The opaque stand-in for a client's key, e.g. "key-3f9a…" (32 hex digits)."""
    digest = hmac.new(secret, f"{authority}\n{key}".encode(), hashlib.sha256).digest()
    return "key-" + digest[:REFERENCE_BYTES].hex()
