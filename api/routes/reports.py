"""Supervisors: the statistics (PROTOCOL.md §9)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from api.deps import ActorDep, ServicesDep
from usecases import reads

router = APIRouter(tags=["supervisors"])


@router.get("/report")
def report(
    actor: ActorDep,
    services: ServicesDep,
    start: str = Query(..., alias="from", description="First day (YYYY-MM-DD), included."),
    end: str = Query(..., alias="to", description="Day after the period (YYYY-MM-DD), not included."),
    by: str | None = Query(None, description="force or crime-type"),
    publish: bool = Query(
        False,
        description="For publication: counts below the policy's disclosure threshold shown as [c], the "
        "rest rounded (statistical disclosure control).",
    ),
) -> dict[str, Any]:
    return reads.report(services, actor, start, end, by, publish)
