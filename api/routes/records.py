"""Records administrators: load Home Office reference records for screening."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from api.deps import ActorDep, ServicesDep
from usecases import records

router = APIRouter(tags=["records"])


@router.post("/records")
def load(actor: ActorDep, services: ServicesDep, document: Any = Body(...)) -> dict[str, int]:  # noqa: B008
    """Load or refresh records shaped as examples/records.json: validated whole, every problem named."""
    statuses, criminal = records.load(services, actor, document)
    return {"immigration_status": statuses, "criminal_records": criminal}
