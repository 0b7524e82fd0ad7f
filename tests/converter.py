"""The data converter every test client uses: the project's, with a key fixed for tests.

Tests encrypt as production does, so a test that reads history sees what an operator's
raw client would (ciphertext), and one that goes through a client sees plain values. The
key is fixed (and protects nothing) so that a history recorded by a test
(RECORD_HISTORIES=1) is encrypted with a key the replay tests also hold.
"""

from __future__ import annotations

import base64
import hashlib

from payload_codec import PayloadKeys, data_converter

TEST_KEY = base64.b64encode(hashlib.sha256(b"caseflow test payload key").digest()).decode()
TEST_KEYS = PayloadKeys.parse(f"test:{TEST_KEY}")
CONVERTER = data_converter(TEST_KEYS)
# The PAYLOAD_KEYS setting naming the same key: what production settings in tests carry.
TEST_PAYLOAD_KEYS = f"test:{TEST_KEY}"
