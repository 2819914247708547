"""The Temporal payload codec: every payload Temporal stores is AES-256-GCM encrypted, the key id in
its metadata. Failure messages and stack traces are moved into encoded attributes first, so they are
encrypted too.

It fails closed: a payload that is not encrypted under the keyring is refused, never passed through, so a
command written straight into Temporal without the keys (`temporal workflow update execute ...`) is rejected
instead of acted on."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import temporalio.converter
from cryptography.exceptions import InvalidTag
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from infra.keys import Keyring

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"


class EncryptionCodec(temporalio.converter.PayloadCodec):
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        encoded = []
        for payload in payloads:
            key_id, sealed = self.keyring.seal(payload.SerializeToString())
            encoded.append(Payload(metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=sealed))
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING or KEY_ID not in payload.metadata:
                raise PayloadRefused("a payload that is not encrypted under the service's keys was refused")
            key_id = payload.metadata[KEY_ID].decode()
            try:
                decoded.append(Payload.FromString(self.keyring.open(key_id, payload.data)))
            except InvalidTag:
                raise PayloadRefused(
                    "a payload that does not open under the service's keys was refused"
                ) from None
        return decoded


class PayloadRefused(ValueError):
    """A payload that the service did not encrypt: refused, never passed through."""


def data_converter(keyring: Keyring) -> temporalio.converter.DataConverter:
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keyring),
        failure_converter_class=temporalio.converter.DefaultFailureConverterWithEncodedAttributes,
    )
