"""Supervisors and auditors: the record proves itself."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from api.deps import ActorDep, ServicesDep
from infra.checkpoint import describe, store_for
from infra.errors import NotFound
from protocol import authority
from usecases import audit, readmodel, trail
from usecases.context import allowed
from usecases.reads import case_id_from

router = APIRouter(tags=["audit"])


@router.get("/audit/verify")
def verify(actor: ActorDep, services: ServicesDep, case_id: str | None = None) -> dict[str, Any]:
    """Check the latest signed checkpoint (signature first), then each case's record (or one case's) against
    its own hash chain and that checkpoint; name each problem."""
    allowed(authority.may_audit(actor))
    one = case_id_from(case_id) if case_id else None
    readmodel.record_access(services.engine, actor.label(), "audit_verify", one, {})
    result = audit.verify_record(services.engine, store_for(services.settings), services.keys, one)
    if one is not None and not result.cases:
        raise NotFound(f"No record for case {one}.")
    return {
        "intact": result.intact,
        "checkpoint": describe(result.checkpoint),
        "cases": [
            {
                "case_id": r.case_id,
                "entries": r.entries,
                "intact": r.intact,
                "first_broken": r.first_broken,
                "problem": r.problem,
            }
            for r in result.cases
        ],
    }


@router.get("/audit/reads")
def reads(
    actor: ActorDep,
    services: ServicesDep,
    case_id: str | None = None,
    role: str | None = Query(None, description="the role of who read: officer, supervisor, police, ..."),
    start: str | None = Query(None, alias="from", description="YYYY-MM-DD, included"),
    end: str | None = Query(None, alias="to", description="YYYY-MM-DD, not included"),
) -> list[dict[str, Any]]:
    """Who read which case when (the access log). Reading it is recorded too."""
    return trail.reads(services, actor, trail.TrailFilter(case_id, role, start, end))


@router.get("/enforcement/checks", tags=["audit"])
def checks(
    actor: ActorDep,
    services: ServicesDep,
    case_id: str | None = None,
    role: str | None = Query(None, description="the role of who asked"),
    start: str | None = Query(None, alias="from", description="YYYY-MM-DD, included"),
    end: str | None = Query(None, alias="to", description="YYYY-MM-DD, not included"),
) -> list[dict[str, Any]]:
    """Every enforcement check: who asked, when, why and the answer."""
    return trail.checks(services, actor, trail.TrailFilter(case_id, role, start, end))
