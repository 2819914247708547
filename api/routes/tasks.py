"""The IE work queue: tasks for case officers and supervisors (officers and supervisors)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from api.deps import ActorDep, ServicesDep
from usecases import tasks

router = APIRouter(tags=["officers", "supervisors"])


@router.get("/tasks")
def list_tasks(
    actor: ActorDep,
    services: ServicesDep,
    mine: bool = False,
    team: bool = False,
    due_today: bool = False,
    overdue: bool = False,
) -> list[dict[str, Any]]:
    """Open tasks, soonest due first, each with its full text. The read is recorded."""
    where = tasks.TaskFilter(mine=mine, team=team, due_today=due_today, overdue=overdue)
    found = tasks.list_tasks(services.engine, services.keys, actor, where)
    return [
        {
            **asdict(t),
            "due_at": t.due_at.isoformat(),
            "created_at": t.created_at.isoformat(),
            "done_at": t.done_at.isoformat() if t.done_at else None,
        }
        for t in found
    ]


@router.post("/tasks/{task_id}/done")
def complete(task_id: int, actor: ActorDep, services: ServicesDep) -> dict[str, Any]:
    """Mark a task done (its owner, or a supervisor): recorded with who and when."""
    tasks.complete_task(services.engine, actor, task_id)
    return {"task_id": task_id, "done": True}
