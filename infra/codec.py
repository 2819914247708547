"""The Temporal payload codec: every payload Temporal stores is AES-256-GCM encrypted, the key id in
its metadata. Failure messages and stack traces are moved into encoded attributes first, so they are
encrypted too.

It fails closed: a payload that is not encrypted under the keyring is refused, never passed through, so a
command written straight into Temporal without the keys (`temporal workflow update execute ...`) is rejected
instead of acted on.

In the worker a refused payload must not fail the whole workflow task: the SDK decodes a workflow's activation
before any handler runs, and a decode error fails the task, which Temporal retries with the same update in it
for ever, wedging the case (sdk-python `worker/_workflow.py`, `decode_activation`). So the worker's codec puts
an empty placeholder in the refused payload's place; converting it raises (`Unknown payload encoding`) inside
the handler, where the SDK rejects an update before its validator (nothing reaches history), drops a signal
and fails a query. Nothing of the refused payload is kept."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import temporalio.converter
from cryptography.exceptions import InvalidTag
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from infra.keys import Keyring

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
REFUSED = (
    b"binary/refused-unencrypted"  # the worker's placeholder for a refused payload: no converter takes it
)


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


class WorkerEncryptionCodec(EncryptionCodec):
    """The worker's codec: a refused payload becomes an empty placeholder that no converter accepts, so the
    one message that carried it is refused and the workflow keeps working."""

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            try:
                decoded.extend(await super().decode([payload]))
            except PayloadRefused:
                decoded.append(Payload(metadata={"encoding": REFUSED}))
        return decoded


def worker_client(client: Client) -> Client:
    """The same connection with the worker's codec in place of the encrypting one (see the module's note)."""
    converter = client.data_converter
    codec = converter.payload_codec
    if not isinstance(codec, EncryptionCodec) or isinstance(codec, WorkerEncryptionCodec):
        return client
    config = client.config()
    config["data_converter"] = dataclasses.replace(
        converter, payload_codec=WorkerEncryptionCodec(codec.keyring)
    )
    return Client(**config)


class PayloadRefused(ValueError):
    """A payload that the service did not encrypt: refused, never passed through."""


def data_converter(keyring: Keyring) -> temporalio.converter.DataConverter:
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keyring),
        failure_converter_class=temporalio.converter.DefaultFailureConverterWithEncodedAttributes,
    )
