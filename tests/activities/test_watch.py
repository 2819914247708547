"""The watcher (`activities.watch`): a case whose workflow was terminated or deleted outside the service is
noticed, on the real servers. The read model says so, the record says so once, the supervisors get a task, and
the person stays protected: the hold is untouched and enforcement checks are still refused."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session, col
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.service import RPCError, RPCStatusCode

from activities.watch import Lost, Watcher, WatchPolicy
from models.case import Actor, ActorRole
from models.tables import CaseRow, HoldRow, RecordRow, TaskRow
from protocol.enforcement import parse_person
from tests.conftest import Running
from tests.support.intake import load_example_records, open_case
from usecases import enforcement
from worker import build_watcher

ENFORCER = Actor(role=ActorRole.enforcement, id="ENF-3")
TERMINATED = "the case's workflow was terminated outside the service"
DELETED = "the case's workflow was deleted outside the service"


def watcher(running: Running, grace_seconds: float = 0) -> Watcher:
    """The watcher as the worker builds it, with this test's grace period."""
    return build_watcher(
        running.settings.model_copy(update={"watch_grace": grace_seconds}),
        running.client,
        running.engine,
        running.keys,
    )


def case_row(running: Running, case_id: str) -> CaseRow:
    with Session(running.engine) as session:
        row = session.get(CaseRow, case_id)
    assert row is not None
    return row


def lost_entries(running: Running, case_id: str) -> list[RecordRow]:
    with Session(running.engine) as session:
        query = select(RecordRow).where(
            col(RecordRow.case_id) == case_id, col(RecordRow.action) == "workflow_lost"
        )
        return list(session.execute(query).scalars())


def tasks(running: Running, case_id: str) -> list[TaskRow]:
    with Session(running.engine) as session:
        return list(session.execute(select(TaskRow).where(col(TaskRow.case_id) == case_id)).scalars())


def holds_in_force(running: Running, case_id: str) -> bool:
    """The case has holds (the person and any dependants) and every one is still active."""
    with Session(running.engine) as session:
        query = select(HoldRow).where(col(HoldRow.case_id) == case_id)
        active = [h.active for h in session.execute(query).scalars()]
    return bool(active) and all(active)


async def test_a_terminated_case_is_flagged_once_to_the_supervisors_and_stays_protected(
    running: Running,
) -> None:
    load_example_records(running)
    terminated = await open_case(running)  # the person with HO-7781203
    still_running = await open_case(running, "referral-trafficking.json")
    await running.client.get_workflow_handle(terminated).terminate(reason="test")
    tasks_before = len(tasks(running, terminated))

    flagged = await watcher(running).check_once()

    assert flagged == [Lost(terminated, TERMINATED)]
    row = case_row(running, terminated)
    assert row.engine_alert == TERMINATED and row.engine_alert_at is not None
    assert row.phase != "closed" and row.hold_active  # the read model is not rewritten as closed or lifted
    [entry] = lost_entries(running, terminated)
    assert entry.actor == "system:watch" and "hold stays in force" in entry.summary
    [task] = [t for t in tasks(running, terminated) if t.kind == "workflow_lost"]
    assert (task.owner, task.state) == ("supervisors", "open")
    assert task.due_at <= datetime.now(UTC)  # due today: a case that no longer runs
    opened = running.keys.sealer.open_text(terminated, task.text_sealed, f"task:{task.key}")
    assert TERMINATED in opened and "enforcement checks are still refused" in opened
    assert holds_in_force(running, terminated)

    # a running case is never flagged
    assert case_row(running, still_running).engine_alert is None
    assert lost_entries(running, still_running) == []

    # the hold stays in force: enforcement is still refused
    result = await enforcement.check(
        running.client,
        running.keys,
        running.settings.task_queue,
        ENFORCER,
        parse_person("HO-7781203", datetime.now(UTC).date()),
        "Planned visit to the address",
    )
    assert not result.verdict.permitted and result.verdict.case_ids == [terminated]

    # a second round adds nothing
    assert await watcher(running).check_once() == []
    assert len(lost_entries(running, terminated)) == 1
    lost_tasks = [t for t in tasks(running, terminated) if t.kind == "workflow_lost"]
    assert len(lost_tasks) == 1 and len(tasks(running, terminated)) >= tasks_before + 1


async def test_a_deleted_workflow_is_flagged_as_deleted_once_its_row_has_been_quiet_for_the_grace_period(
    running: Running,
) -> None:
    case_id = await open_case(running)
    client = running.client
    await client.workflow_service.delete_workflow_execution(
        DeleteWorkflowExecutionRequest(
            namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=case_id)
        )
    )
    await _until_gone(running, case_id)

    assert await watcher(running, grace_seconds=3600).check_once() == []  # visibility may lag: not yet
    assert case_row(running, case_id).engine_alert is None

    assert await watcher(running).check_once() == [Lost(case_id, DELETED)]
    assert case_row(running, case_id).engine_alert == DELETED
    assert len(lost_entries(running, case_id)) == 1
    assert holds_in_force(running, case_id)


async def test_a_case_whose_workflow_runs_is_not_flagged_even_when_visibility_has_not_listed_it(
    running: Running,
) -> None:
    """Candidates missing from the visibility list are confirmed with describe(): a running one is left alone."""
    case_id = await open_case(running)
    blind = Watcher(
        running.client,
        running.engine,
        running.keys,
        "NoSuchWorkflowType",  # visibility lists nothing: every open case is a candidate
        WatchPolicy(grace=timedelta(0)),
    )
    assert await blind.check_once() == []
    assert case_row(running, case_id).engine_alert is None


async def _until_gone(running: Running, case_id: str, within: float = 15.0) -> None:
    """Temporal deletes a workflow asynchronously: wait until describe() says it is not found."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            await running.client.get_workflow_handle(case_id).describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return
            raise
        assert asyncio.get_running_loop().time() < deadline, "the workflow was not deleted"
        await asyncio.sleep(0.2)


async def test_the_watcher_as_the_worker_runs_it_flags_a_terminated_case_within_its_interval(
    running: Running,
) -> None:
    case_id = await open_case(running)
    settings = running.settings.model_copy(update={"watch_grace": 0, "watch_interval": 0.2})
    stop = asyncio.Event()
    watching = asyncio.create_task(
        build_watcher(settings, running.client, running.engine, running.keys).run(stop)
    )
    try:
        await asyncio.sleep(0.5)  # rounds while the case runs flag nothing
        assert case_row(running, case_id).engine_alert is None
        await running.client.get_workflow_handle(case_id).terminate(reason="test")
        deadline = asyncio.get_running_loop().time() + 10
        while case_row(running, case_id).engine_alert is None:
            assert asyncio.get_running_loop().time() < deadline, "the watcher did not flag the case"
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(watching, 5)  # it stops when asked
    assert case_row(running, case_id).engine_alert == TERMINATED
    assert len(lost_entries(running, case_id)) == 1
