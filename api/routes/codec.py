"""The Temporal UI's remote codec: decrypts payloads for a signed-in officer, supervisor or auditor, and writes
every decode to the access log. There is no /encode: nothing outside the service writes payloads."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from api.deps import ActorDep, ServicesDep
from infra.codec import EncryptionCodec, PayloadRefused
from infra.errors import InputError
from protocol import authority
from usecases import readmodel
from usecases.context import allowed

router = APIRouter(tags=["codec"])


@router.post("/codec/decode")
async def decode(actor: ActorDep, services: ServicesDep, body: Any = Body(...)) -> dict[str, Any]:  # noqa: B008
    allowed(authority.may_decode(actor))
    try:
        payloads = json_format.ParseDict(body, Payloads()).payloads
    except (json_format.ParseError, TypeError, AttributeError):
        raise InputError('The body must be {"payloads": [...]} in Temporal\'s JSON form.') from None
    readmodel.record_access(
        services.engine, actor.label(), "payload_decode", None, {"payloads": len(payloads)}
    )
    try:
        decoded = await EncryptionCodec(services.keys.keyring, services.keys.case_keys).decode(payloads)
    except PayloadRefused as refused:  # not ours, or a purged case's (its data key is destroyed)
        raise InputError(f"The payloads were not decoded: {refused}.") from None
    return {"payloads": [json_format.MessageToDict(p) for p in decoded]}
