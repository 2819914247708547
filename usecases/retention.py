"""Retention (PROTOCOL.md §10): the Temporal Schedule that runs the retention workflow by itself, and the
purge a supervisor runs now (`mvp retention purge`: the same workflow, started at once, its report awaited)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowFailureError,
)
from temporalio.service import RPCError

from activities.retention import due_for_purge
from infra.errors import Unavailable
from infra.settings import Settings
from models.case import Actor
from models.retention import PurgeReport, PurgeRun, Trigger
from protocol import authority
from usecases.context import Services, allowed
from workflows.retention import RetentionWorkflow

log = logging.getLogger("mvp.retention")

SCHEDULED_ACTOR = "system:retention"
# a supervisor's purge waits this long for the workflow's report; it goes on in the background after
ANSWER_WITHIN_SECONDS = 300.0


def schedule_id(settings: Settings) -> str:
    """One schedule per task queue (so that several stacks can share one Temporal)."""
    return f"retention-{settings.task_queue}"


def retention_schedule(settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            RetentionWorkflow.run,
            PurgeRun(actor=SCHEDULED_ACTOR, trigger=Trigger.schedule),
            id=f"retention-scheduled-{settings.task_queue}",  # Temporal appends the scheduled time
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=settings.retention_interval)]),
        # a run still purging when the next is due: the next is skipped, never run alongside
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_schedule(client: Client, settings: Settings) -> None:
    """Create the retention schedule, or bring an existing one to the current settings. Idempotent: every
    worker calls it when it starts."""
    schedule = retention_schedule(settings)
    try:
        await client.create_schedule(schedule_id(settings), schedule)
        log.info("retention schedule created: every %s", settings.retention_interval)
        return
    except ScheduleAlreadyRunningError:
        pass

    def updated(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=schedule)

    await client.get_schedule_handle(schedule_id(settings)).update(updated)


async def purge(services: Services, actor: Actor, dry_run: bool) -> dict[str, Any]:
    """A supervisor's purge now: the cases due (dry run), or the retention workflow's report."""
    allowed(authority.may_purge(actor))
    due = await asyncio.to_thread(due_for_purge, services.engine, datetime.now(UTC))
    listed = {r.case_id: {"case_id": r.case_id, "outcome": r.outcome, "closed_at": r.closed_at} for r in due}
    if dry_run or not due:
        return {"dry_run": dry_run, "due": list(listed.values()), "purged": [], "skipped": []}
    report = await run_now(services.temporal, services.settings, actor)
    return {
        "dry_run": False,
        "run_id": report.run_id,
        "due": list(listed.values()),
        "purged": [listed.get(c, {"case_id": c, "outcome": None, "closed_at": None}) for c in report.purged],
        "skipped": [{"case_id": c.case_id, "reason": c.skipped} for c in report.skipped],
        "cases": [c.model_dump(mode="json") for c in report.cases],
    }


async def run_now(client: Client, settings: Settings, actor: Actor) -> PurgeReport:
    """Start the retention workflow for `actor` and wait for its report."""
    workflow_id = f"retention-{uuid.uuid4()}"
    try:
        handle = await client.start_workflow(
            RetentionWorkflow.run,
            PurgeRun(actor=actor.label(), trigger=Trigger.supervisor),
            id=workflow_id,
            task_queue=settings.task_queue,
        )
        return await asyncio.wait_for(handle.result(), ANSWER_WITHIN_SECONDS)
    except TimeoutError:
        raise Unavailable(
            f"The retention run {workflow_id} has not finished within {ANSWER_WITHIN_SECONDS:.0f} s; it goes "
            "on, and records what it did. Is the worker running?"
        ) from None
    except (RPCError, WorkflowFailureError) as err:
        raise Unavailable(f"The retention run {workflow_id} could not be completed: {err}") from err
