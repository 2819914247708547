"""The Temporal payload codec: every payload Temporal stores is AES-256-GCM encrypted, the key id in
its metadata. Failure messages and stack traces are moved into encoded attributes first, so they are
encrypted too."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import temporalio.converter
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
            if payload.metadata.get("encoding") != ENCODING:
                decoded.append(payload)
                continue
            key_id = payload.metadata[KEY_ID].decode()
            decoded.append(Payload.FromString(self.keyring.open(key_id, payload.data)))
        return decoded


def data_converter(keyring: Keyring) -> temporalio.converter.DataConverter:
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keyring),
        failure_converter_class=temporalio.converter.DefaultFailureConverterWithEncodedAttributes,
    )
