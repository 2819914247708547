"""A case never stalls and a notice is never lost because something outside is down: Home Office records
that cannot be read, an id that an earlier case used."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session, col
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.records import PostgresRecords, RecordsActivities
from activities.store import CaseStore
from models.case import Actor, ActorRole, Phase, PoliceUpdate
from models.messages import LookUpPerson, PersistStep, RecordsFound
from models.records import ImmigrationStatus
from models.tables import RecordRow
from protocol import lifecycle
from protocol.policy import policy
from tests.conftest import Running
from tests.support.intake import OFFICER, example_referral, load_example_records, screening_triggers
from usecases import cases
from worker import build_activities, make_worker


class Switch:
    """Whether the outside service is down."""

    def __init__(self) -> None:
        self.down = True


@asynccontextmanager
async def worker_with(running: Running, replace: Callable[[list[object]], None]) -> AsyncIterator[str]:
    queue = running.settings.task_queue + "-resilience"
    settings = running.settings.model_copy(update={"task_queue": queue})
    with httpx.Client() as http, ThreadPoolExecutor(max_workers=4) as executor:
        activities = build_activities(settings, running.engine, running.keys, http)
        replace(activities)
        async with make_worker(running.client, queue, activities, executor):
            yield queue


def swap(activities: list[object], name: str, replacement: object) -> None:
    index = next(i for i, a in enumerate(activities) if getattr(a, "__name__", "") == name)
    activities[index] = replacement


def summaries(running: Running, case_id: str, action: str) -> list[str]:
    with Session(running.engine) as session:
        rows = session.execute(
            select(col(RecordRow.summary))
            .where(col(RecordRow.case_id) == case_id, col(RecordRow.action) == action)
            .order_by(col(RecordRow.seq))
        )
        return list(rows.scalars())


def actions(running: Running, case_id: str) -> list[str]:
    with Session(running.engine) as session:
        rows = session.execute(
            select(col(RecordRow.action))
            .where(col(RecordRow.case_id) == case_id)
            .order_by(col(RecordRow.seq))
        )
        return list(rows.scalars())


async def test_records_that_cannot_be_read_leave_the_case_protected_and_screening_is_retried(
    running: Running,
) -> None:
    load_example_records(running)
    records = Switch()

    class FlakyRecords(RecordsActivities):
        @activity.defn(name="look_up_person")
        def look_up_person(self, person: LookUpPerson) -> RecordsFound:
            if records.down:
                raise ApplicationError("the records service refused the request", non_retryable=True)
            return super().look_up_person(person)

    flaky = FlakyRecords(PostgresRecords(running.engine)).look_up_person
    async with worker_with(running, lambda acts: swap(acts, "look_up_person", flaky)) as queue:
        case_id = await cases.start_referral(
            running.client, running.keys, queue, example_referral("referral-domestic-abuse.json"), OFFICER
        )
        view = await cases.wait_until_open(running.client, case_id)
        assert view is not None and view.phase is Phase.protection and view.hold.active
        assert view.status_at_referral is ImmigrationStatus.unknown
        assert view.next_contact_due is not None  # the person is not forgotten while records are down

        records.down = False
        await running.env.fast_forward(running.client.get_workflow_handle(case_id), timedelta(minutes=61))
        view = await cases.state(running.client, case_id)

    assert view.status_at_referral is ImmigrationStatus.no_status  # established at the retry
    assert view.phase is Phase.protection and view.hold.active
    assert actions(running, case_id).count("screened") == 2
    assert "signposting_given" in actions(running, case_id)
    # the retry is still the referral screening
    assert screening_triggers(running, case_id) == ["referral", "referral"]


async def test_a_rescreening_that_met_an_outage_keeps_its_trigger_and_never_touches_the_status_at_referral(
    running: Running,
) -> None:
    """Issue 8 item 4: the person is charged, the re-screening meets a records outage, and when the records
    come back they say (wrongly, or since) British: the status at referral stays as the referral screening
    found it, and the case is not closed as status confirmed; the hold stays."""
    load_example_records(running)
    records = Switch()
    records.down = False

    class FlakyRecords(RecordsActivities):
        recovered = False

        @activity.defn(name="look_up_person")
        def look_up_person(self, person: LookUpPerson) -> RecordsFound:
            if records.down:
                raise ApplicationError("the records service refused the request", non_retryable=True)
            found = super().look_up_person(person)
            if FlakyRecords.recovered and found.immigration_status is not None:
                status = found.immigration_status.model_copy(
                    update={"status": ImmigrationStatus.british_citizen}
                )
                return found.model_copy(update={"immigration_status": status})
            return found

    flaky = FlakyRecords(PostgresRecords(running.engine)).look_up_person
    async with worker_with(running, lambda acts: swap(acts, "look_up_person", flaky)) as queue:
        case_id = await cases.start_referral(
            running.client, running.keys, queue, example_referral("referral-domestic-abuse.json"), OFFICER
        )
        view = await cases.wait_until_open(running.client, case_id)
        assert view is not None and view.status_at_referral is ImmigrationStatus.no_status

        records.down = True
        police = Actor(role=ActorRole.police, id="WMP-4471", force="WMP")
        await cases.send(running.client, case_id, PoliceUpdate(actor=police, person_charged=True))
        records.down, FlakyRecords.recovered = False, True
        await running.env.fast_forward(running.client.get_workflow_handle(case_id), timedelta(minutes=61))
        view = await cases.state(running.client, case_id)

    assert view.status_at_referral is ImmigrationStatus.no_status
    assert view.phase is Phase.protection and view.hold.active and view.outcome is None
    screened = summaries(running, case_id, "screened")
    assert screening_triggers(running, case_id) == ["referral", *["person_became_suspect_or_charged"] * 2]
    assert "could not be read" in screened[1] and "british_citizen" in screened[2]
    assert "case_closed" not in actions(running, case_id)


def test_an_id_an_earlier_case_used_is_never_overwritten(running: Running) -> None:
    now = datetime.now(UTC)
    referral = example_referral("referral-domestic-abuse.json")
    store = CaseStore(running.engine, running.keys)
    for opened_at in (now, now + timedelta(days=400)):
        step = lifecycle.open_case("MVP-SAME0-00001", referral, OFFICER, opened_at, policy())
        write = PersistStep(
            case_id="MVP-SAME0-00001",
            at=opened_at,
            view=lifecycle.view(step.state, opened_at, policy()),
            records=step.records,
            notices=step.notices,
            referral=referral,
        )
        if opened_at == now:
            store.persist_step(write)
            store.persist_step(write)  # a retry of the same opening is fine
        else:
            with pytest.raises(ApplicationError, match="belongs to an earlier case"):
                store.persist_step(write)
