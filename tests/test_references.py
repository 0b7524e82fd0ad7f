"""What Temporal sees of an Idempotency-Key: a keyed hash, scoped to the authority."""

from __future__ import annotations

import re
from typing import cast

from pydantic import SecretStr
from temporalio.client import Client

from api.references import IDEMPOTENCY_KEY, key_reference, reference_secret
from config import Settings
from tests.converter import CONVERTER


class _Client:
    data_converter = CONVERTER


def test_the_key_pattern_takes_tokens_and_refuses_words_and_addresses() -> None:
    for key in ("a1", "start-C100234", "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b", "01J9Z:x.y_z"):
        assert re.match(IDEMPOTENCY_KEY, key), key
    for key in ("Jessamy Quillfeather", "jess@example.org", "", "x" * 129, "café", "a/b"):
        assert not re.match(IDEMPOTENCY_KEY, key), key


def test_a_reference_is_stable_scoped_and_keyed() -> None:
    secret = reference_secret(Settings(), cast(Client, _Client()))
    ref = key_reference(secret, "gateshead", "JessamyQuillfeather01")
    assert re.fullmatch(r"key-[0-9a-f]{32}", ref)
    assert ref == key_reference(secret, "gateshead", "JessamyQuillfeather01")  # a retry
    assert ref != key_reference(secret, "nottingham", "JessamyQuillfeather01")
    assert ref != key_reference(b"another secret", "gateshead", "JessamyQuillfeather01")
    configured = reference_secret(Settings(reference_key=SecretStr("r" * 32)),
                                  cast(Client, _Client()))
    assert configured == b"r" * 32 and configured != secret
