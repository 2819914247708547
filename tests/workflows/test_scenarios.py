"""The Review's case studies, lived through months of simulated time.

Each test drives the real `ProtocolCaseWorkflow` through `usecases.cases` exactly as the CLI does,
fast-forwards that one case's clock with `env.fast_forward`, and then checks what a caseworker, an
advocate and a data protection officer would each look at: the outcome, the notices in the outbox (who,
what, through which channel), the append-only case record (actions, and for each sharing what, with whom
and why), the holds register and the `cases` read model.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic, sleep

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import TimeSkippingConfig, WorkflowEnvironment

from activities.records import load_records
from infra.codec import data_converter
from infra.errors import Refused
from infra.keys import Keys
from infra.settings import Settings
from models import search_attributes as attrs
from models.case import (
    Actor,
    ActorRole,
    ApplicationEvent,
    ApplicationStage,
    CaseView,
    ContactRecord,
    ContactResult,
    ExclusionDecision,
    ExclusionIndicator,
    Ground,
    InvestigationStatus,
    Outcome,
    Phase,
    PoliceUpdate,
    ReleaseDecision,
    Reopen,
    Route,
    RouteStarted,
    Withdrawal,
)
from models.records import (
    Conviction,
    CriminalRecord,
    ImmigrationStatus,
    ImmigrationStatusRecord,
    RecordsFile,
)
from models.referral import CrimeType, Dependant, PersonRole, Referral
from models.tables import CaseRow, HoldRow, OutboxRow, RecordRow
from protocol.enforcement import parse_person
from tests.conftest import BIN, Running, records_history
from tests.support.histories import record_histories
from tests.support.intake import example_referral, load_example_records, screening_notes, screening_triggers
from usecases import audit, cases, enforcement, readmodel
from worker import build_activities, build_dispatcher, make_worker

# MVP_RECORD_HISTORIES=1 records every scenario's histories for tests/workflows/test_replay.py.
pytestmark = pytest.mark.record_history

POLICE = Actor(role=ActorRole.police, id="WMP-4471", force="WMP")
OFFICER = Actor(role=ActorRole.officer, id="NCCU-0042")
SUPERVISOR = Actor(role=ActorRole.supervisor, id="SUP-7")
ENFORCEMENT = Actor(role=ActorRole.enforcement, id="IE-ENF-12")

REFERRING_OFFICER = "referring officer WMP-4471 (WMP)"
PERSON = "the person, through their safe channel"
HOLDS_REGISTER = "IE enforcement teams (holds register)"


# --- building referrals and records ----------------------------------------------------------------


def amina() -> Referral:
    """Review para 21: spouse visa curtailed after her husband withdrew sponsorship (examples/)."""
    return example_referral("referral-domestic-abuse.json")


def dariusz() -> Referral:
    """Review para 27: trafficked, his brother took his visa and passport (examples/)."""
    return example_referral("referral-trafficking.json")


def variant(
    base: Referral,
    *,
    given: str,
    family: str,
    born: date,
    ho_ref: str | None,
    crime_reference: str,
    **changes: object,
) -> Referral:
    """Another person's referral from the same force, shaped like `base`."""
    person = base.person.model_copy(
        update={"given_names": given, "family_name": family, "date_of_birth": born, "home_office_ref": ho_ref}
    )
    # each scenario is its own referral, so its own case (the case id is the force's referral id's)
    referral_id = "NCCU-" + crime_reference.replace("/", "-")  # a referral id has no slashes
    return base.model_copy(
        update={"person": person, "crime_reference": crime_reference, "referral_id": referral_id, **changes}
    )


def status_record(
    referral: Referral, status: ImmigrationStatus, ho_ref: str | None = None, **fields: object
) -> ImmigrationStatusRecord:
    person = referral.person
    ref = ho_ref or person.home_office_ref
    assert ref is not None
    return ImmigrationStatusRecord(
        home_office_ref=ref,
        given_names=person.given_names,
        family_name=person.family_name,
        date_of_birth=person.date_of_birth,
        status=status,
        **fields,
    )


def criminal_record(
    referral: Referral, *convictions: Conviction, markers: list[str] | None = None
) -> CriminalRecord:
    person = referral.person
    assert person.home_office_ref is not None
    return CriminalRecord(
        home_office_ref=person.home_office_ref,
        given_names=person.given_names,
        family_name=person.family_name,
        date_of_birth=person.date_of_birth,
        convictions=list(convictions),
        markers=markers or [],
    )


def marco() -> Referral:
    """A man assaulted in the street who, it turns out, served 54 months for wounding with intent."""
    return variant(
        amina(),
        given="Marco",
        family="Vidal",
        born=date(1979, 1, 21),
        ho_ref="HO-3301877",
        crime_reference="WMP/26/11/00912",
        crime_type=CrimeType.other,
        suspected_offence_reason="Says he came as a visitor years ago and never left.",
        additional_information=None,
        dependants=[],
    )


# --- driving a case --------------------------------------------------------------------------------


async def refer(running: Running, referral: Referral) -> CaseView:
    """The officer starts the case as `mvp referral submit` does; returns it once it is opened."""
    case_id = await cases.start_referral(
        running.client, running.keys, running.settings.task_queue, referral, OFFICER
    )
    view = await cases.wait_until_open(running.client, case_id)
    assert view is not None, "the worker did not open the case"
    return view


async def later(running: Running, case_id: str, days: int) -> None:
    """Live through `days` of this case's (virtual) time; every timer due in between has fired."""
    handle = running.client.get_workflow_handle(case_id)
    assert await asyncio.wait_for(running.env.fast_forward(handle, timedelta(days=days)), timeout=60)


async def case_time(running: Running, case_id: str) -> datetime:
    return await running.env.get_current_time(running.client.get_workflow_handle(case_id))


async def reached(running: Running, case_id: str, support: bool | None = None) -> CaseView:
    result = await cases.send(
        running.client,
        case_id,
        ContactRecord(actor=OFFICER, result=ContactResult.reached, support_active=support),
    )
    return result.view


async def eventually(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


# --- what was written ------------------------------------------------------------------------------


def record(running: Running, case_id: str) -> list[RecordRow]:
    return readmodel.case_record(running.engine, case_id)


def actions(running: Running, case_id: str) -> list[str]:
    return [entry.action for entry in record(running, case_id)]


def summaries(running: Running, case_id: str, action: str) -> list[str]:
    return [e.summary for e in record(running, case_id) if e.action == action]


def outbox(running: Running, case_id: str) -> list[OutboxRow]:
    return readmodel.case_notices(running.engine, case_id)


def notices_to(running: Running, case_id: str, recipient: str, kind: str) -> list[OutboxRow]:
    return [n for n in outbox(running, case_id) if n.recipient == recipient and n.kind == kind]


def kinds_to(running: Running, case_id: str, recipient: str) -> list[str]:
    return [n.kind for n in outbox(running, case_id) if n.recipient == recipient]


def holds(engine: Engine, case_id: str) -> dict[str, HoldRow]:
    with Session(engine) as session:
        rows = session.execute(select(HoldRow).where(HoldRow.case_id == case_id)).scalars().all()  # type: ignore[arg-type]
    return {row.subject: row for row in rows}


def case_row(running: Running, case_id: str) -> CaseRow:
    return readmodel.get_case(running.engine, case_id)


def assert_record_intact(running: Running, case_id: str) -> None:
    """The record is contiguous from 1 and its hash chain unbroken, as `mvp audit verify` checks it
    (NPCC §10: append-only)."""
    [report] = audit.verify(running.engine, case_id)
    assert report.intact, report.problem
    assert report.entries == len(record(running, case_id)) > 0


def assert_delivered_safely(running: Running, case_id: str, referral: Referral) -> None:
    """Every notice went out (the worker's dispatcher sends them apart from the workflow, within a moment);
    the person's only through their own safe channel and in their language, the referring officer's to the
    officer, the rest are tasks in IE's own work queue."""
    safe = referral.safe_contact
    deadline = monotonic() + 10
    while (
        any(n.status in ("pending", "sending") for n in outbox(running, case_id)) and monotonic() < deadline
    ):
        sleep(0.1)
    for notice in outbox(running, case_id):
        internal = notice.channel == "internal"
        assert notice.status == ("task" if internal else "sent"), (
            f"{notice.kind} to {notice.recipient} is {notice.status}"
        )
        if notice.recipient == "person":
            assert notice.channel == safe.channel.value
            assert notice.language == safe.language
        elif notice.recipient == "referring_officer":
            assert notice.channel == "email"
        else:
            assert notice.channel == "internal"


async def assert_closed_once(
    running: Running, case_id: str, referral: Referral, outcome: Outcome, by: str
) -> None:
    """PROTOCOL §8: exactly one outcome, recorded with who and why, the hold lifted on everyone it
    covered, the person and the referring officer told; nothing can be recorded afterwards."""
    view = await cases.state(running.client, case_id)
    assert (view.phase, view.outcome) == (Phase.closed, outcome)
    assert not view.hold.active and view.hold.grounds == [] and view.hold.lifted_at is not None
    assert view.next_contact_due is None and not view.contact_overdue

    row = case_row(running, case_id)
    assert (row.phase, row.outcome, row.hold_active) == ("closed", outcome.value, False)
    assert row.closed_at == view.closed_at and row.revision == view.revision

    entries = record(running, case_id)
    closing = [e for e in entries if e.action == "case_closed"]
    assert len(closing) == 1 and closing[0].actor == by
    assert closing[0].summary.startswith(f"closed as {outcome.value}")
    lifted = [e for e in entries if e.action == "hold_lifted"]
    assert len(lifted) == 1 and lifted[0].shared_with == HOLDS_REGISTER
    told = [e for e in entries if e.action == "information_shared" and e.seq > closing[0].seq]
    outcome_shared = ["outcome of the case", "who decided, when and why"]
    assert [(e.shared_with, e.shared_what) for e in told] == [
        (PERSON, outcome_shared),
        (told_officer(referral), outcome_shared),
    ]

    for recipient in ("person", "referring_officer"):
        [notice] = notices_to(running, case_id, recipient, "outcome")
        assert notice.facts["outcome"] == outcome.value and notice.facts["decided_by"] == by

    subjects = holds(running.engine, case_id)
    assert set(subjects) == {"person"} | {f"dependant-{n}" for n in range(1, len(referral.dependants) + 1)}
    for hold in subjects.values():
        assert not hold.active and hold.lifted_by == by and hold.lifted_at is not None and hold.grounds == []

    with pytest.raises(Refused):
        await cases.send(running.client, case_id, Withdrawal(actor=OFFICER, reason="made in error"))
    assert actions(running, case_id).count("case_closed") == 1
    assert_record_intact(running, case_id)
    assert_delivered_safely(running, case_id, referral)


def told_officer(referral: Referral) -> str:
    officer = referral.referring_officer
    return f"referring officer {officer.officer_id} ({officer.force_code})"


# --- the scenarios ---------------------------------------------------------------------------------


async def test_spouse_visa_curtailed_victim_is_protected_until_her_domestic_abuse_application_is_granted(
    running: Running,
) -> None:
    """Review para 21: leave curtailed when the abuser withdrew sponsorship; the concession and settlement
    as a victim of domestic abuse; months later, leave granted."""
    load_example_records(running)
    referral = amina()
    view = await refer(running, referral)
    case_id = view.case_id

    assert view.phase is Phase.protection and view.hold.active
    assert view.status_at_referral is ImmigrationStatus.no_status
    given = [s.route for s in view.signposting]
    assert {Route.domestic_abuse_concession, Route.appendix_victim_of_domestic_abuse} <= set(given)
    assert Route.legal_advice in given and Route.specialist_support in given
    [ack] = notices_to(running, case_id, "referring_officer", "acknowledgement")
    assert ack.facts["status"] == "no_status" and ack.facts["hold"] == "in force"
    assert "domestic_abuse_concession" in ack.facts["signposting"].split(",")
    [told] = notices_to(running, case_id, "person", "protocol_notice")
    assert "appendix_victim_of_domestic_abuse" in told.facts["signposting"].split(",")
    assert {h.subject: h.active for h in holds(running.engine, case_id).values()} == {
        "person": True,
        "dependant-1": True,
    }

    # At referral: reached, with support towards an application; the concession's clock starts; charged.
    await reached(running, case_id, support=True)
    started = await cases.send(
        running.client, case_id, RouteStarted(actor=OFFICER, route=Route.domestic_abuse_concession)
    )
    assert Ground.route_clock in started.view.hold.grounds
    charged = await cases.send(
        running.client, case_id, PoliceUpdate(actor=POLICE, investigation=InvestigationStatus.charged)
    )
    assert charged.view.investigation is InvestigationStatus.charged

    await later(running, case_id, 25)
    await reached(running, case_id)
    await cases.send(
        running.client, case_id, PoliceUpdate(actor=POLICE, investigation=InvestigationStatus.awaiting_trial)
    )
    await later(running, case_id, 25)
    await reached(running, case_id)

    # About two months in, she applies for settlement as a victim of domestic abuse.
    await later(running, case_id, 10)
    await reached(running, case_id)
    applied = await cases.send(
        running.client,
        case_id,
        ApplicationEvent(
            actor=OFFICER, route=Route.appendix_victim_of_domestic_abuse, stage=ApplicationStage.submitted
        ),
    )
    assert [(a.number, a.stage) for a in applied.view.applications] == [(1, ApplicationStage.submitted)]

    await later(running, case_id, 25)
    await reached(running, case_id)
    await later(running, case_id, 25)  # the concession's 3 months have run out in between
    view = await reached(running, case_id)
    assert view.phase is Phase.protection
    assert view.hold.grounds == [
        Ground.investigation_live,
        Ground.application_pending,
        Ground.receiving_support,
    ]
    assert case_row(running, case_id).hold_grounds == [g.value for g in view.hold.grounds]
    assert all(h.active for h in holds(running.engine, case_id).values())

    await later(running, case_id, 25)
    granted = await cases.send(
        running.client,
        case_id,
        ApplicationEvent(
            actor=OFFICER,
            route=Route.appendix_victim_of_domestic_abuse,
            stage=ApplicationStage.granted,
            number=1,
        ),
    )
    assert granted.view.outcome is Outcome.regularised
    await assert_closed_once(running, case_id, referral, Outcome.regularised, by="officer:NCCU-0042")

    # Never overdue, because the officer kept in touch; what police shared is on the record.
    assert kinds_to(running, case_id, "supervisors") == []
    entries = record(running, case_id)
    [received] = [e for e in entries if e.action == "information_received"]
    assert received.shared_with == f"Home Office Immigration Enforcement (NCCU), from {REFERRING_OFFICER}"
    assert received.shared_why == ["confirm_status", "identify_vulnerability", "assist_protection"]
    assert "1 dependant(s)" in received.shared_what
    police = [e for e in entries if e.action == "police_update"]
    assert [e.actor for e in police] == ["police:WMP-4471:WMP"] * 2
    assert all(e.shared_why == ["NPCC §5.4.3: assist the investigation"] for e in police)
    assert [e.action for e in entries if e.action.startswith("application_")] == [
        "application_submitted",
        "application_granted",
    ]
    assert actions(running, case_id).count("contact_recorded") == 6
    closed_at = granted.view.closed_at
    assert closed_at is not None and closed_at - granted.view.opened_at >= timedelta(days=135)


async def test_trafficking_victim_found_to_hold_leave_is_told_his_status_and_the_case_closes_at_screening(
    running: Running,
) -> None:
    """Review para 27: no Home Office reference on the referral; matched by name and date of birth to
    skilled worker leave with well over the policy's margin left. Establishing status is the protection."""
    referral = dariusz()
    assert referral.person.home_office_ref is None
    today = datetime.now(UTC).date()
    load_records(
        running.engine,
        RecordsFile(
            immigration_status=[
                status_record(
                    referral,
                    ImmigrationStatus.leave_to_remain,
                    ho_ref="HO-5550912",
                    last_leave="skilled_worker",
                    leave_expires=today + timedelta(days=520),
                )
            ]
        ),
    )

    view = await refer(running, referral)
    case_id = view.case_id
    assert view.status_at_referral is ImmigrationStatus.leave_to_remain
    await assert_closed_once(running, case_id, referral, Outcome.status_confirmed, by="system:workflow")

    # He and the police are told what his status is, and he is pointed to the consulate for the passport
    # his brother took; no protocol notice promising a hold, no acknowledgement of one.
    for recipient in ("person", "referring_officer"):
        [status] = notices_to(running, case_id, recipient, "status")
        assert status.facts["status"] == "leave_to_remain"
    assert [s.route for s in view.signposting] == [Route.specialist_support, Route.consulate]
    [signposted] = notices_to(running, case_id, "person", "signposting")
    assert signposted.facts["signposting"].split(",") == ["specialist_support", "consulate"]
    assert kinds_to(running, case_id, "person") == ["status", "signposting", "outcome"]
    assert kinds_to(running, case_id, "referring_officer") == ["status", "outcome"]
    assert kinds_to(running, case_id, "supervisors") == []
    [person_outcome] = notices_to(running, case_id, "person", "outcome")
    assert (person_outcome.channel, person_outcome.language) == ("phone", "uk")

    entries = record(running, case_id)
    assert [(e.action, e.shared_with, e.shared_what) for e in entries] == [
        (
            "information_received",
            f"Home Office Immigration Enforcement (NCCU), from {told_officer(referral)}",
            ["basic information (NPCC §6.1)", "safe contact arrangements"],
        ),
        ("hold_placed", HOLDS_REGISTER, ["hold in force"]),
        ("screened", None, []),
        ("information_shared", PERSON, ["immigration status"]),
        ("information_shared", told_officer(referral), ["immigration status"]),
        ("signposting_given", None, []),
        ("information_shared", PERSON, ["signposting"]),
        ("case_closed", None, []),
        ("hold_lifted", HOLDS_REGISTER, ["hold lifted", "outcome"]),
        ("information_shared", PERSON, ["outcome of the case", "who decided, when and why"]),
        ("information_shared", told_officer(referral), ["outcome of the case", "who decided, when and why"]),
    ]
    [screened] = [e for e in record(running, case_id) if e.action == "screened"]
    assert screened.summary.startswith("status leave_to_remain (record found)")
    assert screening_triggers(running, case_id) == ["referral"]
    [received] = [e for e in record(running, case_id) if e.action == "information_received"]
    assert "(sharing delayed for protective measures)" in received.summary
    assert "person to be told" in received.summary


async def test_a_british_mother_keeps_the_hold_on_her_son_whose_status_is_not_known(running: Running) -> None:
    """Screening reads the person's records only. Amina found to be British would close the case, and with it
    the hold on her son, whose status nobody has checked: the case stays open, he stays held, and the case
    officer is asked to find out his status."""
    referral = amina()
    assert referral.dependants and referral.person.home_office_ref is not None
    load_records(
        running.engine,
        RecordsFile(immigration_status=[status_record(referral, ImmigrationStatus.british_citizen)]),
    )

    view = await refer(running, referral)
    case_id = view.case_id

    assert view.status_at_referral is ImmigrationStatus.british_citizen
    assert view.phase is Phase.protection and view.hold.active and view.outcome is None
    await eventually(lambda: "dependants_status_unknown" in actions(running, case_id))
    [task] = notices_to(running, case_id, "case_officer", "dependants_status")
    assert task.facts["dependants"] == "1"
    son = referral.dependants[0]
    result = await enforcement.check(
        running.client,
        running.keys,
        running.settings.task_queue,
        ENFORCEMENT,
        parse_person(f"{son.family_name}, {son.given_names}, {son.date_of_birth.isoformat()}", date.today()),
        "address visit planned",
    )
    assert not result.verdict.permitted and result.verdict.case_ids == [case_id]
    assert all(h.active for h in holds(running.engine, case_id).values())


async def test_asylum_dependants_split_from_the_perpetrators_claim_are_held_and_regularised_on_their_own(
    running: Running,
) -> None:
    """Review paras 35 and 39: a mother and two children, all dependants on her husband's asylum claim."""
    referral = variant(
        amina(),
        given="Noor",
        family="Jabbar",
        born=date(1991, 4, 9),
        ho_ref="HO-4410937",
        crime_reference="WMP/26/11/01033",
        suspected_offence_reason="Dependant on her husband's asylum claim; housed with him.",
        dependants=[
            Dependant(
                given_names="Sara", family_name="Jabbar", date_of_birth=date(2016, 2, 1), relationship="child"
            ),
            Dependant(
                given_names="Ali", family_name="Jabbar", date_of_birth=date(2019, 8, 23), relationship="child"
            ),
        ],
    )
    load_records(
        running.engine,
        RecordsFile(immigration_status=[status_record(referral, ImmigrationStatus.asylum_dependant)]),
    )
    view = await refer(running, referral)
    case_id = view.case_id

    given = [s.route for s in view.signposting]
    assert Route.split_dependant_claim in given
    # an asylum dependant is never sent to the consulate of the country she may be fleeing
    assert Route.consulate not in given and Route.domestic_abuse_concession not in given
    assert {s: h.active for s, h in holds(running.engine, case_id).items()} == {
        "person": True,
        "dependant-1": True,
        "dependant-2": True,
    }
    [received] = [e for e in record(running, case_id) if e.action == "information_received"]
    assert "2 dependant(s)" in received.shared_what
    assert "hold placed on the person and 2 dependant(s)" in summaries(running, case_id, "hold_placed")

    # Moved away from him; he is on bail with contact conditions. A check the holds register refused an
    # enforcement team is reported to the case officer.
    await cases.send(
        running.client,
        case_id,
        PoliceUpdate(
            actor=POLICE,
            investigation=InvestigationStatus.suspect_arrested,
            protective_measures="Family moved to other accommodation; suspect bailed, no contact.",
        ),
    )
    await reached(running, case_id, support=True)
    # an enforcement team asks about the younger child, by name and date of birth
    result = await enforcement.check(
        running.client,
        running.keys,
        running.settings.task_queue,
        ENFORCEMENT,
        parse_person("Jabbar, Ali, 2019-08-23", date.today()),
        "address visit planned",
    )
    assert not result.verdict.permitted and result.verdict.case_ids == [case_id]
    await eventually(lambda: "enforcement_check_refused" in actions(running, case_id))
    [check] = notices_to(running, case_id, "case_officer", "enforcement_check_refused")
    assert check.facts["check_id"] == result.check_id and check.channel == "internal"

    await later(running, case_id, 27)
    await reached(running, case_id)
    submitted = await cases.send(
        running.client,
        case_id,
        ApplicationEvent(actor=OFFICER, route=Route.split_dependant_claim, stage=ApplicationStage.submitted),
    )
    assert Ground.application_pending in submitted.view.hold.grounds
    for _ in range(3):
        await later(running, case_id, 27)
        view = await reached(running, case_id)
        assert view.phase is Phase.protection
        assert all(h.active for h in holds(running.engine, case_id).values())

    await cases.send(
        running.client,
        case_id,
        ApplicationEvent(actor=OFFICER, route=Route.split_dependant_claim, stage=ApplicationStage.granted),
    )
    await assert_closed_once(running, case_id, referral, Outcome.regularised, by="officer:NCCU-0042")
    assert "hold lifted on the person and 2 dependant(s): case regularised" in summaries(
        running, case_id, "hold_lifted"
    )


SERIOUS = [
    ExclusionIndicator.custodial_12_months,
    ExclusionIndicator.serious_harm,
    ExclusionIndicator.custodial_4_years,
    ExclusionIndicator.deportation_order,
]


async def open_serious_offender_case(running: Running) -> tuple[str, Referral]:
    """Marco Vidal as in examples/records.json: 54 months for wounding with intent, a deportation order."""
    load_example_records(running)
    referral = marco()
    view = await refer(running, referral)
    case_id = view.case_id
    assert view.phase is Phase.protection and view.hold.active
    assert view.exclusion_indicators == SERIOUS
    assert view.pending_decisions == ["exclusion"]
    assert Ground.exclusion_decision_pending in view.hold.grounds
    [required] = notices_to(running, case_id, "supervisors", "decision_required")
    assert required.facts["decision"] == "exclusion" and required.channel == "internal"
    assert required.facts["indicators"].split(",") == [i.value for i in SERIOUS]
    row = case_row(running, case_id)
    assert row.pending_decisions == ["exclusion"] and row.exclusion_indicators == [i.value for i in SERIOUS]
    # the person is still told of the protocol: an indicator never closes a case by itself
    assert notices_to(running, case_id, "person", "protocol_notice")
    return case_id, referral


async def test_serious_offender_stays_held_until_a_supervisor_confirms_the_exclusion(
    running: Running,
) -> None:
    """Review para 73: serious foreign national offenders are excluded, only by a supervisor's decision."""
    case_id, referral = await open_serious_offender_case(running)

    # The police drop their case: the pending decision alone keeps the hold, for as long as it takes.
    await cases.send(
        running.client,
        case_id,
        PoliceUpdate(actor=POLICE, investigation=InvestigationStatus.no_further_action),
    )
    await reached(running, case_id)
    await later(running, case_id, 20)
    view = await cases.state(running.client, case_id)
    assert view.phase is Phase.protection
    assert view.hold.grounds == [Ground.exclusion_decision_pending]
    assert holds(running.engine, case_id)["person"].grounds == ["exclusion_decision_pending"]

    for who in (POLICE, OFFICER):
        with pytest.raises(Refused, match="only supervisor may do this"):
            await cases.send(
                running.client,
                case_id,
                ExclusionDecision(actor=who, verdict="confirm", reason="serious offender, deport"),
            )
    refusals = [e for e in record(running, case_id) if e.action == "command_refused"]
    assert [e.actor for e in refusals] == ["police:WMP-4471:WMP", "officer:NCCU-0042"]
    assert all(e.summary.startswith("exclusion_decision refused: ") for e in refusals)
    assert (await cases.state(running.client, case_id)).pending_decisions == ["exclusion"]

    reason = "54 months for wounding with intent; deportation order in force (NIAA 2002 s.117C)."
    confirmed = await cases.send(
        running.client, case_id, ExclusionDecision(actor=SUPERVISOR, verdict="confirm", reason=reason)
    )
    assert confirmed.view.outcome is Outcome.excluded
    await assert_closed_once(running, case_id, referral, Outcome.excluded, by="supervisor:SUP-7")
    [decided] = [e for e in record(running, case_id) if e.action == "exclusion_confirmed"]
    assert decided.actor == "supervisor:SUP-7"


async def test_serious_offender_whose_exclusion_is_overridden_stays_protected_and_lives_on_normally(
    running: Running,
) -> None:
    """PROTOCOL §4: a supervisor may override an indicator with a reason; protection simply continues."""
    case_id, referral = await open_serious_offender_case(running)
    await reached(running, case_id, support=True)

    reason = "Offence 2021 committed under the perpetrator's coercion; key prosecution witness."
    overridden = await cases.send(
        running.client, case_id, ExclusionDecision(actor=SUPERVISOR, verdict="override", reason=reason)
    )
    view = overridden.view
    assert view.phase is Phase.protection and view.hold.active and view.pending_decisions == []
    assert view.hold.grounds == [Ground.investigation_live, Ground.receiving_support]
    assert view.exclusion_indicators == SERIOUS and view.exclusion_overridden  # still known; decided
    [decided] = [e for e in record(running, case_id) if e.action == "exclusion_overridden"]
    assert decided.actor == "supervisor:SUP-7"
    row = case_row(running, case_id)
    assert row.pending_decisions == [] and row.hold_active and row.phase == "protection"
    assert row.view["exclusion_overridden"] is True  # what the statistics count
    assert holds(running.engine, case_id)["person"].grounds == ["investigation_live", "receiving_support"]

    # Months go by. When the police report him a suspect, screening runs again and finds the same record:
    # the indicators already decided do not come back to a supervisor.
    for _ in range(2):
        await later(running, case_id, 27)
        await reached(running, case_id)
    await cases.send(running.client, case_id, PoliceUpdate(actor=POLICE, person_is_suspect=True))
    screenings = summaries(running, case_id, "screened")
    assert len(screenings) == 2
    assert screening_triggers(running, case_id)[1] == "person_became_suspect_or_charged"
    assert actions(running, case_id).count("exclusion_decision_required") == 1
    assert len(notices_to(running, case_id, "supervisors", "decision_required")) == 1

    await cases.send(
        running.client,
        case_id,
        ApplicationEvent(actor=OFFICER, route=Route.other, stage=ApplicationStage.submitted),
    )
    await later(running, case_id, 27)
    view = await reached(running, case_id)
    assert view.phase is Phase.protection and view.pending_decisions == [] and not view.contact_overdue
    await cases.send(
        running.client,
        case_id,
        ApplicationEvent(actor=OFFICER, route=Route.other, stage=ApplicationStage.granted),
    )
    await assert_closed_once(running, case_id, referral, Outcome.regularised, by="officer:NCCU-0042")
    assert kinds_to(running, case_id, "supervisors") == ["decision_required"]


async def test_witness_is_held_until_after_the_trial_then_engaged_and_released_only_by_a_supervisor(
    running: Running,
) -> None:
    """Review para 79: a witness due to give evidence; the hold outlasts the trial by the policy's margin,
    then pre-decision engagement (para 70), then a supervisor's release."""
    referral = variant(
        amina(),
        given="Samir",
        family="Haddad",
        born=date(1985, 10, 5),
        ho_ref="HO-6120044",
        crime_reference="WMP/26/11/01120",
        role=PersonRole.witness,
        crime_type=CrimeType.stalking_harassment,
        suspected_offence_reason="Says his student visa ran out last year.",
        additional_information=None,
        dependants=[],
    )
    load_records(
        running.engine,
        RecordsFile(
            immigration_status=[
                status_record(
                    referral,
                    ImmigrationStatus.no_status,
                    last_leave="student",
                    leave_expires=date(2025, 9, 30),
                )
            ]
        ),
    )
    view = await refer(running, referral)
    case_id = view.case_id
    assert Route.foreign_witness in [s.route for s in view.signposting]

    trial = (await case_time(running, case_id)).date() + timedelta(days=150)
    updated = await cases.send(
        running.client,
        case_id,
        PoliceUpdate(actor=POLICE, investigation=InvestigationStatus.awaiting_trial, trial_date=trial),
    )
    assert updated.view.hold.grounds == [Ground.investigation_live, Ground.route_clock]
    await reached(running, case_id)
    for _ in range(5):
        await later(running, case_id, 28)
        await reached(running, case_id)

    # Day 152: the trial is over and the investigation concluded; the witness clock still holds.
    await later(running, case_id, 12)
    concluded = await cases.send(
        running.client, case_id, PoliceUpdate(actor=POLICE, investigation=InvestigationStatus.concluded)
    )
    assert concluded.view.phase is Phase.protection
    assert concluded.view.hold.grounds == [Ground.route_clock]
    assert holds(running.engine, case_id)["person"].grounds == ["route_clock"]
    assert kinds_to(running, case_id, "person") == ["protocol_notice"]

    # Day 166: two weeks after the trial the clock has run out; no ground is left, so he is engaged.
    await later(running, case_id, 14)
    view = await reached(running, case_id)
    assert view.phase is Phase.engagement and view.hold.active
    assert view.hold.grounds == [Ground.engagement_notice]
    [engaged] = notices_to(running, case_id, "person", "engagement_notice")
    respond_by = datetime.fromisoformat(engaged.facts["respond_by"])
    assert (respond_by - datetime.combine(trial, time(0), UTC)).days == 14 + 28
    row = case_row(running, case_id)
    assert (row.phase, row.hold_active, row.hold_grounds) == ("engagement", True, ["engagement_notice"])
    assert all(h.active for h in holds(running.engine, case_id).values())

    with pytest.raises(Refused, match="pre-decision engagement has ended"):
        await cases.send(
            running.client, case_id, ReleaseDecision(actor=SUPERVISOR, reason="trial over, no grounds left")
        )

    # Day 194: the notice period ended with nothing new; a supervisor must decide.
    await later(running, case_id, 28)
    view = await cases.state(running.client, case_id)
    assert view.phase is Phase.awaiting_release and view.hold.active
    assert view.hold.grounds == [Ground.release_decision_pending] and view.pending_decisions == ["release"]
    [required] = notices_to(running, case_id, "supervisors", "decision_required")
    assert required.facts["decision"] == "release"
    with pytest.raises(Refused, match="only supervisor may do this"):
        await cases.send(
            running.client, case_id, ReleaseDecision(actor=OFFICER, reason="trial over, no grounds")
        )
    assert holds(running.engine, case_id)["person"].active

    reason = "Evidence given; no investigation, application, support or route left; engaged 28 days."
    await cases.send(running.client, case_id, ReleaseDecision(actor=SUPERVISOR, reason=reason))
    await assert_closed_once(running, case_id, referral, Outcome.hold_released, by="supervisor:SUP-7")
    entries = actions(running, case_id)
    order = [
        "engagement_started",
        "release_decision_required",
        "command_refused",
        "release_authorised",
        "case_closed",
    ]
    assert [a for a in entries if a in order] == order
    assert kinds_to(running, case_id, "person") == ["protocol_notice", "engagement_notice", "outcome"]


async def test_victim_who_becomes_a_suspect_is_screened_again_and_a_new_record_raises_an_exclusion_decision(
    running: Running,
) -> None:
    """PSNI answer; Review para 30: people move between victim, witness and suspect. The hold stays."""
    load_example_records(running)
    referral = amina()
    view = await refer(running, referral)
    case_id = view.case_id
    assert view.exclusion_indicators == [] and view.pending_decisions == []
    await reached(running, case_id, support=True)

    # A counter-allegation: screening runs again, finds nothing, the hold stays.
    suspect = await cases.send(running.client, case_id, PoliceUpdate(actor=POLICE, person_is_suspect=True))
    assert suspect.view.phase is Phase.protection and suspect.view.pending_decisions == []
    screenings = summaries(running, case_id, "screened")
    assert len(screenings) == 2
    assert screening_triggers(running, case_id) == ["referral", "person_became_suspect_or_charged"]
    assert screenings[1].startswith("status ") and "rules exclusion-2026.1" in screenings[1]
    assert screening_notes(running, case_id)[1].endswith("exclusion indicators: none")
    assert all("suspect" not in s for s in screenings)  # criminality detail only in the sealed note
    [update] = [e for e in record(running, case_id) if e.action == "police_update"]
    assert update.shared_what == ["investigation status", "suspect/charge"]

    # A month on, the Home Office record now shows an 18-month sentence; she is charged.
    await later(running, case_id, 27)
    await reached(running, case_id)
    load_records(
        running.engine,
        RecordsFile(
            criminal_records=[
                criminal_record(
                    referral,
                    Conviction(
                        offence="Fraud by false representation",
                        convicted_on=date(2023, 5, 2),
                        custodial=True,
                        sentence_months=18,
                    ),
                )
            ]
        ),
    )
    charged = await cases.send(running.client, case_id, PoliceUpdate(actor=POLICE, person_charged=True))
    view = charged.view
    assert view.phase is Phase.protection and view.hold.active
    assert view.exclusion_indicators == [ExclusionIndicator.custodial_12_months]
    assert view.pending_decisions == ["exclusion"]
    assert Ground.exclusion_decision_pending in view.hold.grounds
    screenings = summaries(running, case_id, "screened")
    assert len(screenings) == 3
    assert screening_triggers(running, case_id)[2] == "person_became_suspect_or_charged"
    assert "custodial_12_months" in screening_notes(running, case_id)[2]
    assert "custodial_12_months" not in screenings[2]  # criminality detail only in the sealed note
    [required] = notices_to(running, case_id, "supervisors", "decision_required")
    assert required.facts == {
        "case_id": case_id,
        "decision": "exclusion",
        "indicators": "custodial_12_months",
    }
    row = case_row(running, case_id)
    assert row.pending_decisions == ["exclusion"] and row.exclusion_indicators == ["custodial_12_months"]
    assert all(
        h.active and "exclusion_decision_pending" in h.grounds
        for h in holds(running.engine, case_id).values()
    )
    assert view.status_at_referral is ImmigrationStatus.no_status  # what she was at referral does not change
    assert_record_intact(running, case_id)
    assert_delivered_safely(running, case_id, referral)


async def test_person_who_stops_answering_is_escalated_every_interval_and_keeps_the_hold(
    running: Running,
) -> None:
    """PROTOCOL §7: first contact is due at referral, overdue 7 days later, escalated to supervisors then
    and again every 28 days while still overdue. Missed contact never lifts a hold."""
    load_example_records(running)
    referral = amina()
    view = await refer(running, referral)
    case_id = view.case_id
    overdue_since = view.opened_at + timedelta(days=7)
    assert view.next_contact_due == view.opened_at

    attempts = [  # days later, what happened, escalations so far
        (2, ContactResult.no_answer, 0),
        (8, ContactResult.unsafe_to_talk, 1),  # day 10: escalated on day 7
        (20, ContactResult.no_answer, 1),  # day 30
        (10, ContactResult.no_answer, 2),  # day 40: again on day 35
        (30, ContactResult.no_answer, 3),  # day 70: again on day 63
    ]
    for days, result, escalations in attempts:
        await later(running, case_id, days)
        sent = await cases.send(running.client, case_id, ContactRecord(actor=OFFICER, result=result))
        view = sent.view
        assert view.phase is Phase.protection and view.hold.active
        assert len(notices_to(running, case_id, "supervisors", "contact_overdue")) == escalations
        if escalations:
            assert view.contact_overdue and view.overdue_since == overdue_since
            row = case_row(running, case_id)
            assert row.contact_overdue and row.overdue_since == overdue_since and row.hold_active
            assert holds(running.engine, case_id)["person"].active

    await later(running, case_id, 25)  # day 95: again on day 91
    row = case_row(running, case_id)
    assert row.contact_overdue and row.overdue_since == overdue_since and row.phase == "protection"
    escalated = notices_to(running, case_id, "supervisors", "contact_overdue")
    assert len(escalated) == 4
    assert {n.facts["due"] for n in escalated} == {view.opened_at.isoformat()}
    assert {n.channel for n in escalated} == {"internal"}
    escalated_on = [
        e.at - view.opened_at for e in record(running, case_id) if e.action == "contact_overdue_escalated"
    ]
    assert [since.days for since in escalated_on] == [7, 35, 63, 91]
    assert summaries(running, case_id, "contact_recorded") == [
        "contact attempt: no_answer",
        "contact attempt: unsafe_to_talk",
        "contact attempt: no_answer",
        "contact attempt: no_answer",
        "contact attempt: no_answer",
    ]

    # She is reached at last: that meets the contact and clears the flag.
    cleared = await reached(running, case_id)
    now = await case_time(running, case_id)
    assert not cleared.contact_overdue and cleared.overdue_since is None
    assert cleared.next_contact_due is not None
    assert timedelta(days=27) < cleared.next_contact_due - now <= timedelta(days=28)
    row = case_row(running, case_id)
    assert not row.contact_overdue and row.overdue_since is None
    assert row.phase == "protection" and row.hold_active

    await later(running, case_id, 30)  # not yet overdue again: no new escalation
    assert len(notices_to(running, case_id, "supervisors", "contact_overdue")) == 4
    assert kinds_to(running, case_id, "person") == ["protocol_notice"]
    assert_record_intact(running, case_id)
    assert_delivered_safely(running, case_id, referral)


# --- withdrawal and reopening (PROTOCOL §6, §8; issue 8) ----------------------------------------------


async def test_police_withdrawing_while_an_application_is_pending_leaves_the_hold_until_engagement_and_release(
    running: Running,
) -> None:
    """Police withdrawing their referral ends the police ground only: the pending application keeps the
    hold; when it is refused, the case goes through engagement and only a supervisor releases it."""
    load_example_records(running)
    referral = amina()
    case_id = (await refer(running, referral)).case_id
    await cases.send(
        running.client,
        case_id,
        ApplicationEvent(
            actor=OFFICER, route=Route.appendix_victim_of_domestic_abuse, stage=ApplicationStage.submitted
        ),
    )

    withdrawn = await cases.send(
        running.client, case_id, Withdrawal(actor=POLICE, reason="Victim no longer supports the prosecution.")
    )
    assert withdrawn.accepted == "referral withdrawn: the hold stays on application_pending"
    view = withdrawn.view
    assert view.phase is Phase.protection and view.hold.active and view.outcome is None
    assert view.hold.grounds == [Ground.application_pending]
    assert view.investigation is InvestigationStatus.referral_withdrawn
    assert all(h.active for h in holds(running.engine, case_id).values())
    assert case_row(running, case_id).hold_grounds == ["application_pending"]
    assert "referral_withdrawn" in actions(running, case_id) and "case_closed" not in actions(
        running, case_id
    )

    refused = await cases.send(
        running.client,
        case_id,
        ApplicationEvent(
            actor=OFFICER,
            route=Route.appendix_victim_of_domestic_abuse,
            stage=ApplicationStage.refused,
            number=1,
        ),
    )
    assert refused.view.phase is Phase.engagement and refused.view.hold.active
    assert notices_to(running, case_id, "person", "engagement_notice")
    with pytest.raises(Refused):  # no release before the notice period has run
        await cases.send(
            running.client, case_id, ReleaseDecision(actor=SUPERVISOR, reason="No ground after withdrawal.")
        )

    await later(running, case_id, 29)
    view = await cases.state(running.client, case_id)
    assert view.phase is Phase.awaiting_release and view.hold.active
    assert view.hold.grounds == [Ground.release_decision_pending]
    await cases.send(
        running.client, case_id, ReleaseDecision(actor=SUPERVISOR, reason="No ground after engagement.")
    )
    await assert_closed_once(running, case_id, referral, Outcome.hold_released, by="supervisor:SUP-7")


async def test_a_referral_made_in_error_with_no_other_ground_closes_as_withdrawn_and_a_supervisor_can_reopen_it(
    running: Running,
) -> None:
    """A referral made in error, nothing else protecting the person: closed as withdrawn at once. It was the
    wrong case: a supervisor reopens it, the hold is back on the person and the dependant, the officer is
    told, and with no ground the case goes through engagement like any other."""
    load_example_records(running)
    referral = amina()
    case_id = (await refer(running, referral)).case_id

    closed = await cases.send(
        running.client,
        case_id,
        Withdrawal(actor=POLICE, reason="Referred under the wrong crime reference.", made_in_error=True),
    )
    assert closed.view.outcome is Outcome.withdrawn
    await assert_closed_once(running, case_id, referral, Outcome.withdrawn, by="police:WMP-4471:WMP")

    with pytest.raises(Refused):  # only a supervisor reopens
        await cases.send(
            running.client, case_id, Reopen(actor=OFFICER, reason="The wrong case was withdrawn.")
        )
    await later(running, case_id, 3)
    reopened = await cases.send(
        running.client, case_id, Reopen(actor=SUPERVISOR, reason="The police withdrew the wrong case.")
    )
    view = reopened.view
    assert view.hold.active and view.outcome is None and view.closed_at is None
    assert view.phase is Phase.engagement and view.hold.grounds == [Ground.engagement_notice]
    subjects = holds(running.engine, case_id)
    assert set(subjects) == {"person", "dependant-1"}
    for row in subjects.values():
        assert row.active and row.lifted_at is None and row.lifted_by is None
        assert row.grounds == ["engagement_notice"]
    got = case_row(running, case_id)
    assert (got.phase, got.outcome, got.hold_active, got.closed_at) == ("engagement", None, True, None)
    [entry] = [e for e in record(running, case_id) if e.action == "case_reopened"]
    assert entry.actor == "supervisor:SUP-7" and entry.summary == "reopened: it had closed as withdrawn"
    [told] = notices_to(running, case_id, "case_officer", "case_reopened")
    assert told.facts["previous_outcome"] == "withdrawn" and told.channel == "internal"
    assert_record_intact(running, case_id)


async def test_an_asylum_claim_found_at_screening_keeps_the_hold_after_police_take_no_further_action(
    running: Running,
) -> None:
    """Issue 8 item 3: the records say the person has an asylum claim pending; that is a ground of its own."""
    referral = variant(
        amina(),
        given="Hana",
        family="Osei",
        born=date(1994, 3, 12),
        ho_ref="HO-5127740",
        crime_reference="WMP/26/11/01207",
        dependants=[],
    )
    load_records(
        running.engine,
        RecordsFile(immigration_status=[status_record(referral, ImmigrationStatus.asylum_claimant)]),
    )
    view = await refer(running, referral)
    case_id = view.case_id
    assert view.status_at_referral is ImmigrationStatus.asylum_claimant
    assert view.hold.grounds == [Ground.investigation_live, Ground.application_pending]

    nfa = await cases.send(
        running.client,
        case_id,
        PoliceUpdate(actor=POLICE, investigation=InvestigationStatus.no_further_action),
    )
    assert nfa.view.phase is Phase.protection and nfa.view.hold.grounds == [Ground.application_pending]
    assert notices_to(running, case_id, "person", "engagement_notice") == []
    assert all(h.active for h in holds(running.engine, case_id).values())


# --- a case that lives for years -------------------------------------------------------------------

# Small enough that a case continues-as-new several times in the test; Temporal's default is thousands.
SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS = 120


@pytest.fixture
async def short_histories(
    request: pytest.FixtureRequest, settings: Settings, keys: Keys, engine: Engine
) -> AsyncIterator[Running]:
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
        config["data_converter"] = data_converter(keys.keyring, keys.case_keys)
        client = Client(**config)
        with httpx.Client() as http, ThreadPoolExecutor(max_workers=8) as executor:
            worker = make_worker(
                client, settings.task_queue, build_activities(settings, engine, keys, http), executor
            )
            thread, stop = build_dispatcher(settings, engine, keys).start()  # as `worker.serve` runs it
            try:
                async with worker:
                    yield Running(client=client, env=env, settings=settings, keys=keys, engine=engine)
                    if records_history(request):
                        await record_histories(client, settings.task_queue, request.node.name)
            finally:
                stop.set()
                thread.join()
    finally:
        await env.shutdown()


async def test_a_case_lives_for_two_years_across_continue_as_new_with_its_whole_state(
    short_histories: Running,
) -> None:
    """PROTOCOL §1: the hold has no time limit. Two years of contacts every 28 days, police updates and an
    appeal; the workflow continues-as-new along the way and forgets nothing."""
    running = short_histories
    load_example_records(running)
    referral = amina()
    opened = await refer(running, referral)
    case_id = opened.case_id
    first_run = (await running.client.get_workflow_handle(case_id).describe()).run_id

    await reached(running, case_id, support=True)
    await cases.send(
        running.client, case_id, RouteStarted(actor=OFFICER, route=Route.domestic_abuse_concession)
    )
    police = iter(
        [
            InvestigationStatus.charged,
            InvestigationStatus.awaiting_trial,
            InvestigationStatus.at_trial,
            InvestigationStatus.concluded,
        ]
    )
    application = [
        (2, ApplicationStage.submitted),
        (10, ApplicationStage.refused),
        (11, ApplicationStage.appeal_lodged),
    ]
    for month in range(1, 27):
        await later(running, case_id, 28)
        await reached(running, case_id)
        if month % 5 == 0:
            status = next(police, None)
            if status is not None:
                await cases.send(running.client, case_id, PoliceUpdate(actor=POLICE, investigation=status))
        for at, stage in application:
            if at == month:
                await cases.send(
                    running.client,
                    case_id,
                    ApplicationEvent(
                        actor=OFFICER,
                        route=Route.appendix_victim_of_domestic_abuse,
                        stage=stage,
                        number=None if stage is ApplicationStage.submitted else 1,
                    ),
                )

    handle = running.client.get_workflow_handle(case_id)
    assert (await handle.describe()).run_id != first_run, "the case never continued-as-new"
    first = running.client.get_workflow_handle(case_id, run_id=first_run)
    history = await first.fetch_history()
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW

    view = await cases.state(running.client, case_id)
    assert view.phase is Phase.protection and view.hold.active
    assert view.hold.grounds == [Ground.application_pending, Ground.receiving_support]
    assert view.investigation is InvestigationStatus.concluded
    assert [(a.number, a.stage) for a in view.applications] == [(1, ApplicationStage.appeal_lodged)]
    assert view.opened_at == opened.opened_at and view.referred_at == opened.referred_at
    assert view.signposting == opened.signposting and view.policy_version == opened.policy_version
    assert view.status_at_referral is ImmigrationStatus.no_status and not view.contact_overdue
    assert view.closed_at is None and (await case_time(running, case_id)) - opened.opened_at > timedelta(
        days=720
    )

    entries = record(running, case_id)
    assert_record_intact(running, case_id)
    assert [e.action for e in entries].count("contact_recorded") == 27
    assert [e.action for e in entries].count("police_update") == 4
    assert [e.action for e in entries].count("screened") == 1
    assert kinds_to(running, case_id, "supervisors") == []
    assert kinds_to(running, case_id, "person") == ["protocol_notice"]
    row = case_row(running, case_id)
    assert row.revision == view.revision and row.hold_grounds == ["application_pending", "receiving_support"]
    assert all(h.active for h in holds(running.engine, case_id).values())
    assert_delivered_safely(running, case_id, referral)


async def test_commands_sent_while_a_case_continues_as_new_are_all_applied_and_its_holds_stay(
    short_histories: Running,
) -> None:
    """A burst of police updates around the point where the server suggests continue-as-new: the run finishes
    the updates it has accepted before it continues, the new run takes the rest, none is lost or applied
    twice, and the holds stay in force throughout."""
    running = short_histories
    load_example_records(running)
    opened = await refer(running, amina())
    case_id = opened.case_id
    first_run = (await running.client.get_workflow_handle(case_id).describe()).run_id

    # eight in flight at a time: a burst across the continue-as-new, yet each answered within the API's bound on a
    # machine that the rest of the suite keeps busy (thirty at once could wait past it there)
    in_flight = asyncio.Semaphore(8)
    updates = 45

    async def police(n: int) -> None:
        async with in_flight:
            await cases.send(
                running.client,
                case_id,
                PoliceUpdate(actor=POLICE, protective_measures=f"Protective measures reviewed (review {n})."),
            )

    await asyncio.gather(
        *(police(n) for n in range(1, updates + 1))
    )  # the history passes 120 events mid-burst

    deadline = asyncio.get_running_loop().time() + 30
    while (await running.client.get_workflow_handle(case_id).describe()).run_id == first_run:
        assert asyncio.get_running_loop().time() < deadline, "the case did not continue as new"
        await asyncio.sleep(0.2)
    entries = record(running, case_id)
    assert [e.action for e in entries].count("police_update") == updates
    assert_record_intact(running, case_id)
    view = await cases.state(running.client, case_id)
    assert view.phase is Phase.protection and view.hold.active
    assert all(h.active for h in holds(running.engine, case_id).values())
    assert case_row(running, case_id).revision == view.revision
