"""`mvp report` reproduces the figures the Review published (paras 60–61) from the read model.

The population is built the way the workflow builds it: each case goes through `protocol.lifecycle`
(open, screen from Home Office records, then commands and the clock) and every step is written by the
workflow's own activity, `CaseStore.persist_step`, with the view `lifecycle.view` gives at that moment.
The expected figures are derived from the generator's inputs below, never by counting what was written.
"""

from __future__ import annotations

import csv
import io
import json
import random
import secrets
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from alembic import command as alembic
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from activities.store import CaseStore
from infra.db import alembic_config, engine_for
from infra.keys import Keyring, Keys
from models.case import (
    Actor,
    ActorRole,
    ApplicationEvent,
    ApplicationStage,
    CaseCommand,
    CaseState,
    ContactRecord,
    ContactResult,
    DepartureRecord,
    ExclusionDecision,
    InvestigationStatus,
    Outcome,
    PoliceUpdate,
    ReleaseDecision,
    Route,
    Withdrawal,
)
from models.records import Conviction, CriminalRecord, ImmigrationStatus, ImmigrationStatusRecord
from models.referral import Referral
from models.tables import EnforcementCheckRow
from protocol import authority, lifecycle, statistics
from protocol.hold import PENDING_STATUS
from protocol.intake import parse_referral
from protocol.policy import policy
from protocol.screening import screen
from protocol.signposting import signposting
from protocol.statistics import (
    FIGURE_NAMES,
    SUPPRESSED,
    ApplicationFact,
    CaseFacts,
    EnforcementFact,
    EnforcementKind,
    Grouping,
)
from tests.conftest import EXAMPLES
from tests.support.api import api_settings, serving_api
from tests.support.inprocess import mvp, point_cli_at
from usecases.report import REFERRAL_WITHDRAWN, build_report

POLICY = policy()
OFFICER = Actor(role=ActorRole.officer, id="NCCU-0042")
SUPERVISOR = Actor(role=ActorRole.supervisor, id="NCCU-SUP-7")
START = datetime(2020, 4, 1, tzinfo=UTC)
END = datetime(2021, 4, 1, tzinfo=UTC)
FORCES = ["WMP", "MPS", "GMP", "WYP", "NTH"]
DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)

# --- the generator's inputs: the Review's population, person by person ------------------------------
#
# Status at referral (para 60): 30 leave to remain, 22 EU/EEA, 12 British, and the other 147 no status.
# British and EU Settlement Scheme people, and 12 of those with leave (long leave in their own right),
# are secure: their cases close as *status confirmed* at screening. The other 18 with leave have leave
# as a partner, which is never secure.
BRITISH = 12
EU = 22
LEAVE_SECURE = 12
LEAVE_APPLICANTS = 10
LEAVE_YET_TO_APPLY = 5
LEAVE_RELEASED = 3  # no application; police took no further action; the hold was released after engagement
NO_STATUS_APPLICANTS = 82
NO_STATUS_DEPARTED = 1
NO_STATUS_YET_TO_APPLY = 30
NO_STATUS_WITHDRAWN = 20
NO_STATUS_RELEASED = 12
NO_STATUS_EXCLUDED = 2  # a supervisor confirmed the exclusion
# Para 61: 92 applicants, 39 within one month; 56 granted (8 after a first application was rejected),
# 26 awaiting (14 submitted, 6 with a review and 6 with an appeal lodged against a refusal), 2 refused,
# 8 rejected. The Review's 35 "yet to apply" are the 5 + 30 still-open cases with leave or no status
# and no application; the other 49 people with leave or no status and no application are accounted
# for by the cases that closed (secure leave, released, withdrawn, excluded, departed).
GRANTED_DIRECTLY = 48
GRANTED_AFTER_REJECTION = 8
AWAITING_SUBMITTED = 14
AWAITING_REVIEW = 6
AWAITING_APPEAL = 6
REFUSED = 2
REJECTED = 8
# When the first application was made, after the referral: 36 the same month, 3 exactly on the
# one-month boundary (within), 3 a minute after it (not within), and 50 later.
FIRST_APPLICATION_SOON = 36
FIRST_APPLICATION_ON_BOUNDARY = 3
FIRST_APPLICATION_JUST_LATE = 3
FIRST_APPLICATION_LATE = 50
# Beyond the Review
OVERRIDDEN_APPLICANTS = 3  # no-status applicants with exclusion indicators a supervisor overrode
OVERDUE_YET_TO_APPLY = 7  # open cases whose last contact is long past
OVERDUE_AWAITING = 2
POLICE_WITHDREW_AWAITING = 2  # police withdrew the referral; the pending application keeps the hold
REFUSED_CHECKS = 3  # enforcement checks refused on two cohort cases (and one outside the period)

REVIEW = {  # paras 60–61, as published
    "referrals": 211,
    "status_leave_to_remain": 30,
    "status_eu_eea": 22,
    "status_british_citizen": 12,
    "applications_made": 92,
    "applications_within_one_month": 39,
    "granted": 56,
    "awaiting_decision": 26,
    "refused": 2,
    "rejected": 8,
    "yet_to_apply": 35,
    "voluntary_departures": 1,
    "detained": 0,
    "removed": 0,
}


def expected_figures() -> dict[str, int]:
    """The Review period's figures, from the constants above and, for the split of "no status" and the
    closures in the period, from each planned person's inputs (their record, when their closing event is
    planned)."""
    leave = LEAVE_SECURE + LEAVE_APPLICANTS + LEAVE_YET_TO_APPLY + LEAVE_RELEASED
    no_status = (
        NO_STATUS_APPLICANTS
        + NO_STATUS_DEPARTED
        + NO_STATUS_YET_TO_APPLY
        + NO_STATUS_WITHDRAWN
        + NO_STATUS_RELEASED
        + NO_STATUS_EXCLUDED
    )
    no_record = sum(1 for plan in review_population() if plan.status is None)
    awaiting = AWAITING_SUBMITTED + AWAITING_REVIEW + AWAITING_APPEAL
    still_open = LEAVE_YET_TO_APPLY + NO_STATUS_YET_TO_APPLY + awaiting + REFUSED + REJECTED
    values = {
        "referrals": BRITISH + EU + leave + no_status,
        "status_leave_to_remain": leave,
        "status_eu_eea": EU,
        "status_british_citizen": BRITISH,
        "status_no_status": no_status - no_record,
        "status_no_record": no_record,
        "status_not_screened": 0,
        "applications_made": LEAVE_APPLICANTS + NO_STATUS_APPLICANTS,
        "applications_within_one_month": FIRST_APPLICATION_SOON + FIRST_APPLICATION_ON_BOUNDARY,
        "granted": GRANTED_DIRECTLY + GRANTED_AFTER_REJECTION,
        "awaiting_decision": awaiting,
        "refused": REFUSED,
        "rejected": REJECTED,
        "applications_withdrawn": 0,
        "closed_undecided": 0,
        "yet_to_apply": LEAVE_YET_TO_APPLY + NO_STATUS_YET_TO_APPLY,
        "voluntary_departures": NO_STATUS_DEPARTED,
        "detained": 0,
        "removed": 0,
        "referrals_withdrawn": NO_STATUS_WITHDRAWN + POLICE_WITHDREW_AWAITING,
        "outcome_open": still_open,
        "outcome_regularised": GRANTED_DIRECTLY + GRANTED_AFTER_REJECTION,
        "outcome_status_confirmed": BRITISH + EU + LEAVE_SECURE,
        "outcome_excluded": NO_STATUS_EXCLUDED,
        "outcome_departed": NO_STATUS_DEPARTED,
        "outcome_hold_released": LEAVE_RELEASED + NO_STATUS_RELEASED,
        "outcome_withdrawn": NO_STATUS_WITHDRAWN,
        "holds_in_force": still_open,
        "enforcement_checks_refused": REFUSED_CHECKS,
        "contacts_overdue": OVERDUE_YET_TO_APPLY + OVERDUE_AWAITING,
        "exclusions_confirmed": NO_STATUS_EXCLUDED,
        "exclusions_overridden": OVERRIDDEN_APPLICANTS,
        **expected_closures(review_population() + outside_the_period(), START, END),
    }
    assert set(values) == set(FIGURE_NAMES)
    return {name: values[name] for name in FIGURE_NAMES}


def expected_closures(plans: list[Plan], start: datetime, end: datetime) -> dict[str, int]:
    """Closures in [start, end), whenever referred: each plan's closing event, where it has one."""
    closures = {"closed_in_period": 0, **{f"closed_{o.value}": 0 for o in Outcome}}
    for plan in plans:
        if plan.closes is not None and start <= plan.referred_at + plan.closes[0] < end:
            closures["closed_in_period"] += 1
            closures[f"closed_{plan.closes[1].value}"] += 1
    return closures


def test_the_generators_inputs_are_the_reviews_numbers() -> None:
    expected = expected_figures()
    assert {name: expected[name] for name in REVIEW} == REVIEW
    applicants = expected["applications_made"]
    firsts = FIRST_APPLICATION_SOON + FIRST_APPLICATION_ON_BOUNDARY + FIRST_APPLICATION_JUST_LATE
    assert firsts + FIRST_APPLICATION_LATE == applicants
    assert expected["granted"] + expected["awaiting_decision"] + REFUSED + REJECTED == applicants
    outcomes = sum(expected[name] for name in FIGURE_NAMES if name.startswith("outcome_"))
    assert outcomes == expected["referrals"]
    # some closures fall after the period and one case referred before it closes in it: the two
    # views of the period differ, as they should
    assert expected["closed_in_period"] != expected["referrals"] - expected["outcome_open"]


# --- building the cases through the lifecycle ---------------------------------------------------------

Event = Callable[[CaseState], CaseCommand | None]  # None: let the clock tick


@dataclass
class Plan:
    n: int
    referred_at: datetime
    status: ImmigrationStatus | None  # None: no Home Office record matched
    last_leave: str | None = None
    indicators: bool = False
    story: str = ""
    events: list[tuple[timedelta, Event]] = field(default_factory=list)
    closes: tuple[timedelta, Outcome] | None = None  # when (after the referral) and how the case closes
    screened: bool = True  # False: the Home Office records are never read (screening not finished)

    @property
    def case_id(self) -> str:
        return f"MVP-R{self.n:04d}-2021A"

    @property
    def force(self) -> str:
        return FORCES[self.n % len(FORCES)]

    def at(self, offset: timedelta, event: Event) -> Plan:
        self.events.append((offset, event))
        return self

    def closing(self, offset: timedelta, outcome: Outcome) -> Plan:
        self.closes = (offset, outcome)
        return self


def command(make: Callable[[], CaseCommand]) -> Event:
    return lambda _state: make()


def tick() -> Event:
    return lambda _state: None


CONTACT = command(lambda: ContactRecord(actor=OFFICER, result=ContactResult.reached))


def application(stage: ApplicationStage, number: int | None = None) -> Event:
    route = Route.appendix_victim_of_domestic_abuse
    return command(lambda: ApplicationEvent(actor=OFFICER, route=route, stage=stage, number=number))


def police_withdrawal(plan: Plan, in_error: bool) -> Event:
    police = Actor(role=ActorRole.police, id="PC-4471", force=plan.force)
    reason = "referral made in error" if in_error else "the victim no longer supports a prosecution"
    return command(lambda: Withdrawal(actor=police, reason=reason, made_in_error=in_error))


def no_further_action() -> Event:
    return command(lambda: PoliceUpdate(actor=OFFICER, investigation=InvestigationStatus.no_further_action))


def exclusion(verdict: str) -> Event:
    return command(
        lambda: ExclusionDecision(actor=SUPERVISOR, verdict=verdict, reason=f"{verdict}: reviewed the record")
    )


def release() -> Event:
    return command(lambda: ReleaseDecision(actor=SUPERVISOR, reason="engagement over, no new grounds"))


def base_referral() -> Referral:
    raw = json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text())
    referral, problems = parse_referral(raw, datetime(2026, 11, 20, tzinfo=UTC))
    assert referral is not None, problems
    return referral


def referred_at(n: int, total: int) -> datetime:
    """Spread over the Review's year, the first on its first moment and none on or after its end."""
    return START + (END - START - HOUR) * n / total


def review_population() -> list[Plan]:
    """The 211 people, in a fixed order, each with the story that gives their figures."""
    plans: list[Plan] = []

    def add(
        story: str, count: int, status: Callable[[int], ImmigrationStatus | None], leave: str | None = None
    ) -> list[Plan]:
        first = len(plans)
        made = [Plan(first + i, START, status(first + i), leave, story=story) for i in range(count)]
        plans.extend(made)
        return made

    def no_status(n: int) -> ImmigrationStatus | None:
        # "no status" in the Review's sense, as the Home Office records have it
        if n % 7 == 0:
            return None  # no record matched: status unknown
        if n % 11 == 0:
            return ImmigrationStatus.asylum_claimant
        if n % 13 == 0:
            return ImmigrationStatus.pending_application
        return ImmigrationStatus.no_status

    def nothing_pending(n: int) -> ImmigrationStatus | None:
        # no status, and no application or claim pending either: that would be a ground of its own
        status = no_status(n)
        return ImmigrationStatus.no_status if status in PENDING_STATUS else status

    leave = ImmigrationStatus.leave_to_remain
    partner = "partner_of_settled_person"
    add("secure", BRITISH, lambda n: ImmigrationStatus.british_citizen)
    add("secure", EU, lambda n: ImmigrationStatus.eu_settlement_scheme)
    add("secure", LEAVE_SECURE, lambda n: leave, "skilled_worker")
    leave_applicants = add("applicant", LEAVE_APPLICANTS, lambda n: leave, partner)
    leave_yet = add("yet to apply", LEAVE_YET_TO_APPLY, lambda n: leave, partner)
    leave_released = add("released", LEAVE_RELEASED, lambda n: leave, partner)
    no_status_applicants = add("applicant", NO_STATUS_APPLICANTS, no_status)
    departed = add("departed", NO_STATUS_DEPARTED, no_status)
    no_status_yet = add("yet to apply", NO_STATUS_YET_TO_APPLY, no_status)
    withdrawn = add("withdrawn", NO_STATUS_WITHDRAWN, nothing_pending)
    released = add("released", NO_STATUS_RELEASED, nothing_pending)
    excluded = add("excluded", NO_STATUS_EXCLUDED, no_status)
    assert len(plans) == 211

    for plan in plans:
        plan.referred_at = referred_at(plan.n, len(plans))
        if plan.story != "secure":
            plan.at(HOUR, CONTACT)  # first contact, the day of the referral
        else:
            plan.closing(MINUTE, Outcome.status_confirmed)  # at screening

    for plan in excluded:
        plan.indicators = True
        plan.at(2 * DAY, exclusion("confirm")).closing(2 * DAY, Outcome.excluded)
    for plan in withdrawn:
        plan.at(5 * DAY, police_withdrawal(plan, in_error=True)).closing(5 * DAY, Outcome.withdrawn)
    for plan in departed:
        plan.at(60 * DAY, command(lambda: DepartureRecord(actor=OFFICER)))
        plan.closing(60 * DAY, Outcome.departed)
    for plan in leave_released + released:
        # no ground left: pre-decision engagement, its notice period, then a supervisor releases
        plan.at(20 * DAY, no_further_action()).at(48 * DAY + MINUTE, tick()).at(50 * DAY, release())
        plan.closing(50 * DAY, Outcome.hold_released)
    for i, plan in enumerate(leave_yet + no_status_yet):
        if i < OVERDUE_YET_TO_APPLY:
            plan.at(400 * DAY, tick())  # no contact since the first: overdue
        else:
            plan.at(400 * DAY, CONTACT)

    applicants = leave_applicants + no_status_applicants
    for plan in no_status_applicants[:OVERRIDDEN_APPLICANTS]:
        plan.indicators = True
        plan.at(90 * MINUTE, exclusion("override"))
    firsts = (
        [timedelta(days=i % 30, hours=2) for i in range(FIRST_APPLICATION_SOON)]
        + [POLICY.application_within] * FIRST_APPLICATION_ON_BOUNDARY
        + [POLICY.application_within + MINUTE] * FIRST_APPLICATION_JUST_LATE
        + [timedelta(days=40 + 3 * i) for i in range(FIRST_APPLICATION_LATE)]
    )
    stories: list[Callable[[Plan, timedelta], None]] = (
        [_granted] * GRANTED_DIRECTLY
        + [_granted_after_rejection] * GRANTED_AFTER_REJECTION
        + [_awaiting(())] * (AWAITING_SUBMITTED - OVERDUE_AWAITING - POLICE_WITHDREW_AWAITING)
        + [_awaiting((), police_withdrew=True)] * POLICE_WITHDREW_AWAITING
        + [_awaiting((), overdue=True)] * OVERDUE_AWAITING
        + [_awaiting((ApplicationStage.refused, ApplicationStage.review_lodged))] * AWAITING_REVIEW
        + [_awaiting((ApplicationStage.refused, ApplicationStage.appeal_lodged))] * AWAITING_APPEAL
        + [_awaiting((ApplicationStage.refused,))] * REFUSED
        + [_awaiting((ApplicationStage.rejected,))] * REJECTED
    )
    random.Random(60).shuffle(firsts)  # spread the timing across the outcomes, reproducibly
    for plan, first, story in zip(applicants, firsts, stories, strict=True):
        plan.at(first, application(ApplicationStage.submitted))
        story(plan, first)
    return plans


def _granted(plan: Plan, first: timedelta) -> None:
    plan.at(first + 60 * DAY, application(ApplicationStage.granted))
    plan.closing(first + 60 * DAY, Outcome.regularised)


def _granted_after_rejection(plan: Plan, first: timedelta) -> None:
    plan.at(first + 20 * DAY, application(ApplicationStage.rejected))
    plan.at(first + 30 * DAY, application(ApplicationStage.submitted))
    plan.at(first + 90 * DAY, application(ApplicationStage.granted, number=2))
    plan.closing(first + 90 * DAY, Outcome.regularised)


def _awaiting(
    stages: tuple[ApplicationStage, ...], overdue: bool = False, police_withdrew: bool = False
) -> Callable[[Plan, timedelta], None]:
    def story(plan: Plan, first: timedelta) -> None:
        for k, stage in enumerate(stages, start=1):
            plan.at(first + 60 * k * DAY, application(stage))
        if police_withdrew:  # ends the police ground only: the application still protects
            plan.at(first + 10 * DAY, police_withdrawal(plan, in_error=False))
        plan.at(400 * DAY, tick() if overdue else CONTACT)

    return story


def outside_the_period() -> list[Plan]:
    """Referred a second before the period and on its first excluded moment: counted nowhere."""
    before = Plan(n=900, referred_at=START - timedelta(seconds=1), status=ImmigrationStatus.no_status)
    after = Plan(n=901, referred_at=END, status=ImmigrationStatus.leave_to_remain, last_leave="partner")
    for plan in (before, after):
        plan.at(HOUR, CONTACT).at(2 * HOUR, application(ApplicationStage.submitted))
    before.at(DAY, command(lambda: DepartureRecord(actor=OFFICER))).closing(DAY, Outcome.departed)
    return [before, after]


NEXT_MONTH = (END, END + 30 * DAY)


def the_next_month() -> list[Plan]:
    """April 2021, after the Review: a few cases that tell its rows apart. With the one referred on the
    period's first excluded moment (`outside_the_period`), whose application is awaiting a decision."""
    referred = END + 2 * DAY
    withdrew_application = Plan(910, referred, ImmigrationStatus.no_status)
    withdrew_application.at(HOUR, CONTACT).at(DAY, application(ApplicationStage.submitted))
    withdrew_application.at(10 * DAY, application(ApplicationStage.withdrawn, number=1))
    police_withdrew = Plan(911, referred, ImmigrationStatus.no_status)
    police_withdrew.at(HOUR, CONTACT).at(DAY, application(ApplicationStage.submitted))
    police_withdrew.at(5 * DAY, police_withdrawal(police_withdrew, in_error=False))
    in_error = Plan(912, referred, None)  # no Home Office record found
    in_error.at(HOUR, CONTACT).at(5 * DAY, police_withdrawal(in_error, in_error=True))
    in_error.closing(5 * DAY, Outcome.withdrawn)
    unscreened = Plan(913, referred, None, screened=False)
    return [withdrew_application, police_withdrew, in_error, unscreened]


NEXT_MONTH_FIGURES = {  # the_next_month() and the plan referred at END
    "referrals": 5,
    "status_leave_to_remain": 1,  # 901
    "status_no_status": 2,  # 910, 911
    "status_no_record": 1,  # 912
    "status_not_screened": 1,  # 913
    "applications_made": 3,  # 901, 910, 911
    "applications_within_one_month": 3,
    "awaiting_decision": 2,  # 901, 911: police withdrawing does not end an application
    "applications_withdrawn": 1,  # 910 withdrew their application; the referral stands
    "yet_to_apply": 1,  # 913, still being screened
    "referrals_withdrawn": 2,  # 911 (the hold stays), 912 (in error, closed)
    "outcome_open": 4,
    "outcome_withdrawn": 1,  # 912
    "holds_in_force": 4,
    "enforcement_checks_refused": 1,  # on 901 (`refused_checks`)
}


def next_month_figures() -> dict[str, int]:
    """The month's referrals above, and the month's closures: 912's, and those of the Review's people
    whose cases closed in April 2021."""
    everyone = review_population() + outside_the_period() + the_next_month()
    closures = expected_closures(everyone, *NEXT_MONTH)
    assert closures["closed_withdrawn"] == 1  # 912
    assert closures["closed_in_period"] > 1
    return dict.fromkeys(FIGURE_NAMES, 0) | NEXT_MONTH_FIGURES | closures


def build(plan: Plan, store: CaseStore, template: Referral) -> None:
    """Carry the plan out as the workflow would: every step through the lifecycle, written by the
    workflow's activity with the view as of that step."""
    t0 = plan.referred_at
    officer = template.referring_officer.model_copy(update={"force_code": plan.force})
    person = template.person.model_copy(
        update={"given_names": f"Person {plan.n}", "home_office_ref": f"HO-{plan.n}"}
    )
    referral = template.model_copy(
        update={
            "received_at": t0,
            "referring_officer": officer,
            "person": person,
            "crime_reference": f"{plan.force}/20/{plan.n:05d}",
            # the Review counts people: a dependant whose status is unknown would keep a secure case open
            "dependants": [],
        }
    )

    def persist(step: lifecycle.Step, now: datetime, opening: bool = False) -> CaseState:
        store.persist_step(lifecycle.written(step, now, opening=opening))  # as the workflow writes it
        return step.state

    state = persist(lifecycle.open_case(plan.case_id, referral, OFFICER, t0, POLICY), t0, opening=True)
    if not plan.screened:
        return
    now = t0 + MINUTE
    status = None
    if plan.status is not None:
        status = ImmigrationStatusRecord(
            home_office_ref=f"HO-{plan.n}",
            given_names=person.given_names,
            family_name=person.family_name,
            date_of_birth=person.date_of_birth,
            status=plan.status,
            last_leave=plan.last_leave,
            leave_expires=(t0 + 900 * DAY).date() if plan.last_leave else None,
        )
    criminality = None
    if plan.indicators:
        conviction = Conviction(
            offence="assault", convicted_on=date(2015, 1, 5), custodial=True, sentence_months=18
        )
        criminality = CriminalRecord(
            home_office_ref=f"HO-{plan.n}",
            given_names=person.given_names,
            family_name=person.family_name,
            date_of_birth=person.date_of_birth,
            convictions=[conviction],
        )
    screening = screen(status, criminality, now, POLICY)
    routes = signposting(referral, screening, now, POLICY)
    state = persist(lifecycle.screened(state, screening, routes, now, POLICY), now)
    for offset, event in sorted(plan.events, key=lambda e: e[0]):
        now = t0 + offset
        cmd = event(state)
        if cmd is None:
            ticked = lifecycle.tick(state, now, POLICY)
            assert ticked is not None, f"case {plan.n}: the clock changed nothing at +{offset}"
            state = persist(ticked, now)
            continue
        assert authority.not_permitted(state, cmd) is None
        assert lifecycle.refusal(state, cmd, now) is None, (
            plan.n,
            offset,
            lifecycle.refusal(state, cmd, now),
        )
        state = persist(lifecycle.apply_command(state, cmd, now, POLICY), now)


def refused_checks(engine: Engine, plans: list[Plan]) -> None:
    """Enforcement checks as the enforcement log records them: refused on two cohort cases, refused on
    a case outside the period, and one permitted (not counted)."""
    protected = [p.case_id for p in plans if p.story == "yet to apply"]
    closed = next(p.case_id for p in plans if p.story == "released")
    outside = next(p.case_id for p in plans if p.referred_at >= END)
    rows = [
        (protected[0], "refused"),
        (protected[0], "refused"),
        (protected[1], "refused"),
        (outside, "refused"),
        (closed, "permitted"),
    ]
    with Session(engine) as session, session.begin():
        for k, (case_id, verdict) in enumerate(rows):
            session.add(
                EnforcementCheckRow(
                    check_id=f"CHK-{k}",
                    at=datetime(2021, 9, 1, tzinfo=UTC) + k * HOUR,
                    actor="enforcement:ENF-3",
                    verdict=verdict,
                    verdict_reason=f"case {case_id}",
                    case_id=case_id,
                    case_ids=[case_id],
                    officers=[],
                    subject_kind="ho_ref",
                    subject_key=f"key-{k}",
                )
            )


@dataclass(frozen=True)
class Written:
    database_url: str
    plans: list[Plan]
    copy_url: str  # a copy of the population, for a test that migrates it


@pytest.fixture(scope="module")
def review(postgres: str) -> Iterator[Written]:
    """The population, written once for this module's read-only tests into a database of its own."""
    name = "t_review_" + uuid.uuid4().hex[:8]
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE mvp_template")
    url = postgres.replace("/postgres?", f"/{name}?")
    engine = engine_for(url)
    keys = Keys(
        keyring=Keyring(current_id="test-1", keys={"test-1": secrets.token_bytes(32)}),
        identity_key=secrets.token_bytes(32),
        codec_token=None,
    )
    plans = review_population() + outside_the_period() + the_next_month()
    store = CaseStore(engine, keys)
    template = base_referral()
    with ThreadPoolExecutor(max_workers=8) as pool:  # cases are independent; each one's steps run in order
        list(pool.map(lambda plan: build(plan, store, template), plans))
    refused_checks(engine, plans)
    engine.dispose()
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}_copy TEMPLATE {name}")
    yield Written(database_url=url, plans=plans, copy_url=postgres.replace("/postgres?", f"/{name}_copy?"))


@pytest.fixture(scope="module")
def review_api(
    review: Written, temporal_env: WorkflowEnvironment, issuer: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The case API on the population's database, for this module's tests."""
    address = temporal_env.client.service_client.config.target_host
    settings = api_settings(review.database_url, address, issuer, tmp_path_factory.mktemp("api"))
    with serving_api(settings) as url:
        yield url


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, review: Written, review_api: str, issuer: str, tmp_path: Path
) -> list[Plan]:
    point_cli_at(monkeypatch, review_api, issuer, tmp_path)
    return review.plans


# --- the report ---------------------------------------------------------------------------------------


def test_the_report_reproduces_the_reviews_figures_and_its_groups_add_up(
    cli_env: list[Plan], capsys: pytest.CaptureFixture[str]
) -> None:
    ran = mvp(capsys, "report", "--from", "2020-04-01", "--to", "2021-04-01", "--json")
    assert ran.code == 0, ran.err
    report = json.loads(ran.out)
    assert report["period"] == {"from": "2020-04-01", "to": "2021-04-01", "to_excluded": True}
    assert report["figures"] == expected_figures()
    assert {name: report["figures"][name] for name in REVIEW} == REVIEW
    assert report["notes"] == []

    by_force = json.loads(
        mvp(capsys, "report", "--from", "2020-04-01", "--to", "2021-04-01", "--by", "force", "--json").out
    )
    assert by_force["figures"] == expected_figures()
    cohort = [p for p in cli_env if START <= p.referred_at < END]
    assert {name: g["referrals"] for name, g in by_force["groups"].items()} == {
        force: sum(1 for p in cohort if p.force == force) for force in sorted(FORCES)
    }
    for name, total in expected_figures().items():
        assert sum(g[name] for g in by_force["groups"].values()) == total, name

    by_crime = json.loads(
        mvp(
            capsys, "report", "--from", "2020-04-01", "--to", "2021-04-01", "--by", "crime-type", "--json"
        ).out
    )
    assert list(by_crime["groups"]) == ["domestic_abuse"]  # the Review's referrals were all domestic abuse
    assert by_crime["groups"]["domestic_abuse"] == expected_figures()


@pytest.mark.usefixtures("cli_env")
def test_the_report_as_csv_and_as_a_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ran = mvp(capsys, "report", "--from", "2020-04-01", "--to", "2021-04-01", "--by", "force", "--csv")
    assert ran.code == 0, ran.err
    rows = list(csv.DictReader(io.StringIO(ran.out)))
    assert [r["figure"] for r in rows] == list(expected_figures())
    for row in rows:
        assert int(row["total"]) == expected_figures()[row["figure"]]
        assert sum(int(row[force]) for force in FORCES) == int(row["total"])

    table = mvp(capsys, "report", "--from", "2020-04-01", "--to", "2021-04-01")
    assert table.code == 0, table.err
    assert "Referred 2020-04-01 to 2021-03-31" in table.out
    lines = table_rows(table.out)
    assert lines["Referrals"] == ["211"]
    assert lines["Yet to apply (no status or leave to remain)"] == ["35"]
    assert lines["of which within one month of referral"] == ["39"]
    expected = expected_figures()
    assert lines["Closed in the period (whenever referred)"] == [str(expected["closed_in_period"])]
    assert lines["Outcome: still open"] == [str(expected["outcome_open"])]


def table_rows(text: str) -> dict[str, list[str]]:
    """The table's rows: label → the cells after it (a column per group, then the total)."""
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) >= 2 and cells[0]:
            rows[cells[0]] = cells[1:]
    return rows


@pytest.mark.usefixtures("cli_env")
def test_withdrawn_referrals_withdrawn_applications_no_record_and_unscreened_are_separate_rows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ran = mvp(capsys, "report", "--from", "2021-04-01", "--to", "2021-05-01", "--json")
    assert ran.code == 0, ran.err
    assert json.loads(ran.out)["figures"] == next_month_figures()

    table = mvp(capsys, "report", "--from", "2021-04-01", "--to", "2021-05-01")
    rows = table_rows(table.out)
    assert rows["Status at referral: no status (Home Office record found)"] == ["2"]
    assert rows["Status at referral: no Home Office record found"] == ["1"]
    assert rows["Status at referral: not yet known (screening not finished)"] == ["1"]
    assert rows["Referrals withdrawn by police"] == ["2"]
    assert rows["Outcome: closed, withdrawn (referral made in error)"] == ["1"]
    assert rows["Application withdrawn by the person (beyond the Review)"] == ["1"]
    assert "Withdrawn (beyond the Review)" not in rows
    assert "Closures: cases closed from 2021-04-01 to 2021-04-30, whenever referred" in table.out


@pytest.mark.usefixtures("cli_env")
def test_published_small_counts_are_suppressed_the_rest_rounded_and_the_table_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    period = ["--from", "2020-04-01", "--to", "2021-04-01"]
    exact = expected_figures()
    threshold, rounding = POLICY.disclosure_threshold, POLICY.disclosure_rounding
    assert (threshold, rounding) == (5, 5)

    def as_published(value: int) -> int | str:
        if value == 0:
            return 0
        if value < threshold:
            return SUPPRESSED
        nearest = round(value / rounding) * rounding
        assert abs(nearest - value) < rounding / 2  # no halves: the counts here are never ...2.5 off
        return nearest

    ran = mvp(capsys, "report", *period, "--by", "force", "--publish", "--json")
    assert ran.code == 0, ran.err
    published = json.loads(ran.out)
    assert published["disclosure"]["threshold"] == threshold
    assert published["disclosure"]["suppressed"] == SUPPRESSED == "[c]"
    assert published["figures"] == {name: as_published(value) for name, value in exact.items()}
    assert published["figures"]["referrals"] == 210  # 211
    assert published["figures"]["voluntary_departures"] == SUPPRESSED  # 1
    assert published["figures"]["refused"] == SUPPRESSED  # 2
    assert published["figures"]["applications_within_one_month"] == 40  # 39
    for column in published["groups"].values():
        shown_small = [v for v in column.values() if isinstance(v, int) and 0 < v < threshold]
        assert shown_small == []
        assert all(v == SUPPRESSED or v % rounding == 0 for v in column.values())

    small = json.loads(
        mvp(capsys, "report", "--from", "2021-04-01", "--to", "2021-05-01", "--publish", "--json").out
    )
    month = next_month_figures()
    assert small["figures"] == {name: as_published(value) for name, value in month.items()}
    assert small["figures"]["referrals"] == 5  # the threshold itself is shown
    small_ones = [name for name in NEXT_MONTH_FIGURES if name != "referrals"]
    assert {small["figures"][name] for name in small_ones} == {SUPPRESSED}  # every one of them 1 to 4

    table = mvp(capsys, "report", *period, "--publish")
    assert table.code == 0, table.err
    rows = table_rows(table.out)
    assert rows["Referrals"] == ["210"]
    assert rows["Voluntary departures"] == ["[c]"]
    assert rows["Detained (upon or since referral)"] == ["0"]
    under = " ".join(table.out.split("└")[-1].split())
    assert "Published with statistical disclosure control" in under
    assert f"counts from 1 to {threshold - 1} are shown as [c]" in under
    assert "may not add up" in under
    assert "[c]" not in mvp(capsys, "report", *period).out  # only when publishing

    as_csv = mvp(capsys, "report", *period, "--publish", "--csv")
    by_figure = {row["figure"]: row["total"] for row in csv.DictReader(io.StringIO(as_csv.out))}
    assert by_figure["voluntary_departures"] == "[c]"
    assert by_figure["referrals"] == "210"
    assert "statistical disclosure control" in " ".join(as_csv.err.split())


@pytest.mark.usefixtures("cli_env")
def test_a_period_outside_the_population_counts_only_what_was_referred_in_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = json.loads(mvp(capsys, "report", "--from", "2020-03-01", "--to", "2020-04-01", "--json").out)
    assert before["figures"]["referrals"] == 1
    assert before["figures"]["voluntary_departures"] == 1
    assert before["figures"]["applications_made"] == 1
    nothing = json.loads(mvp(capsys, "report", "--from", "2019-01-01", "--to", "2019-02-01", "--json").out)
    assert set(nothing["figures"].values()) == {0}


def test_a_check_refused_on_several_cases_counts_on_each_cohort_case_it_was_refused_on(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    api: str,
    issuer: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`case_id` is only the first of a check's `case_ids`: a person referred for two crimes (or protected
    in one case and a dependant in another) is refused on each of them."""
    engine = engine_for(database_url)
    keys = Keys(
        keyring=Keyring(current_id="test-1", keys={"test-1": secrets.token_bytes(32)}),
        identity_key=secrets.token_bytes(32),
        codec_token=None,
    )
    wmp, mps, gmp = (Plan(n, START + n * DAY, ImmigrationStatus.no_status) for n in (0, 1, 2))
    outside = Plan(901, END, ImmigrationStatus.no_status)
    store, template = CaseStore(engine, keys), base_referral()
    for plan in (wmp, mps, gmp, outside):
        build(plan.at(HOUR, CONTACT), store, template)
    checks = [
        ([wmp.case_id, mps.case_id], "refused"),  # counts on both
        ([outside.case_id, gmp.case_id], "refused"),  # first case outside the period: counts on gmp
        ([wmp.case_id], "refused"),
        ([mps.case_id], "permitted"),  # not counted
    ]
    with Session(engine) as session, session.begin():
        for k, (case_ids, verdict) in enumerate(checks):
            session.add(
                EnforcementCheckRow(
                    check_id=f"CHK-{k}",
                    at=END + k * HOUR,
                    actor="enforcement:ENF-3",
                    verdict=verdict,
                    verdict_reason="; ".join(f"case {c}" for c in case_ids),
                    case_id=case_ids[0],
                    case_ids=case_ids,
                    officers=[],
                    subject_kind="ho_ref",
                    subject_key=f"key-{k}",
                )
            )
    engine.dispose()
    point_cli_at(monkeypatch, api, issuer, tmp_path)

    ran = mvp(capsys, "report", "--from", "2020-04-01", "--to", "2021-04-01", "--by", "force", "--json")

    assert ran.code == 0, ran.err
    report = json.loads(ran.out)
    assert report["figures"]["referrals"] == 3
    assert report["figures"]["enforcement_checks_refused"] == 4
    assert {name: g["enforcement_checks_refused"] for name, g in report["groups"].items()} == {
        wmp.force: 2,
        mps.force: 1,
        gmp.force: 1,
    }


@pytest.fixture
def empty_cli_env(monkeypatch: pytest.MonkeyPatch, api: str, issuer: str, tmp_path: Path) -> None:
    point_cli_at(monkeypatch, api, issuer, tmp_path)


@pytest.mark.usefixtures("empty_cli_env")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2020-04-31", "--to", "2021-04-01"], "--from '2020-04-31' is not a date"),
        (["--from", "2020-04-01", "--to", "April"], "--to 'April' is not a date"),
        (["--from", "2021-04-01", "--to", "2020-04-01"], "must be before --to"),
        (["--from", "2021-04-01", "--to", "2021-04-01"], "must be before --to"),
        (["--from", "2020-04-01", "--to", "2021-04-01", "--by", "region"], "--by 'region'"),
        (["--from", "2020-04-01", "--to", "2021-04-01", "--json", "--csv"], "not both"),
    ],
)
def test_bad_periods_and_options_exit_2_with_a_clear_message(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = mvp(capsys, "report", *args)
    assert ran.code == 2
    assert message in " ".join(ran.err.split())
    assert "Traceback" not in ran.err


def _facts_as_stored(engine: Engine) -> tuple[list[CaseFacts], list[EnforcementFact]]:
    """Every case and enforcement fact of the read model, read back from the rows the store wrote and taken
    through `protocol.statistics`' own rules in Python: the second count the SQL report is held to."""
    with engine.connect() as conn:
        withdrawn = set(
            conn.exec_driver_sql(
                "SELECT case_id FROM case_record WHERE action = %(a)s", {"a": REFERRAL_WITHDRAWN}
            ).scalars()
        )
        cases = [
            CaseFacts(
                case_id=row.case_id,
                referred_at=row.referred_at,
                status_at_referral=ImmigrationStatus(row.status_at_referral)
                if row.status_at_referral
                else None,
                outcome=Outcome(row.outcome) if row.outcome else None,
                applications=tuple(
                    ApplicationFact(
                        a["number"], datetime.fromisoformat(a["submitted_at"]), ApplicationStage(a["stage"])
                    )
                    for a in row.view.get("applications", [])
                ),
                hold_active=row.hold_active,
                contact_overdue=row.contact_overdue,
                exclusion_overridden=row.exclusion_overridden,
                force=row.force_code,
                crime_type=row.crime_type,
                closed_at=row.closed_at,
                referral_withdrawn=row.case_id in withdrawn,
            )
            for row in conn.exec_driver_sql("SELECT * FROM cases")
        ]
        refused = [
            EnforcementFact(case_id, EnforcementKind.check_refused)
            for (case_ids,) in conn.exec_driver_sql(
                "SELECT case_ids FROM enforcement_checks WHERE verdict = 'refused'"
            )
            for case_id in dict.fromkeys(case_ids)
        ]
        acted = [
            EnforcementFact(row.case_id, EnforcementKind(row.action), row.at)
            for row in conn.exec_driver_sql("SELECT case_id, action, at FROM enforcement_actions")
        ]
    return cases, refused + acted


@pytest.mark.parametrize("by", [None, Grouping.force, Grouping.crime_type])
def test_the_sql_report_counts_as_the_pure_rules_do_over_the_stored_population(
    review: Written, by: Grouping | None
) -> None:
    """`usecases.report` adds up in SQL what `protocol.statistics.report` counts in Python: over every case
    the store wrote for this module (the Review's year, the month after, cases outside both), for periods
    that cut through it, the two agree figure for figure, in total and per group."""
    engine = engine_for(review.database_url)
    try:
        cases, enforcement = _facts_as_stored(engine)
        assert len(cases) == len(review.plans)
        assert any(fact.kind is EnforcementKind.check_refused for fact in enforcement)
        within = policy().application_within
        for start, end in [(START, END), (END, END + timedelta(days=31)), (START - timedelta(days=400), END)]:
            in_sql = build_report(engine, start, end, policy(), by).report
            in_python = statistics.report(cases, enforcement, start=start, end=end, within=within, by=by)
            assert in_sql.total == in_python.total, (start, end)
            assert in_sql.groups == in_python.groups, (start, end)
            assert in_sql.total.referrals > 0
    finally:
        engine.dispose()


TALLY = (
    "SELECT case_id, report_status, report_may_apply, report_stage, first_applied_at FROM cases ORDER BY 1"
)


def test_migration_0010_fills_existing_cases_with_the_tally_the_store_writes(review: Written) -> None:
    """Cases written before revision 0010 get their report columns from the migration's own copy of the rules:
    taken back to 0009 (the columns dropped) and forward again, the stored population has exactly the columns
    the store wrote for it."""
    with psycopg.connect(review.database_url) as conn:
        written = conn.execute(TALLY).fetchall()
    alembic.downgrade(alembic_config(review.copy_url), "0009")
    with psycopg.connect(review.copy_url) as conn:
        columns = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'cases'"
            )
        }
        assert "report_status" not in columns and "applications" in columns
    alembic.upgrade(alembic_config(review.copy_url), "head")
    with psycopg.connect(review.copy_url) as conn:
        assert conn.execute(TALLY).fetchall() == written
    assert any(row[3] is not None for row in written) and any(row[3] is None for row in written)
