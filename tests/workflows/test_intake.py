"""A referral becomes a durable, protected case: one case, one sharing record, one hold per person."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import Session, col
from temporalio import activity

from activities.store import CaseStore
from infra.errors import DuplicateReferral
from models.case import ContactRecord, ContactResult, Phase
from models.messages import PersistStep
from models.tables import CaseRow, HoldRow, RecordRow
from tests.conftest import Running
from tests.support.intake import OFFICER, count, example_referral, load_example_records, open_case
from usecases import cases
from worker import build_activities, make_worker
from workflows.case import ASKED_FIRST, PATCH_RULES_ASKED_FIRST, RULES_ASKED_FIRST


async def test_a_referral_opens_a_protected_case_with_first_contact_due(running: Running) -> None:
    load_example_records(running)
    case_id = await open_case(running)

    view = await cases.state(running.client, case_id)
    assert view.phase is Phase.protection
    assert view.hold.active
    assert "investigation_live" in view.hold.grounds
    assert view.next_contact_due is not None
    assert view.status_at_referral is not None and view.status_at_referral.value == "no_status"

    with Session(running.engine) as session:
        row = session.get(CaseRow, case_id)
    assert row is not None and row.phase == "protection" and row.hold_active


class StoreThatCrashesAfterCommitting(CaseStore):
    """The real store, but every first attempt fails after its transaction has committed, as a
    worker crashing between the write and reporting it would."""

    @activity.defn(name="persist_step")
    def persist_step(self, step: PersistStep) -> None:
        super().persist_step(step)
        if activity.info().attempt == 1:
            raise RuntimeError("simulated crash after the write committed")


async def test_intake_writes_one_case_one_sharing_record_and_one_hold_per_person_when_retried(
    running: Running,
) -> None:
    settings = running.settings.model_copy(update={"task_queue": running.settings.task_queue + "-flaky"})
    load_example_records(running)
    with httpx.Client() as http, ThreadPoolExecutor(max_workers=4) as executor:
        activities = build_activities(settings, running.engine, running.keys, http)
        activities[0] = StoreThatCrashesAfterCommitting(running.engine, running.keys).persist_step
        async with make_worker(running.client, settings.task_queue, activities, executor):
            case_id = await cases.start_referral(
                running.client,
                running.keys,
                settings.task_queue,
                example_referral("referral-domestic-abuse.json"),
                OFFICER,
            )
            assert await cases.wait_until_open(running.client, case_id) is not None

    assert count(running, select(func.count()).select_from(CaseRow)) == 1
    shared = (
        select(func.count()).select_from(RecordRow).where(col(RecordRow.action) == "information_received")
    )
    assert count(running, shared) == 1
    # the person and her one dependant, each held once
    assert (
        count(running, select(func.count()).select_from(HoldRow).where(col(HoldRow.case_id) == case_id)) == 2
    )
    assert count(running, select(func.count()).select_from(HoldRow).where(col(HoldRow.active))) == 2
    # the record has no gaps or repeats
    with Session(running.engine) as session:
        seqs = (
            session.execute(select(col(RecordRow.seq)).where(col(RecordRow.case_id) == case_id))
            .scalars()
            .all()
        )
    assert sorted(seqs) == list(range(1, len(seqs) + 1))


async def test_a_second_referral_of_the_same_person_and_crime_is_refused_with_the_existing_case(
    running: Running,
) -> None:
    case_id = await open_case(running)
    again = example_referral("referral-domestic-abuse.json")
    # referred again under a new referral id, on another channel, with the name typed in another case
    person = again.person.model_copy(update={"family_name": "RAHMAN", "given_names": " amina"})
    again = again.model_copy(update={"person": person, "channel": "email", "referral_id": "NCCU-2026-000777"})

    with pytest.raises(DuplicateReferral) as refused:
        await cases.start_referral(
            running.client, running.keys, running.settings.task_queue, again, OFFICER, engine=running.engine
        )
    assert refused.value.case_id == case_id
    assert case_id in str(refused.value)
    assert count(running, select(func.count()).select_from(CaseRow)) == 1


async def test_the_same_person_for_another_crime_gets_another_case(running: Running) -> None:
    first = await open_case(running)
    other = example_referral("referral-domestic-abuse.json").model_copy(
        update={"crime_reference": "WMP/26/12/00001", "referral_id": "NCCU-2026-012001"}
    )
    second = await cases.start_referral(
        running.client, running.keys, running.settings.task_queue, other, OFFICER
    )
    assert second != first


async def test_workflow_id_and_search_attributes_carry_no_personal_data(running: Running) -> None:
    referral = example_referral("referral-domestic-abuse.json")
    case_id = await open_case(running)
    description = await running.client.get_workflow_handle(case_id).describe()

    visible = (
        case_id
        + " "
        + json.dumps({key.name: str(value) for key, value in description.typed_search_attributes})
        + " "
        + str(description.raw_description.execution_config)
        + " "
        + str(description.raw_description.workflow_execution_info.memo)
    )
    personal = [
        referral.person.given_names,
        referral.person.family_name,
        referral.person.date_of_birth.isoformat(),
        referral.person.address or "",
        referral.person.location or "",
        referral.dependants[0].given_names,
        referral.dependants[0].date_of_birth.isoformat(),
        referral.safe_contact.phone or "",
    ]
    for value in filter(None, personal):
        assert value.lower() not in visible.lower()
    assert case_id.startswith("MVP-")
    assert {key.name for key, _ in description.typed_search_attributes} >= {
        "MvpPhase",
        "MvpHoldActive",
        "MvpForce",
    }


async def test_a_referral_is_opened_held_screened_and_acknowledged_in_one_workflow_task(
    running: Running,
) -> None:
    """Update-with-Start, and the steps and the look-up as local activities: one workflow task, no activity task
    on the server, each search attribute upserted only when it changes."""
    load_example_records(running)
    case_id, view = await cases.start_and_acknowledge(
        running.client,
        running.keys,
        running.settings.task_queue,
        example_referral("referral-domestic-abuse.json"),
        OFFICER,
        engine=running.engine,
    )
    assert view is not None and view.phase is Phase.protection and view.hold.active

    history = await running.client.get_workflow_handle(case_id).fetch_history()
    kinds = [event.WhichOneof("attributes") for event in history.events]
    assert kinds.count("workflow_task_completed_event_attributes") == 1
    assert "activity_task_scheduled_event_attributes" not in kinds
    upserted = [
        set(event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields)
        for event in history.events
        if event.HasField("upsert_workflow_search_attributes_event_attributes")
    ]
    ours = [fields for fields in upserted if any(name.startswith("Mvp") for name in fields)]
    # the opening sets the first contact's date; the screening moves the phase; nothing else is sent again
    assert ours == [{"MvpNextContactDue"}, {"MvpPhase"}]


async def test_a_new_case_asks_every_patch_before_its_first_local_step(running: Running) -> None:
    """A local step's result may be recorded in one workflow task and the code after it run in the next; a patch
    first asked there could not be replayed (found by bench/soak.py). Every patch marker of a new case is in its
    history before the first local activity's marker, whatever runs later."""
    load_example_records(running)
    case_id, view = await cases.start_and_acknowledge(
        running.client,
        running.keys,
        running.settings.task_queue,
        example_referral("referral-domestic-abuse.json"),
        OFFICER,
        engine=running.engine,
    )
    assert view is not None
    # a command after the opening asks nothing new: the rule patches it takes were asked when the run started
    await cases.send(
        running.client, case_id, ContactRecord(actor=OFFICER, result=ContactResult.unsafe_to_talk)
    )

    history = await running.client.get_workflow_handle(case_id).fetch_history()
    markers = [
        (event.event_id, event.marker_recorded_event_attributes)
        for event in history.events
        if event.HasField("marker_recorded_event_attributes")
    ]
    patches = {
        event_id: json.loads(attributes.details["patch-data"].payloads[0].data)["id"]
        for event_id, attributes in markers
        if attributes.marker_name == "core_patch"
    }
    first_step = min(event_id for event_id, a in markers if a.marker_name == "core_local_activity")
    assert set(patches.values()) == {PATCH_RULES_ASKED_FIRST, *ASKED_FIRST, *RULES_ASKED_FIRST}
    assert all(event_id < first_step for event_id in patches)
