"""Enforcement checks and actions, and facts from the alleged perpetrator, on the real servers.

A check on a protected person or dependant is refused with the case and the officer to contact, is
recorded, and reaches the case's record and its officer; a person with no case, or whose hold a
supervisor lifted, is permitted. An enforcement action is recorded only after a permitted check.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable
from sqlmodel import Session, col

from activities.records import PostgresRecords, load_records
from activities.retention import purge_case
from infra.errors import Refused
from models.case import (
    Actor,
    ActorRole,
    ExclusionDecision,
    FactKind,
    FactReported,
    FactSource,
    FactVerified,
    Outcome,
    Phase,
    Withdrawal,
)
from models.enforcement import CheckRequest, CheckResult, EnforcementAction
from models.messages import LookUpPerson
from models.records import CriminalRecord, ImmigrationStatus, ImmigrationStatusRecord, RecordsFile
from models.referral import Referral
from models.tables import (
    CaseRow,
    EnforcementActionRow,
    EnforcementCheckReasonRow,
    EnforcementCheckRow,
    EnforcementSubjectRow,
    HoldRow,
    OutboxRow,
    RecordRow,
    TaskRow,
)
from protocol.enforcement import parse_person
from protocol.policy import policy
from tests.conftest import Running
from tests.support.intake import OFFICER, example_referral, load_example_records, open_case
from usecases import cases, enforcement

ENFORCER = Actor(role=ActorRole.enforcement, id="ENF-3")
SUPERVISOR = Actor(role=ActorRole.supervisor, id="SUP-7")
TODAY = datetime.now(UTC).date()


async def check(running: Running, person: str, reason: str = "Planned visit to the address") -> CheckResult:
    return await enforcement.check(
        running.client,
        running.keys,
        running.settings.task_queue,
        ENFORCER,
        parse_person(person, TODAY),
        reason,
    )


async def act(running: Running, check_id: str, action: EnforcementAction) -> object:
    return await enforcement.act(running.client, running.settings.task_queue, ENFORCER, check_id, action)


def rows(running: Running, query: Executable) -> list[object]:
    with Session(running.engine) as session:
        return list(session.execute(query).scalars().all())


def record_actions(running: Running, case_id: str) -> list[str]:
    return [r.action for r in rows(running, select(RecordRow).where(col(RecordRow.case_id) == case_id))]  # type: ignore[attr-defined]


async def eventually(condition: Callable[[], bool], within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


def marco() -> Referral:
    """Marco Vidal, as in examples/records.json: 54 months for wounding with intent, a deportation order."""
    base = example_referral("referral-domestic-abuse.json")
    person = base.person.model_copy(
        update={
            "given_names": "Marco",
            "family_name": "Vidal",
            "date_of_birth": date(1979, 1, 21),
            "home_office_ref": "HO-3301877",
        }
    )
    return base.model_copy(
        update={
            "person": person,
            "referral_id": "NCCU-2026-000912",  # another referral: another case
            "crime_reference": "WMP/26/11/00912",
            "dependants": [],
            "additional_information": None,
        }
    )


async def open_marco(running: Running) -> str:
    load_example_records(running)
    case_id = await cases.start_referral(
        running.client, running.keys, running.settings.task_queue, marco(), OFFICER
    )
    view = await cases.wait_until_open(running.client, case_id)
    assert view is not None and view.pending_decisions == ["exclusion"]
    return case_id


# --- refused -----------------------------------------------------------------------------------------


async def test_a_check_on_the_protected_person_is_refused_recorded_and_reported_to_her_officer(
    running: Running,
) -> None:
    load_example_records(running)
    case_id = await open_case(running)

    result = await check(running, "HO-7781203")
    # the case officer has a task as the answer comes back, not later
    tasks_now = rows(running, select(TaskRow).where(col(TaskRow.case_id) == case_id))

    verdict = result.verdict
    assert not verdict.permitted
    assert verdict.case_ids == [case_id]
    assert verdict.officers == [OFFICER.label()]
    assert "the person is protected" in verdict.reason
    assert result.check_id.startswith("check-")

    # the attempt is recorded: who asked, when, why, the answer; the person only as a keyed hash
    [row] = rows(running, select(EnforcementCheckRow))
    assert isinstance(row, EnforcementCheckRow)
    assert (row.check_id, row.actor, row.verdict) == (result.check_id, "enforcement:ENF-3", "refused")
    assert "Planned visit" not in json.dumps(row.model_dump(mode="json"))  # why: sealed, apart
    [why] = rows(running, select(EnforcementCheckReasonRow))
    assert isinstance(why, EnforcementCheckReasonRow) and why.check_id == result.check_id
    assert "Planned visit" not in why.reason_sealed
    opened = running.keys.keyring.open_text(why.reason_sealed, result.check_id)  # bound to its check
    assert opened == "Planned visit to the address"
    assert row.case_id == case_id and row.case_ids == [case_id] and row.officers == [OFFICER.label()]
    assert row.subject_kind == "ho_ref" and row.subject_key is None  # apart, purgeable: enforcement_subjects
    [subject] = rows(running, select(EnforcementSubjectRow))
    assert isinstance(subject, EnforcementSubjectRow) and subject.check_id == result.check_id
    assert subject.subject_key == running.keys.reference_hash("HO-7781203")
    assert "7781203" not in json.dumps(row.model_dump(mode="json"))

    # ...in the case's own record, and the case officer is told
    await eventually(lambda: "enforcement_check_refused" in record_actions(running, case_id))
    [entry] = [
        r
        for r in rows(running, select(RecordRow).where(col(RecordRow.case_id) == case_id))
        if isinstance(r, RecordRow) and r.action == "enforcement_check_refused"
    ]
    assert entry.actor == "enforcement:ENF-3" and result.check_id in entry.summary
    outbox = rows(running, select(OutboxRow).where(col(OutboxRow.case_id) == case_id))
    [notice] = [n for n in outbox if isinstance(n, OutboxRow) and n.kind == "enforcement_check_refused"]
    assert notice.recipient == "case_officer" and notice.channel == "internal" and notice.status == "task"
    assert notice.facts["check_id"] == result.check_id
    assert [(t.kind, t.owner, t.state) for t in tasks_now if isinstance(t, TaskRow)] == [
        ("enforcement_check_refused", OFFICER.label(), "open")
    ]
    tasks_after = rows(running, select(TaskRow).where(col(TaskRow.case_id) == case_id))
    assert len(tasks_after) == 1  # the case's own step found the check's task: one task, not two

    # the hold itself is untouched
    view = await cases.state(running.client, case_id)
    assert view.phase is Phase.protection and view.hold.active


async def test_a_check_on_her_dependant_by_name_and_birth_date_is_refused_whatever_the_case(
    running: Running,
) -> None:
    load_example_records(running)
    case_id = await open_case(running)

    result = await check(running, "  rahman ,  ZARA, 2021-06-30")

    assert not result.verdict.permitted
    assert result.verdict.case_ids == [case_id] and result.verdict.officers == [OFFICER.label()]
    assert "a dependant is protected" in result.verdict.reason
    [row] = rows(running, select(EnforcementCheckRow))
    assert isinstance(row, EnforcementCheckRow)
    assert row.subject_kind == "name_dob"
    assert "zara" not in json.dumps(row.model_dump(mode="json")).lower()
    await eventually(lambda: "enforcement_check_refused" in record_actions(running, case_id))


async def test_no_personal_data_enters_the_check_workflow(running: Running) -> None:
    load_example_records(running)
    await open_case(running)
    result = await check(running, "Rahman, Zara, 2021-06-30")

    history = await running.client.get_workflow_handle(result.check_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    [request] = await running.client.data_converter.decode(started.input.payloads, [CheckRequest])
    seen = json.dumps(request.model_dump(mode="json")).lower()
    for personal in ("rahman", "zara", "2021-06-30"):
        assert personal not in seen


# --- permitted -----------------------------------------------------------------------------------------


async def test_a_person_with_no_case_is_permitted_and_the_check_is_recorded(running: Running) -> None:
    load_example_records(running)
    await open_case(running)

    result = await check(running, "HO-5550912")

    assert result.verdict.permitted and result.verdict.case_ids == []
    [row] = rows(running, select(EnforcementCheckRow))
    assert isinstance(row, EnforcementCheckRow)
    assert row.verdict == "permitted" and row.case_id is None


async def test_the_check_is_refused_while_the_exclusion_decision_is_pending_and_permitted_once_confirmed(
    running: Running,
) -> None:
    case_id = await open_marco(running)

    pending = await check(running, "HO-3301877")
    assert not pending.verdict.permitted
    assert "exclusion decision is pending" in pending.verdict.reason
    await eventually(lambda: "enforcement_check_refused" in record_actions(running, case_id))

    await cases.send(
        running.client,
        case_id,
        ExclusionDecision(
            actor=SUPERVISOR, verdict="confirm", reason="Serious offender: 54 months, deportation order."
        ),
    )
    with Session(running.engine) as session:
        hold = session.get(HoldRow, (case_id, "person"))
    assert hold is not None and not hold.active and hold.lifted_by == "supervisor:SUP-7"

    lifted = await check(running, "vidal, marco, 1979-01-21")
    assert lifted.verdict.permitted
    assert lifted.verdict.case_ids == [case_id]
    assert "supervisor:SUP-7" in lifted.verdict.reason
    verdicts = {
        r.check_id: r.verdict
        for r in rows(running, select(EnforcementCheckRow))
        if isinstance(r, EnforcementCheckRow)
    }
    assert verdicts == {pending.check_id: "refused", lifted.check_id: "permitted"}

    # an action after the refused check is rejected; after the permitted one it is recorded, once
    with pytest.raises(Refused, match="was refused"):
        await act(running, pending.check_id, EnforcementAction.detained)
    recorded = await act(running, lifted.check_id, EnforcementAction.detained)
    with pytest.raises(Refused, match="already recorded"):
        await act(running, lifted.check_id, EnforcementAction.detained)
    [action] = rows(running, select(EnforcementActionRow))
    assert isinstance(action, EnforcementActionRow)
    assert (action.check_id, action.action, action.case_id) == (lifted.check_id, "detained", case_id)
    assert action.actor == "enforcement:ENF-3" and action.subject_key is None  # the check's subject
    subjects = {
        s.check_id: s.subject_key
        for s in rows(running, select(EnforcementSubjectRow))
        if isinstance(s, EnforcementSubjectRow)
    }
    assert subjects[lifted.check_id] == running.keys.person_hash("Vidal", "Marco", "1979-01-21")
    assert getattr(recorded, "action_id", None) == action.action_id


async def test_an_action_after_an_unknown_check_is_rejected(running: Running) -> None:
    with pytest.raises(Refused, match="no enforcement check"):
        await act(running, "check-00000000-0000-0000-0000-000000000000", EnforcementAction.removed)
    assert rows(running, select(EnforcementActionRow)) == []


async def test_checks_and_actions_are_append_only(running: Running) -> None:
    permitted = await check(running, "HO-5550912")
    await act(running, permitted.check_id, EnforcementAction.detained)
    for table in ("enforcement_checks", "enforcement_actions"):
        for statement in (
            f"UPDATE {table} SET actor = 'x'",
            f"DELETE FROM {table}",
            f"TRUNCATE {table} CASCADE",
        ):
            with pytest.raises(DBAPIError, match="append-only"), running.engine.begin() as connection:
                connection.execute(text(statement))
    assert len(rows(running, select(EnforcementActionRow))) == 1


# --- a fact from the alleged perpetrator -------------------------------------------------------------


async def test_the_perpetrator_saying_she_left_the_uk_changes_nothing_until_an_officer_verifies_it(
    running: Running,
) -> None:
    load_example_records(running)
    case_id = await open_case(running)

    told = await cases.send(
        running.client,
        case_id,
        FactReported(actor=OFFICER, fact_kind=FactKind.person_left_uk, source=FactSource.perpetrator),
    )
    assert "unverified" in told.accepted
    assert told.view.phase is Phase.protection and told.view.hold.active
    assert not (await check(running, "HO-7781203")).verdict.permitted  # still protected

    verified = await cases.send(
        running.client, case_id, FactVerified(actor=OFFICER, fact_number=1, verified=True)
    )

    assert verified.view.phase is Phase.closed and verified.view.outcome is Outcome.departed
    with Session(running.engine) as session:
        row = session.get(CaseRow, case_id)
    assert row is not None and row.outcome == "departed" and not row.hold_active
    actions = record_actions(running, case_id)
    assert actions.index("fact_reported") < actions.index("fact_verified") < actions.index("case_closed")
    # closed as departed, not lifted by a supervisor: enforcement must still ask the case officer
    after = await check(running, "HO-7781203")
    assert not after.verdict.permitted and "departed" in after.verdict.reason


async def test_a_rejected_perpetrator_fact_leaves_the_case_protected(running: Running) -> None:
    load_example_records(running)
    case_id = await open_case(running)
    await cases.send(
        running.client,
        case_id,
        FactReported(actor=OFFICER, fact_kind=FactKind.relationship_ended, source=FactSource.perpetrator),
    )
    rejected = await cases.send(
        running.client, case_id, FactVerified(actor=OFFICER, fact_number=1, verified=False)
    )
    assert rejected.view.phase is Phase.protection and rejected.view.hold.active
    with pytest.raises(Refused, match="already rejected"):
        await cases.send(running.client, case_id, FactVerified(actor=OFFICER, fact_number=1, verified=True))
    police = Actor(role=ActorRole.police, id="WMP-4471", force="WMP")
    with pytest.raises(Refused, match="only officer"):
        await cases.send(running.client, case_id, FactVerified(actor=police, fact_number=1, verified=True))


async def test_a_person_referred_without_a_reference_is_found_by_the_reference_screening_matched(
    running: Running,
) -> None:
    """Dariusz was referred with no Home Office reference; screening matched his record by name and date
    of birth, so a check by that reference must find his case too."""
    load_example_records(running)
    case_id = await open_case(running, "referral-trafficking.json")

    result = await check(running, "HO-5550912")

    assert not result.verdict.permitted
    assert result.verdict.case_ids == [case_id]


# --- the Home Office records bridge a reference and a name ------------------------------------------

ZARA_RECORD = ImmigrationStatusRecord(
    home_office_ref="HO-9990001",
    given_names="Zara",
    family_name="Rahman",
    date_of_birth=date(2021, 6, 30),
    status=ImmigrationStatus.no_status,
)


def amina(**person: object) -> Referral:
    """Amina Rahman's referral, with her details as the referring officer gave them."""
    base = example_referral("referral-domestic-abuse.json")
    return base.model_copy(update={"person": base.person.model_copy(update=person)})


async def open_referral(running: Running, referral: Referral) -> str:
    case_id = await cases.start_referral(
        running.client, running.keys, running.settings.task_queue, referral, OFFICER
    )
    assert await cases.wait_until_open(running.client, case_id) is not None
    return case_id


async def test_a_check_by_her_dependants_home_office_reference_is_refused(running: Running) -> None:
    """Only the person's hold carries a reference; the records give Zara's reference her name and date
    of birth, which her hold as a dependant is keyed by."""
    load_example_records(running)
    load_records(running.engine, RecordsFile(immigration_status=[ZARA_RECORD]))
    case_id = await open_case(running)

    result = await check(running, "ho-9990001")

    assert not result.verdict.permitted
    assert result.verdict.case_ids == [case_id] and result.verdict.officers == [OFFICER.label()]
    assert "a dependant is protected" in result.verdict.reason
    await eventually(lambda: "enforcement_check_refused" in record_actions(running, case_id))
    # a reference no record has, and no hold, still finds nobody
    assert (await check(running, "HO-0000404")).verdict.permitted


async def test_a_check_by_her_real_reference_is_refused_when_the_referral_mistyped_it(
    running: Running,
) -> None:
    load_example_records(running)
    case_id = await open_referral(running, amina(home_office_ref="HO-7781230"))  # digits swapped

    # screening found her record by her name and date of birth, despite the typo
    view = await cases.state(running.client, case_id)
    assert view.status_at_referral is ImmigrationStatus.no_status  # her record's, not "unknown"
    with Session(running.engine) as session:
        hold = session.get(HoldRow, (case_id, "person"))
    assert hold is not None and hold.ho_ref_key == running.keys.reference_hash("HO-7781230")

    real = await check(running, "HO-7781203")
    assert not real.verdict.permitted and real.verdict.case_ids == [case_id]
    assert "the person is protected" in real.verdict.reason
    as_given = await check(running, "HO-7781230")
    assert not as_given.verdict.permitted and as_given.verdict.case_ids == [case_id]


async def test_a_check_by_name_is_refused_when_the_referral_misspelt_it_but_gave_her_reference(
    running: Running,
) -> None:
    """The records give her name and date of birth the reference her hold carries."""
    load_example_records(running)
    case_id = await open_referral(running, amina(family_name="Rahmen"))

    result = await check(running, "Rahman, Amina, 1998-03-14")

    assert not result.verdict.permitted and result.verdict.case_ids == [case_id]
    assert "the person is protected" in result.verdict.reason


def test_screening_falls_back_to_name_and_birth_date_only_for_a_reference_no_record_has(
    engine: Engine,
) -> None:
    amina_status = ImmigrationStatusRecord(
        home_office_ref="HO-7781203",
        given_names="Amina",
        family_name="Rahman",
        date_of_birth=date(1998, 3, 14),
        status=ImmigrationStatus.no_status,
    )
    other_crime = CriminalRecord(  # someone alike under another reference
        home_office_ref="HO-1112223",
        given_names="Amina",
        family_name="Rahman",
        date_of_birth=date(1998, 3, 14),
        markers=["deportation_order"],
    )
    load_records(engine, RecordsFile(immigration_status=[amina_status], criminal_records=[other_crime]))
    source = PostgresRecords(engine)

    def look_up(ref: str | None) -> tuple[str | None, str | None]:
        found = source.look_up(
            LookUpPerson(
                home_office_ref=ref,
                family_name="Rahman",
                given_names="Amina",
                date_of_birth=date(1998, 3, 14),
            )
        )
        status, crime = found.immigration_status, found.criminal_record
        return (status.home_office_ref if status else None, crime.home_office_ref if crime else None)

    # a reference the records know identifies her: nothing is added by name from the other table
    assert look_up("HO-7781203") == ("HO-7781203", None)
    # a reference no record has: by name and date of birth, in both tables
    assert look_up("HO-7781230") == ("HO-7781203", "HO-1112223")
    assert look_up(None) == ("HO-7781203", "HO-1112223")
    # two people alike: no safe match, whether the reference was mistyped or missing
    twin = amina_status.model_copy(update={"home_office_ref": "HO-4445556"})
    load_records(engine, RecordsFile(immigration_status=[twin]))
    assert look_up("HO-7781230") == (None, "HO-1112223")
    assert look_up(None) == (None, "HO-1112223")


# --- the reason for a check ---------------------------------------------------------------------------


async def test_the_reason_is_kept_sealed_apart_from_the_log_and_purged_with_the_case(
    running: Running,
) -> None:
    load_example_records(running)
    case_id = await open_case(running)
    reason = "Tip-off: she works nights at 12 Mill Lane"
    refused = await check(running, "Rahman, Zara, 2021-06-30", reason=reason)
    elsewhere = await check(running, "HO-5550912", reason="Dariusz Kowal, overstayer")  # no case
    assert not refused.verdict.permitted and elsewhere.verdict.permitted
    await eventually(lambda: "enforcement_check_refused" in record_actions(running, case_id))

    assert "reason" not in {c["name"] for c in inspect(running.engine).get_columns("enforcement_checks")}
    sealed = {
        r.check_id: running.keys.keyring.open_text(r.reason_sealed, r.check_id)
        for r in rows(running, select(EnforcementCheckReasonRow))
        if isinstance(r, EnforcementCheckReasonRow)
    }
    assert sealed == {refused.check_id: reason, elsewhere.check_id: "Dariusz Kowal, overstayer"}

    await cases.send(
        running.client,
        case_id,
        Withdrawal(actor=OFFICER, reason="Referral made in error.", made_in_error=True),
    )
    handle = running.client.get_workflow_handle(case_id)
    await running.env.fast_forward(handle, policy().reopen_window)  # a closed case may be reopened till then
    await handle.result()
    with Session(running.engine) as session:
        closed = session.get(CaseRow, case_id)
    assert closed is not None and closed.closed_at is not None
    later = closed.closed_at + policy(closed.policy_version).retention_after_closure
    purge_case(running.engine, running.keys, closed, later, "supervisor:SUP-7")

    # the reason for the check on her case is gone; the check itself stays in the log, and a check
    # that concerned no case keeps its reason
    left = [r.check_id for r in rows(running, select(EnforcementCheckReasonRow))]  # type: ignore[attr-defined]
    assert left == [elsewhere.check_id]
    assert {r.check_id for r in rows(running, select(EnforcementCheckRow))} == {  # type: ignore[attr-defined]
        refused.check_id,
        elsewhere.check_id,
    }
