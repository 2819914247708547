"""A police referral becomes a case: validated whole, checked for duplicates, started, and answered with its
acknowledgement once the worker has opened and screened it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from infra.errors import ReferralInvalid
from models.case import Actor
from protocol import authority
from protocol.intake import parse_referral
from usecases import cases, readmodel
from usecases.context import Services, allowed


async def start(
    services: Services, actor: Actor, raw: object, possible_duplicate_reason: str | None = None
) -> dict[str, Any]:
    allowed(authority.may_start_case(actor))
    referral, problems = parse_referral(raw, datetime.now(UTC))
    if referral is None:
        raise ReferralInvalid(problems)
    # The same referral is the same case: Temporal knows it while it holds the history, the case list for
    # good (histories go at retention), so a resubmission never starts or reopens anything.
    known = cases.case_id_for(services.keys, referral)
    if readmodel.case_exists(services.engine, known):
        return {"case_id": known, "already_received": True, "screening_pending": False, "state": None}
    case_id, view = await cases.start_and_acknowledge(
        services.temporal,
        services.keys,
        services.settings.task_queue,
        referral,
        actor,
        engine=services.engine,
        override_reason=possible_duplicate_reason,
        policy_version=services.settings.policy_version,
        training=services.settings.training,
    )
    return {
        "case_id": case_id,
        "already_received": False,
        "screening_pending": view is None,
        "state": view.model_dump(mode="json") if view is not None else None,
    }
