"""The IE work queue: tasks for the case officer and the supervisors (a notice addressed inside IE, a notice
to pass on by hand in the person's language, a notice the provider refused). Every read and every completion
is recorded in the access log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, or_, select, update
from sqlmodel import Session

from infra.errors import NotFound, NotPermitted, Refused
from infra.keys import Keys
from models.case import Actor, ActorRole
from models.tables import AccessRow, TaskRow
from protocol.notices import SUPERVISORS_TEAM

# Who may see and work the queue: the officers who run cases and their supervisors.
QUEUE_ROLES = (ActorRole.officer, ActorRole.supervisor)


@dataclass(frozen=True)
class Task:
    id: int
    case_id: str
    kind: str
    owner: str
    due_at: datetime
    state: str
    done_by: str | None
    done_at: datetime | None
    created_at: datetime
    language: str
    text: str
    overdue: bool


@dataclass(frozen=True)
class TaskFilter:
    mine: bool = False  # owned by the actor
    team: bool = False  # owned by the supervisors' team
    due_today: bool = False  # due by the end of today (UTC)
    overdue: bool = False  # due before now and still open
    include_done: bool = False


def _may_use_queue(actor: Actor) -> None:
    if actor.role not in QUEUE_ROLES:
        raise NotPermitted(
            f"Not permitted: the work queue is for officers and supervisors; {actor.role.value} may not use it."
        )


def list_tasks(
    engine: Engine, keys: Keys, actor: Actor, where: TaskFilter, now: datetime | None = None
) -> list[Task]:
    """Open tasks (by due time, soonest first) that the filter selects. Without `mine` or `team`, an officer
    sees their own and the team's; a supervisor sees every task."""
    _may_use_queue(actor)
    now = now or datetime.now(UTC)
    query = select(TaskRow)
    if not where.include_done:
        query = query.where(TaskRow.state == "open")  # type: ignore[arg-type]
    owners = []
    if where.mine:
        owners.append(actor.label())
    if where.team:
        owners.append(SUPERVISORS_TEAM)
    if not owners and actor.role is not ActorRole.supervisor:
        owners = [actor.label(), SUPERVISORS_TEAM]
    if owners:
        query = query.where(or_(*(TaskRow.owner == o for o in owners)))  # type: ignore[arg-type]
    if where.due_today:
        end_of_day = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
        query = query.where(TaskRow.due_at < end_of_day)  # type: ignore[arg-type]
    if where.overdue:
        query = query.where(TaskRow.due_at < now, TaskRow.state == "open")  # type: ignore[arg-type]
    query = query.order_by(TaskRow.due_at, TaskRow.id)  # type: ignore[arg-type]
    with Session(engine) as session, session.begin():
        rows = list(session.execute(query).scalars().all())
        found = [
            Task(
                id=int(r.id or 0),
                case_id=r.case_id,
                kind=r.kind,
                owner=r.owner,
                due_at=r.due_at,
                state=r.state,
                done_by=r.done_by,
                done_at=r.done_at,
                created_at=r.created_at,
                language=r.language,
                text=keys.sealer.open_text(r.case_id, r.text_sealed, f"task:{r.key}"),
                overdue=r.state == "open" and r.due_at < now,
            )
            for r in rows
        ]
        session.add(
            AccessRow(
                at=now,
                actor=actor.label(),
                action="tasks_listed",
                case_id=None,
                detail={"tasks": [r.id for r in rows]},
            )
        )
    return found


def complete_task(engine: Engine, actor: Actor, task_id: int, now: datetime | None = None) -> None:
    """Mark a task done. Only its owner (for the team's tasks, any supervisor) or a supervisor may; a refusal
    is recorded as well as a completion."""
    _may_use_queue(actor)
    now = now or datetime.now(UTC)
    with Session(engine) as session, session.begin():
        row = session.get(TaskRow, task_id, with_for_update=True)
        if row is None:
            raise NotFound(f"There is no task {task_id}; `mvp tasks` lists the open ones.")
        allowed = actor.role is ActorRole.supervisor or row.owner == actor.label()
        session.add(
            AccessRow(
                at=now,
                actor=actor.label(),
                action="task_done" if allowed else "task_done_refused",
                case_id=row.case_id,
                detail={"task": task_id},
            )
        )
        if not allowed:
            refusal = Refused(
                f"Task {task_id} belongs to {row.owner}; only its owner or a supervisor can mark it done."
            )
        elif row.state == "done":
            refusal = Refused(
                f"Task {task_id} was already done by {row.done_by} on {row.done_at:%Y-%m-%d %H:%M}."
            )
        else:
            refusal = None
            session.execute(
                update(TaskRow)
                .where(TaskRow.id == task_id)  # type: ignore[arg-type]
                .values(state="done", done_by=actor.label(), done_at=now)
            )
    if refusal is not None:  # raised after the commit, so that the refused attempt stays recorded
        raise refusal
