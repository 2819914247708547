"""Enforcement teams: ask before any enforcement step; record an action after a permitted check. The person is
keyed here, server-side: a client holds no identity key and cannot choose the answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ActorDep, ServicesDep
from infra.errors import InputError
from models.enforcement import EnforcementAction
from protocol import enforcement as rules
from usecases import enforcement

router = APIRouter(tags=["enforcement"])


class CheckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person: str = Field(max_length=300, description=rules.PERSON_FORMAT)
    reason: str = Field(max_length=2000, description="Why enforcement is considering this person.")


class ActionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    check_id: str = Field(max_length=80)
    action: EnforcementAction


@router.post("/enforcement/checks")
async def check(body: CheckBody, actor: ActorDep, services: ServicesDep) -> dict[str, Any]:
    """Is this person protected? Refused (with the case and the officer to contact) for a protected person, a
    dependant, or a possible match. Every check is recorded."""
    try:
        spec = rules.parse_person(body.person, datetime.now(UTC).date())
    except ValueError as error:
        raise InputError(str(error), [str(error)]) from None
    result = await enforcement.check(
        services.temporal, services.keys, services.settings.task_queue, actor, spec, body.reason
    )
    return {
        "check_id": result.check_id,
        "at": result.at.isoformat(),
        "actor": result.actor,
        "verdict": result.verdict.word,
        **result.verdict.model_dump(mode="json"),
    }


@router.post("/enforcement/actions")
async def action(body: ActionBody, actor: ActorDep, services: ServicesDep) -> dict[str, Any]:
    """Record an enforcement action (detained, removed) after a permitted check."""
    result = await enforcement.act(
        services.temporal, services.settings.task_queue, actor, body.check_id, body.action
    )
    return result.model_dump(mode="json")
