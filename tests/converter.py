"""The data converter every test client uses: the project's, with a key made for this run.

Tests encrypt as production does, so a test that reads history sees what an operator's
raw client would (ciphertext), and one that goes through a client sees plain values.
"""

from __future__ import annotations

from payload_codec import PayloadKeys, data_converter

TEST_KEYS = PayloadKeys.generate("test")
CONVERTER = data_converter(TEST_KEYS)
