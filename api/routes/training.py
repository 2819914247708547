"""Training mode (supervisors, a training stack only): move one case's clock forward to rehearse what time
brings. These routes exist only on a service in training mode (`api.app.create_app`); elsewhere they are 404."""

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ActorDep, ServicesDep
from usecases import training

router = APIRouter(tags=["training"])


class Advance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: str = Field(
        max_length=40, description="how far: a whole number and d, w or h (e.g. 30d); at most 400 days"
    )


@router.post("/training/cases/{case_id}/advance")
async def advance(case_id: str, body: Advance, actor: ActorDep, services: ServicesDep) -> dict[str, Any]:
    """Move the case's clock forward (training mode only; supervisors). Overdue contacts, the end of the
    engagement notice period and route clocks that run out follow at once."""
    return await training.advance(services, actor, case_id, body.by)
