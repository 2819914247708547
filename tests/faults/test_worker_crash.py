"""A worker SIGKILLed with many cases and updates in flight, then a new worker process: every case completes and
nothing is lost or done twice. The worker is `mvp worker` in a process of its own (tests/support/worker_process.py)
against the session's Temporal dev server and the test's Postgres; nothing is mocked."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from infra.keys import Keys
from infra.settings import Settings
from models.case import Actor, ActorRole, CommandResult, ContactRecord, ContactResult
from models.registry import COMMANDS
from models.tables import CaseRow, HoldRow, OutboxRow, RecordRow
from tests.support.intake import OFFICER, example_referral
from tests.support.worker_process import worker_process
from usecases import cases

CASES = 20
OPEN_WITHIN = 50.0  # a killed worker's activities are retried after their 30 s start-to-close timeout
NOTICE_RECIPIENTS_SHARED = ("referring_officer", "person")


def _address(temporal_env: WorkflowEnvironment) -> str:
    return temporal_env.client.service_client.config.target_host


def _open_cases(engine: Engine) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(CaseRow).where(col(CaseRow.phase) != "screening")
        return int(session.execute(query).scalar_one())


def _case_rows(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(CaseRow)).scalar_one())


async def _until(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {within:.0f} s"
        await asyncio.sleep(0.1)


async def _start_cases(client: Client, keys: Keys, settings: Settings, count: int) -> list[str]:
    base = example_referral("referral-domestic-abuse.json")
    referrals = [base.model_copy(update={"referral_id": f"NCCU-2026-9{i:05d}"}) for i in range(count)]
    return list(
        await asyncio.gather(
            *(cases.start_referral(client, keys, settings.task_queue, r, OFFICER) for r in referrals)
        )
    )


def _records(engine: Engine, case_id: str) -> list[RecordRow]:
    with Session(engine) as session:
        query = select(RecordRow).where(col(RecordRow.case_id) == case_id).order_by(col(RecordRow.seq))
        return list(session.execute(query).scalars())


def _assert_numbered_without_gaps(engine: Engine, case_id: str) -> list[RecordRow]:
    entries = _records(engine, case_id)
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1)), f"case {case_id}: seq has gaps"
    return entries


async def test_cases_in_flight_when_the_worker_is_killed_each_complete_exactly_once(
    client: Client,
    keys: Keys,
    settings: Settings,
    engine: Engine,
    temporal_env: WorkflowEnvironment,
    tmp_path: Path,
) -> None:
    """Twenty referrals started at once; the worker is SIGKILLed as soon as the first case reaches Postgres (the
    rest mid-intake); a new worker process finishes them. Each case then has one case row, one
    `information_received` sharing, one hold per person and dependant, record entries 1..n with each step once,
    and one outbox row per notice."""
    address = _address(temporal_env)
    with worker_process(settings, address, tmp_path / "worker-1.log") as first:
        case_ids = await _start_cases(client, keys, settings, CASES)
        await _until(lambda: _case_rows(engine) >= 1, 30.0, "the first case reaching Postgres")
        first.kill()
    assert len(set(case_ids)) == CASES
    opened_before_restart = _open_cases(engine)

    with worker_process(settings, address, tmp_path / "worker-2.log"):
        await _until(lambda: _open_cases(engine) == CASES, OPEN_WITHIN, "every case opening")
        for case_id in case_ids:  # the workflows agree with the read model
            view = await cases.state(client, case_id)
            assert view.phase.value != "screening"

    assert opened_before_restart < CASES, "the kill came after intake had finished: nothing was in flight"
    dependants = len(example_referral("referral-domestic-abuse.json").dependants)
    with Session(engine) as session:
        assert int(session.execute(select(func.count()).select_from(CaseRow)).scalar_one()) == CASES
        holds = Counter(h.case_id for h in session.execute(select(HoldRow)).scalars())
        outbox = list(session.execute(select(OutboxRow)).scalars())
    assert holds == dict.fromkeys(case_ids, 1 + dependants)
    for case_id in case_ids:
        entries = _assert_numbered_without_gaps(engine, case_id)
        actions = Counter(e.action for e in entries)
        assert actions["information_received"] == 1, case_id
        assert actions["hold_placed"] == 1, case_id
        assert actions["screened"] == 1, case_id
        notices = sorted(int(n.key.rsplit("/n", 1)[1]) for n in outbox if n.case_id == case_id)
        assert notices == list(range(1, len(notices) + 1)) and notices, f"case {case_id}: notice keys"
        shared = [n for n in outbox if n.case_id == case_id and n.recipient in NOTICE_RECIPIENTS_SHARED]
        assert len(shared) == actions["information_shared"], f"case {case_id}: one outbox row per notice"


async def test_updates_in_flight_when_the_worker_is_killed_are_each_applied_once(
    client: Client,
    keys: Keys,
    settings: Settings,
    engine: Engine,
    temporal_env: WorkflowEnvironment,
    tmp_path: Path,
) -> None:
    """Officers' contacts (and some refused ones: police may not record contacts) sent at once to open cases;
    the worker is SIGKILLed while they are in flight and a new one started. Every accepted contact is in the
    record once; no refused one is."""
    address = _address(temporal_env)
    police = Actor(role=ActorRole.police, id="WMP-4471", force="WMP")
    update = COMMANDS["contact"].update
    with worker_process(settings, address, tmp_path / "worker-1.log") as first:
        case_ids = await _start_cases(client, keys, settings, 4)
        await _until(lambda: _open_cases(engine) == 4, 30.0, "the cases opening")
        before = {case_id: Counter(e.action for e in _records(engine, case_id)) for case_id in case_ids}

        async def contact(n: int) -> str:
            actor = police if n % 5 == 4 else OFFICER
            command = ContactRecord(actor=actor, result=ContactResult.no_answer)
            handle = client.get_workflow_handle(case_ids[n % len(case_ids)])
            try:
                # the update's own id: Temporal answers the same update once, however often it is retried
                await asyncio.wait_for(
                    handle.execute_update(update, command, id=f"contact-{n}", result_type=CommandResult),
                    OPEN_WITHIN,
                )
            except WorkflowUpdateFailedError:
                return "refused"
            return "accepted"

        sending = [asyncio.create_task(contact(n)) for n in range(20)]
        await _until(
            lambda: sum(_records_of(engine, case_ids, "contact_recorded")) >= 1, 30.0, "a first contact"
        )
        first.kill()
    with worker_process(settings, address, tmp_path / "worker-2.log"):
        results = await asyncio.gather(*sending)

    assert results.count("refused") == 4
    assert results.count("accepted") == 16
    recorded = _records_of(engine, case_ids, "contact_recorded")
    accepted_per_case = Counter(case_ids[n % 4] for n, r in enumerate(results) if r == "accepted")
    assert dict(zip(case_ids, recorded, strict=True)) == {
        c: before[c]["contact_recorded"] + accepted_per_case[c] for c in case_ids
    }
    for case_id in case_ids:
        _assert_numbered_without_gaps(engine, case_id)


def _records_of(engine: Engine, case_ids: list[str], action: str) -> list[int]:
    with Session(engine) as session:
        counted: dict[str, int] = dict(
            session.execute(
                select(col(RecordRow.case_id), func.count())
                .where(col(RecordRow.action) == action, col(RecordRow.case_id).in_(case_ids))
                .group_by(RecordRow.case_id)
            ).all()
        )
    return [int(counted.get(c, 0)) for c in case_ids]
