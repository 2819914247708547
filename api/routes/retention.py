"""Supervisors: run the retention purge now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from api.deps import ActorDep, ServicesDep
from usecases import retention

router = APIRouter(tags=["supervisors"])


class PurgeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = False


@router.post("/retention/purge")
async def purge(body: PurgeBody, actor: ActorDep, services: ServicesDep) -> dict[str, Any]:
    return await retention.purge(services, actor, body.dry_run)
