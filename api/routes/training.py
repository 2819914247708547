"""Training mode (supervisors, a training stack only): move one case's clock forward to rehearse what time
brings. On a service not in training mode every route here answers 404, whoever asks."""

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ActorDep, ServicesDep, services
from usecases import training
from usecases.context import Services


def training_only(chosen: Services = Depends(services)) -> None:
    training.available(chosen)


router = APIRouter(tags=["training"], dependencies=[Depends(training_only)])


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
