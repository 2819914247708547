"""The Temporal payload codec: every payload Temporal stores is AES-256-GCM encrypted, the key id in
its metadata. Failure messages and stack traces are moved into encoded attributes first, so they are
encrypted too.

A case workflow's payloads (its workflow id is a case id) are sealed under that case's own data key
(`infra/casekeys.py`, key id `case:<case id>`), so purging the case (destroying the key) makes every run and
every copy of its history unreadable. Everything else (enforcement checks, payloads encoded without a
workflow in context) is sealed with the keyring. The SDK hands the codec the workflow id through its
serialization context (`with_context`); decoding goes by the key id in the metadata alone, so a payload
that was encoded without context still opens.

It fails closed: a payload that is not encrypted under the service's keys is refused, never passed through,
so a command written straight into Temporal without the keys (`temporal workflow update execute ...`) is
rejected instead of acted on; a payload of a purged case is refused with a sentence, never shown.

In the worker a refused payload must not fail the whole workflow task: the SDK decodes a workflow's activation
before any handler runs, and a decode error fails the task, which Temporal retries with the same update in it
for ever, wedging the case (sdk-python `worker/_workflow.py`, `decode_activation`). So the worker's codec puts
an empty placeholder in the refused payload's place; converting it raises (`Unknown payload encoding`) inside
the handler, where the SDK rejects an update before its validator (nothing reaches history), drops a signal
and fails a query. Nothing of the refused payload is kept."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Self

import temporalio.converter
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from infra.casekeys import CaseKeys, case_key_id, case_of_key_id, is_case_id
from infra.errors import CaseKeyDestroyed, Unavailable
from infra.keys import NONCE_BYTES, Keyring

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
REFUSED = (
    b"binary/refused-unencrypted"  # the worker's placeholder for a refused payload: no converter takes it
)


class EncryptionCodec(temporalio.converter.PayloadCodec, temporalio.converter.WithSerializationContext):
    def __init__(
        self, keyring: Keyring, case_keys: CaseKeys | None = None, workflow_id: str | None = None
    ) -> None:
        self.keyring = keyring
        self.case_keys = case_keys
        self.workflow_id = workflow_id

    def with_context(self, context: temporalio.converter.SerializationContext) -> Self:
        workflow_id = getattr(context, "workflow_id", None)  # workflow and activity contexts carry one
        return type(self)(self.keyring, self.case_keys, workflow_id)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        case_id = self.workflow_id if self.case_keys is not None and is_case_id(self.workflow_id) else None
        encoded = []
        for payload in payloads:
            if case_id is not None and self.case_keys is not None:
                key_id = case_key_id(case_id)
                nonce = os.urandom(NONCE_BYTES)
                key = self.case_keys.data_key(case_id)
                sealed = nonce + AESGCM(key).encrypt(nonce, payload.SerializeToString(), key_id.encode())
            else:
                key_id, sealed = self.keyring.seal(payload.SerializeToString())
            encoded.append(Payload(metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=sealed))
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING or KEY_ID not in payload.metadata:
                raise PayloadRefused("a payload that is not encrypted under the service's keys was refused")
            try:
                key_id = payload.metadata[KEY_ID].decode()
                decoded.append(Payload.FromString(self._open(key_id, payload.data)))
            except PayloadRefused:
                raise  # already says why (a purged case's key, no key store)
            except Unavailable:
                raise PayloadRefused(
                    "No key for this payload is in the keyring: a payload sealed under a key the service does "
                    "not hold was refused (add the key back if it was lost)"
                ) from None
            except (InvalidTag, ValueError, DecodeError):  # altered or malformed: not a payload we wrote
                raise PayloadRefused(
                    "a payload that does not open under the service's keys was refused"
                ) from None
        return decoded

    def _open(self, key_id: str, sealed: bytes) -> bytes:
        case_id = case_of_key_id(key_id)
        if case_id is None:
            return self.keyring.open(key_id, sealed)
        if self.case_keys is None:
            raise PayloadRefused(f"a payload of case {case_id} was refused: no case key store is configured")
        try:
            key = self.case_keys.existing_key(case_id)
        except CaseKeyDestroyed:
            raise PayloadRefused(
                f"a payload of case {case_id} was refused: the case's data key was destroyed when its "
                "personal data was purged, so it can no longer be read"
            ) from None
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], key_id.encode())


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
        converter, payload_codec=WorkerEncryptionCodec(codec.keyring, codec.case_keys)
    )
    return Client(**config)


class PayloadRefused(ValueError):
    """A payload that the service did not encrypt, or whose key is gone: refused, never passed through."""


def data_converter(keyring: Keyring, case_keys: CaseKeys | None = None) -> temporalio.converter.DataConverter:
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keyring, case_keys),
        failure_converter_class=temporalio.converter.DefaultFailureConverterWithEncodedAttributes,
    )
