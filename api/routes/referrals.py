"""IE officers: a police referral becomes a case."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ActorDep, ServicesDep
from usecases import intake

router = APIRouter(tags=["officers"])


class StartReferral(BaseModel):
    model_config = ConfigDict(extra="forbid")

    referral: dict[str, Any] = Field(description="The police referral, shaped as examples/referral-*.json.")
    possible_duplicate_reason: str | None = Field(
        None,
        max_length=2000,
        description="Start the case although it may duplicate an open one: why (recorded).",
    )


@router.post("/referrals", status_code=201)
async def start_referral(body: StartReferral, actor: ActorDep, services: ServicesDep) -> dict[str, Any]:
    """Validate a referral (every problem named, nothing started) and start its case. Answers with the case id
    and, once screened, its state; `screening_pending` when no worker has screened it yet."""
    return await intake.start(services, actor, body.referral, body.possible_duplicate_reason)
