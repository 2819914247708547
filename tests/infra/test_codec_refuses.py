"""The codec refuses what it did not write with a PayloadRefused (a 422 at the API), never an unexpected error:
malformed data, a key id that is not text, a key the service never had."""

from __future__ import annotations

import pytest
from temporalio.api.common.v1 import Payload

from infra.codec import ENCODING, KEY_ID, EncryptionCodec, PayloadRefused
from infra.keys import Keys


@pytest.mark.parametrize(
    "metadata, data",
    [
        ({KEY_ID: b"test-1"}, b"short"),  # too short to hold a nonce
        ({KEY_ID: b"\xff\xfe"}, b"x" * 40),  # a key id that is not UTF-8
        ({KEY_ID: b"never-had-this-key"}, b"x" * 40),  # an unknown key
        ({KEY_ID: b"case:MVP-ABCDE-FGHJK"}, b"x" * 40),  # a case key that does not open it
    ],
)
async def test_a_payload_the_service_did_not_write_is_refused_as_such(
    keys: Keys, metadata: dict[str, bytes], data: bytes
) -> None:
    codec = EncryptionCodec(keys.keyring, keys.case_keys)
    payload = Payload(metadata={"encoding": ENCODING, **metadata}, data=data)
    with pytest.raises(PayloadRefused):
        await codec.decode([payload])
