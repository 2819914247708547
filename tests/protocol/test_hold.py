"""The enforcement hold's grounds (PROTOCOL.md §6): each ground holds while its facts do, and only then."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from models.case import (
    Actor,
    ActorRole,
    Application,
    ApplicationStage,
    CaseState,
    Closure,
    ContactSchedule,
    DecisionKind,
    Ground,
    InvestigationStatus,
    Outcome,
    PendingDecision,
    Phase,
    Route,
    RouteClock,
    Screening,
)
from models.records import ImmigrationStatus
from models.referral import Referral
from protocol.hold import LIVE_INVESTIGATION, PENDING_APPLICATION, hold_grounds, substantive_grounds
from protocol.intake import parse_referral
from protocol.policy import policy
from protocol.screening import RULES_VERSION

EXAMPLES = Path(__file__).parents[2] / "examples"
POLICY = policy("2026.1")
NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
OFFICER = Actor(role=ActorRole.officer, id="IE-101")
SUPERVISOR = Actor(role=ActorRole.supervisor, id="IE-SUP-7")

LIVE = sorted(LIVE_INVESTIGATION)
ENDED = [
    InvestigationStatus.concluded,
    InvestigationStatus.no_further_action,
    InvestigationStatus.referral_withdrawn,
]
PENDING = sorted(PENDING_APPLICATION)
DECIDED = [
    ApplicationStage.granted,
    ApplicationStage.refused,
    ApplicationStage.rejected,
    ApplicationStage.withdrawn,
]


def referral() -> Referral:
    raw = json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text())
    parsed, problems = parse_referral(raw, NOW)
    assert parsed is not None, problems
    return parsed


def case(**facts: Any) -> CaseState:
    """A screened case in protection on no ground at all, with `facts` set on top."""
    state = CaseState(
        case_id="case-hold",
        policy_version=POLICY.version,
        referral=referral(),
        opened_at=NOW - timedelta(days=30),
        opened_by=OFFICER,
        phase=Phase.protection,
        investigation=InvestigationStatus.no_further_action,
        screening=Screening(
            screened_at=NOW - timedelta(days=30),
            record_found=True,
            status=ImmigrationStatus.no_status,
            rules_version=RULES_VERSION,
        ),
        contact=ContactSchedule(next_due=NOW),
    )
    return state.model_copy(update=facts)


def application(stage: ApplicationStage, number: int = 1) -> Application:
    return Application(
        number=number,
        route=Route.appendix_victim_of_domestic_abuse,
        stage=stage,
        submitted_at=NOW - timedelta(days=20),
        updated_at=NOW - timedelta(days=2),
    )


def clock(ends_at: datetime) -> RouteClock:
    return RouteClock(
        route=Route.domestic_abuse_concession, started_at=NOW - timedelta(days=10), ends_at=ends_at
    )


def pending(kind: DecisionKind) -> PendingDecision:
    return PendingDecision(kind=kind, raised_at=NOW - timedelta(days=1), why="test")


# --- no ground ---------------------------------------------------------------------------------


def test_a_case_with_no_facts_for_a_hold_has_no_substantive_ground() -> None:
    assert substantive_grounds(case(), NOW) == []


def test_screening_in_progress_is_a_ground() -> None:
    state = case(phase=Phase.screening, screening=None)
    assert substantive_grounds(state, NOW) == [Ground.screening_pending]
    assert hold_grounds(state, NOW) == [Ground.screening_pending]


# --- a police investigation or prosecution ------------------------------------------------------


@pytest.mark.parametrize("status", LIVE)
def test_hold_stays_while_the_investigation_is_live(status: InvestigationStatus) -> None:
    assert substantive_grounds(case(investigation=status), NOW) == [Ground.investigation_live]


def test_hold_stays_while_appeal_is_pending() -> None:
    state = case(investigation=InvestigationStatus.appeal_pending)
    assert hold_grounds(state, NOW) == [Ground.investigation_live]


@pytest.mark.parametrize("status", ENDED)
def test_a_concluded_or_dropped_investigation_is_no_ground(status: InvestigationStatus) -> None:
    assert substantive_grounds(case(investigation=status), NOW) == []


def test_every_investigation_status_is_either_live_or_ended() -> None:
    assert set(LIVE) | set(ENDED) == set(InvestigationStatus)
    assert not set(LIVE) & set(ENDED)


# --- an application to regularise stay ----------------------------------------------------------


@pytest.mark.parametrize("stage", PENDING)
def test_hold_stays_while_an_application_is_pending(stage: ApplicationStage) -> None:
    state = case(applications=[application(stage)])
    assert substantive_grounds(state, NOW) == [Ground.application_pending]


def test_hold_stays_while_a_review_is_pending() -> None:
    state = case(applications=[application(ApplicationStage.review_lodged)])
    assert Ground.application_pending in hold_grounds(state, NOW)


def test_hold_stays_while_an_immigration_appeal_is_pending() -> None:
    state = case(applications=[application(ApplicationStage.appeal_lodged)])
    assert Ground.application_pending in hold_grounds(state, NOW)


@pytest.mark.parametrize("stage", DECIDED)
def test_a_decided_application_is_no_ground(stage: ApplicationStage) -> None:
    assert substantive_grounds(case(applications=[application(stage)]), NOW) == []


def test_one_pending_application_among_decided_ones_is_a_ground() -> None:
    state = case(
        applications=[application(ApplicationStage.rejected, 1), application(ApplicationStage.submitted, 2)]
    )
    assert substantive_grounds(state, NOW) == [Ground.application_pending]


def test_every_application_stage_is_either_pending_or_decided() -> None:
    assert set(PENDING) | set(DECIDED) == set(ApplicationStage)
    assert not set(PENDING) & set(DECIDED)


# --- support and advice -------------------------------------------------------------------------


def test_hold_stays_while_the_person_receives_support() -> None:
    assert substantive_grounds(case(support_active=True), NOW) == [Ground.receiving_support]


def test_support_ended_is_no_ground() -> None:
    assert substantive_grounds(case(support_active=False), NOW) == []


# --- route clocks -------------------------------------------------------------------------------


def test_hold_stays_while_a_route_clock_runs() -> None:
    state = case(route_clocks=[clock(NOW + timedelta(seconds=1))])
    assert substantive_grounds(state, NOW) == [Ground.route_clock]


def test_a_route_clock_ends_at_its_end_exactly() -> None:
    state = case(route_clocks=[clock(NOW)])
    assert substantive_grounds(state, NOW - timedelta(microseconds=1)) == [Ground.route_clock]
    assert substantive_grounds(state, NOW) == []
    assert substantive_grounds(state, NOW + timedelta(days=1)) == []


def test_one_running_clock_among_ended_ones_is_a_ground() -> None:
    state = case(route_clocks=[clock(NOW - timedelta(days=3)), clock(NOW + timedelta(days=3))])
    assert substantive_grounds(state, NOW) == [Ground.route_clock]


# --- decisions awaiting a supervisor ------------------------------------------------------------


def test_hold_stays_while_an_exclusion_decision_is_pending() -> None:
    state = case(pending=[pending(DecisionKind.exclusion)])
    assert substantive_grounds(state, NOW) == [Ground.exclusion_decision_pending]


def test_a_pending_release_decision_is_not_a_substantive_ground() -> None:
    state = case(phase=Phase.awaiting_release, pending=[pending(DecisionKind.release)])
    assert substantive_grounds(state, NOW) == []
    assert hold_grounds(state, NOW) == [Ground.release_decision_pending]


# --- when no substantive ground is left ---------------------------------------------------------


def test_hold_stays_on_the_engagement_notice_when_no_ground_is_left() -> None:
    state = case(phase=Phase.engagement, engagement_ends_at=NOW + timedelta(days=28))
    assert hold_grounds(state, NOW) == [Ground.engagement_notice]


def test_hold_stays_on_the_release_decision_once_engagement_has_ended() -> None:
    state = case(phase=Phase.awaiting_release, pending=[pending(DecisionKind.release)])
    assert hold_grounds(state, NOW) == [Ground.release_decision_pending]


def test_an_open_case_always_has_a_hold_ground() -> None:
    for phase in (Phase.screening, Phase.protection, Phase.engagement, Phase.awaiting_release):
        assert hold_grounds(case(phase=phase), NOW) != []


def test_substantive_grounds_outrank_engagement_and_release() -> None:
    state = case(phase=Phase.awaiting_release, support_active=True)
    assert hold_grounds(state, NOW) == [Ground.receiving_support]


def test_every_ground_together_in_declaration_order() -> None:
    state = case(
        screening=None,
        investigation=InvestigationStatus.charged,
        applications=[application(ApplicationStage.submitted)],
        support_active=True,
        route_clocks=[clock(NOW + timedelta(days=5))],
        pending=[pending(DecisionKind.exclusion)],
    )
    assert substantive_grounds(state, NOW) == [
        Ground.screening_pending,
        Ground.investigation_live,
        Ground.application_pending,
        Ground.receiving_support,
        Ground.route_clock,
        Ground.exclusion_decision_pending,
    ]


# --- a closed case ------------------------------------------------------------------------------


def test_a_closed_case_has_no_hold_ground_even_with_live_facts() -> None:
    state = case(
        phase=Phase.closed,
        closure=Closure(outcome=Outcome.withdrawn, at=NOW, by=SUPERVISOR, reason="made in error"),
        investigation=InvestigationStatus.charged,
        support_active=True,
        applications=[application(ApplicationStage.submitted)],
        route_clocks=[clock(NOW + timedelta(days=5))],
    )
    assert hold_grounds(state, NOW) == []


# --- an application or claim found at screening -------------------------------------------------


def screened_as(status: ImmigrationStatus) -> Screening:
    return Screening(
        screened_at=NOW - timedelta(days=30), record_found=True, status=status, rules_version=RULES_VERSION
    )


@pytest.mark.parametrize(
    "status",
    [
        ImmigrationStatus.pending_application,
        ImmigrationStatus.asylum_claimant,
        ImmigrationStatus.asylum_dependant,
    ],
)
def test_an_application_or_asylum_claim_found_at_screening_is_an_application_pending_ground(
    status: ImmigrationStatus,
) -> None:
    """Issue 8 item 3: with police taking no further action, the pending claim alone keeps the hold."""
    state = case(screening=screened_as(status))
    assert substantive_grounds(state, NOW) == [Ground.application_pending]
    assert hold_grounds(state, NOW) == [Ground.application_pending]


@pytest.mark.parametrize(
    "status", [ImmigrationStatus.no_status, ImmigrationStatus.unknown, ImmigrationStatus.leave_to_remain]
)
def test_other_statuses_found_at_screening_are_no_ground_by_themselves(status: ImmigrationStatus) -> None:
    assert substantive_grounds(case(screening=screened_as(status)), NOW) == []


def test_a_withdrawn_referral_ends_the_police_ground_but_not_a_pending_application() -> None:
    state = case(
        investigation=InvestigationStatus.referral_withdrawn,
        applications=[application(ApplicationStage.submitted)],
    )
    assert substantive_grounds(state, NOW) == [Ground.application_pending]
