"""Retention runs itself (issue 11, PROTOCOL.md §10): the retention workflow deletes every run of a purged
case and every enforcement workflow that names it, removes the identity hashes of its checks, skips a case
that is still running without stopping the others, records what it did, and leaves the statistics exact.
The worker keeps the Temporal Schedule that starts it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col
from temporalio.client import Client, ScheduleActionStartWorkflow, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import TimeSkippingConfig, WorkflowEnvironment
from temporalio.worker import Replayer

from infra.codec import data_converter
from infra.keys import Keys
from infra.settings import Settings
from models import search_attributes as attrs
from models.case import Actor, ActorRole, ContactRecord, ContactResult, Withdrawal
from models.tables import (
    CaseRow,
    EnforcementCheckRow,
    EnforcementSubjectRow,
    RecordRow,
    RetentionRunRow,
)
from protocol.enforcement import parse_person
from protocol.policy import policy
from protocol.statistics import Grouping
from tests.conftest import BIN, Running
from tests.support.histories import HISTORIES, REPLAY_KEYRING, recording
from tests.support.intake import OFFICER, example_referral, load_example_records, open_case
from usecases import cases, enforcement, retention
from usecases.report import build_report
from worker import build_activities, build_dispatcher, make_worker
from workflows.retention import RetentionWorkflow

RETENTION_HISTORIES = HISTORIES / "retention"
SUPERVISOR = Actor(role=ActorRole.supervisor, id="SUP-7")
ENFORCER = Actor(role=ActorRole.enforcement, id="ENF-3")
# Small enough that a case continues-as-new after a few contacts; Temporal's default is thousands.
SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS = 40


@pytest.fixture
async def short_histories(settings: Settings, keys: Keys, engine: Engine) -> AsyncIterator[Running]:
    """A Temporal dev server of its own that suggests continue-as-new after a short history."""
    env = await WorkflowEnvironment.start_time_skipping_v2(
        ts_config=TimeSkippingConfig(enabled=False),
        dev_server_existing_path=str(BIN / "temporal"),
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.WorkflowTimeSkippingEnabled=true",
            "--dynamic-config-value",
            f"limit.historyCount.suggestContinueAsNew={SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS}",
        ],
        search_attributes=attrs.ALL,
    )
    try:
        config = env.client.config()
        config["data_converter"] = data_converter(keys.keyring)
        client = Client(**config)
        with httpx.Client() as http, ThreadPoolExecutor(max_workers=8) as executor:
            worker = make_worker(
                client, settings.task_queue, build_activities(settings, engine, keys, http), executor
            )
            thread, stop = build_dispatcher(settings, engine, keys).start()
            try:
                async with worker:
                    yield Running(client=client, env=env, settings=settings, keys=keys, engine=engine)
            finally:
                stop.set()
                thread.join()
    finally:
        await env.shutdown()


async def close_in_error(running: Running, case_id: str, *, finish: bool = True) -> None:
    """The referral was made in error: the case closes as withdrawn. With `finish`, its reopen window runs
    out and its workflow completes; without, the workflow still runs (it may yet be reopened)."""
    await cases.send(
        running.client,
        case_id,
        Withdrawal(actor=OFFICER, reason="Referral made in error.", made_in_error=True),
    )
    if finish:
        handle = running.client.get_workflow_handle(case_id)
        await running.env.fast_forward(handle, policy().reopen_window)
        await handle.result()


def closed_long_ago(running: Running, *case_ids: str) -> None:
    """As if the cases had closed three years ago: past the policy's retention period (two years)."""
    assert policy().retention_after_closure < timedelta(days=3 * 365)
    with Session(running.engine) as session, session.begin():
        session.execute(
            update(CaseRow)
            .where(col(CaseRow.case_id).in_(case_ids))
            .values(closed_at=datetime.now(UTC) - timedelta(days=3 * 365))
        )


def report_now(engine: Engine) -> list[dict[str, Any]]:
    """The statistics as a supervisor reads them, overall and by force (without the time it was read)."""
    start, end = datetime(2020, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(days=3 * 365)
    reports = [build_report(engine, start, end, policy(), by=by) for by in (None, Grouping.force)]
    return [{k: v for k, v in r.as_json().items() if k != "as_of"} for r in reports]


async def gone(client: Client, workflow_id: str, run_id: str | None = None) -> bool:
    try:
        await client.get_workflow_handle(workflow_id, run_id=run_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return True
        raise
    return False


async def eventually(condition: Callable[[], Awaitable[bool]], within: float = 90.0) -> None:
    """Temporal deletes an execution in its own time after accepting the request (the dev server: 20-30 s)."""
    deadline = asyncio.get_running_loop().time() + within
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.2)


async def test_a_purge_deletes_every_run_of_the_case_and_every_check_naming_it_and_keeps_the_statistics(
    short_histories: Running,
) -> None:
    running = short_histories
    load_example_records(running)
    case_id = await open_case(running)
    handle = running.client.get_workflow_handle(case_id)
    first_run = (await handle.describe()).run_id
    for _ in range(12):  # contacts until the case continues-as-new
        await cases.send(running.client, case_id, ContactRecord(actor=OFFICER, result=ContactResult.reached))
        if (await handle.describe()).run_id != first_run:
            break
    assert (await handle.describe()).run_id != first_run, "the case never continued-as-new"
    check = await enforcement.check(
        running.client,
        running.keys,
        running.settings.task_queue,
        ENFORCER,
        parse_person("Rahman, Zara, 2021-06-30", datetime.now(UTC).date()),
        "Planned visit to the address",
    )
    assert not check.verdict.permitted and check.verdict.case_ids == [case_id]
    await close_in_error(running, case_id)
    closed_long_ago(running, case_id)
    runs_before = [r for r, _ in await _runs(running.client, case_id)]
    assert len(runs_before) >= 2 and first_run in runs_before
    statistics_before = report_now(running.engine)

    report = await retention.run_now(running.client, running.settings, SUPERVISOR)

    assert report.purged == [case_id] and report.skipped == []
    [done] = report.cases
    assert done.runs_deleted == len(runs_before) and done.enforcement_workflows_deleted == 1
    assert done.subject_keys_removed == 1
    for run_id in runs_before:  # every run, the one before continue-as-new too
        await eventually(lambda run_id=run_id: gone(running.client, case_id, run_id))  # type: ignore[misc]
    await eventually(lambda: gone(running.client, check.check_id))
    with Session(running.engine) as session:
        assert session.get(EnforcementSubjectRow, check.check_id) is None  # the identity hash: gone
        assert session.get(EnforcementCheckRow, check.check_id) is not None  # that a check was refused: kept
        row = session.get(CaseRow, case_id)
        assert row is not None and row.purged_at is not None and row.referral_sealed is None
        assert row.exclusion_indicators == [] and row.view["exclusion_indicators"] == []
        [run] = session.execute(select(RetentionRunRow)).scalars().all()
        assert (run.run_id, run.trigger, run.actor) == (report.run_id, "supervisor", "supervisor:SUP-7")
        assert (run.due, run.purged, run.skipped) == (1, 1, 0)
        purged_entries = session.execute(
            select(RecordRow).where(
                col(RecordRow.case_id) == case_id, col(RecordRow.action) == "personal_data_purged"
            )
        ).all()
        assert len(purged_entries) == 1
    assert report_now(running.engine) == statistics_before  # anonymised statistics stay exact

    again = await retention.run_now(running.client, running.settings, SUPERVISOR)
    assert again.due == 0 and again.purged == []  # purged once


@pytest.mark.record_history
async def test_a_case_still_running_is_skipped_and_reported_while_the_others_are_purged(
    running: Running,
) -> None:
    load_example_records(running)
    done = await open_case(running)
    reopenable = await cases.start_referral(
        running.client,
        running.keys,
        running.settings.task_queue,
        example_referral("referral-domestic-abuse.json").model_copy(
            update={"crime_reference": "WMP/26/11/99999", "referral_id": "NCCU-2026-099999"}
        ),
        OFFICER,
    )
    assert await cases.wait_until_open(running.client, reopenable) is not None
    await close_in_error(running, reopenable, finish=False)  # closed, but its workflow still runs
    await close_in_error(running, done)
    closed_long_ago(running, done, reopenable)

    report = await retention.run_now(running.client, running.settings, SUPERVISOR)

    assert report.due == 2 and report.purged == [done]
    [skipped] = report.skipped
    assert (
        skipped.case_id == reopenable and skipped.skipped is not None and "still running" in skipped.skipped
    )
    assert not await gone(running.client, reopenable)
    with Session(running.engine) as session:
        kept = session.get(CaseRow, reopenable)
        assert kept is not None and kept.purged_at is None and kept.referral_sealed is not None
        purged = session.get(CaseRow, done)
        assert purged is not None and purged.purged_at is not None
        [run] = session.execute(select(RetentionRunRow)).scalars().all()
        assert (run.due, run.purged, run.skipped) == (2, 1, 1)
        assert {c["case_id"]: c["purged"] for c in run.cases} == {done: True, reopenable: False}
    with pytest.raises(DBAPIError, match="append-only"), running.engine.begin() as connection:
        connection.execute(text("UPDATE retention_runs SET purged = 0"))  # what was done stays said
    if recording():  # MVP_RECORD_HISTORIES=1: keep this run's history for the replay test below
        history = await running.client.get_workflow_handle(report.run_id).fetch_history()
        RETENTION_HISTORIES.mkdir(parents=True, exist_ok=True)
        (RETENTION_HISTORIES / "skips_a_running_case.json").write_text(history.to_json())


async def test_recorded_retention_histories_replay_without_nondeterminism() -> None:
    """STYLE.md habit 6: a change to the retention workflow must replay the runs recorded before it."""
    replayer = Replayer(workflows=[RetentionWorkflow], data_converter=data_converter(REPLAY_KEYRING))
    histories = sorted(RETENTION_HISTORIES.glob("*.json"))
    assert histories, "no recorded retention histories to replay"
    for path in histories:
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


async def test_the_worker_keeps_the_retention_schedule_from_its_start(
    settings: Settings, temporal_env: WorkflowEnvironment, client: Client
) -> None:
    from worker import serve

    served = settings.model_copy(
        update={"temporal_address": temporal_env.client.service_client.config.target_host}
    )
    schedule = client.get_schedule_handle(retention.schedule_id(served))
    stop = asyncio.Event()
    worker = asyncio.create_task(serve(served, stop))
    try:

        async def exists() -> bool:
            assert not worker.done(), worker.exception() if worker.done() else None
            try:
                await schedule.describe()
            except RPCError as err:
                if err.status == RPCStatusCode.NOT_FOUND:
                    return False
                raise
            return True

        await eventually(exists)
        described = await schedule.describe()
        assert [i.every for i in described.schedule.spec.intervals] == [timedelta(days=1)]
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.workflow == "RetentionWorkflow" and action.task_queue == served.task_queue

        # idempotent: a worker that starts again with another interval updates the one schedule
        await retention.ensure_schedule(
            client, served.model_copy(update={"retention_interval": timedelta(hours=6)})
        )
        described = await schedule.describe()
        assert [i.every for i in described.schedule.spec.intervals] == [timedelta(hours=6)]
    finally:
        stop.set()
        await asyncio.wait_for(worker, 30)
        await schedule.delete()


async def _runs(client: Client, case_id: str) -> list[tuple[str, object]]:
    from activities.retention import workflow_runs

    return list(await workflow_runs(client, case_id))
