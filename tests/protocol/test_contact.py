"""Periodic contact (PROTOCOL.md §7): due at referral and every interval, overdue after the grace period,
escalated to supervisors once per interval, and never a reason to lift a hold."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from models.case import (
    Actor,
    ActorRole,
    CaseState,
    ContactRecord,
    ContactResult,
    ContactSchedule,
    NoticeKind,
    Phase,
    Recipient,
    Screening,
)
from models.records import ImmigrationStatus
from protocol import lifecycle
from protocol.contact import (
    after_attempt,
    escalation_due,
    first_schedule,
    is_overdue,
    next_escalation,
    overdue_from,
)
from protocol.intake import parse_referral
from protocol.policy import policy
from protocol.screening import RULES_VERSION

EXAMPLES = Path(__file__).parents[2] / "examples"
POLICY = policy("2026.1")
OPENED = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
INTERVAL = POLICY.contact_interval
GRACE = POLICY.contact_grace
TICK = timedelta(microseconds=1)
OFFICER = Actor(role=ActorRole.officer, id="IE-101")

MEETS = [ContactResult.reached, ContactResult.declined]
MISSES = [ContactResult.no_answer, ContactResult.unsafe_to_talk]


# --- the schedule -------------------------------------------------------------------------------


def test_first_contact_is_due_at_referral() -> None:
    schedule = first_schedule(OPENED)
    assert schedule.next_due == OPENED
    assert schedule.attempts == 0 and schedule.last_reached_at is None and schedule.last_escalated_at is None


def test_contact_is_overdue_after_the_grace_period_exactly() -> None:
    schedule = first_schedule(OPENED)
    assert overdue_from(schedule, POLICY) == OPENED + GRACE
    assert not is_overdue(schedule, OPENED, POLICY)
    assert not is_overdue(schedule, OPENED + GRACE - TICK, POLICY)
    assert is_overdue(schedule, OPENED + GRACE, POLICY)


@pytest.mark.parametrize("result", MEETS)
def test_reached_or_declined_resets_the_schedule(result: ContactResult) -> None:
    at = OPENED + timedelta(days=3)
    schedule = after_attempt(first_schedule(OPENED), result, at, POLICY)
    assert schedule.next_due == at + INTERVAL
    assert schedule.last_reached_at == at
    assert schedule.attempts == 1 and schedule.missed_attempts_in_a_row == 0
    assert not is_overdue(schedule, at + INTERVAL + GRACE - TICK, POLICY)


@pytest.mark.parametrize("result", MISSES)
def test_no_answer_or_unsafe_to_talk_leaves_the_contact_due(result: ContactResult) -> None:
    at = OPENED + timedelta(days=3)
    schedule = after_attempt(first_schedule(OPENED), result, at, POLICY)
    assert schedule.next_due == OPENED
    assert schedule.last_reached_at is None
    assert schedule.attempts == 1 and schedule.missed_attempts_in_a_row == 1
    assert is_overdue(schedule, OPENED + GRACE, POLICY)


def test_missed_attempts_in_a_row_count_until_the_person_is_reached() -> None:
    schedule = first_schedule(OPENED)
    for day, result in enumerate([ContactResult.no_answer, ContactResult.unsafe_to_talk], start=1):
        schedule = after_attempt(schedule, result, OPENED + timedelta(days=day), POLICY)
    assert schedule.missed_attempts_in_a_row == 2
    schedule = after_attempt(schedule, ContactResult.reached, OPENED + timedelta(days=3), POLICY)
    assert (schedule.attempts, schedule.missed_attempts_in_a_row) == (3, 0)


# --- escalation ---------------------------------------------------------------------------------


def test_an_overdue_contact_escalates_at_the_end_of_the_grace_period() -> None:
    schedule = first_schedule(OPENED)
    assert next_escalation(schedule, POLICY) == OPENED + GRACE
    assert not escalation_due(schedule, OPENED + GRACE - TICK, POLICY)
    assert escalation_due(schedule, OPENED + GRACE, POLICY)


def test_escalation_happens_once_then_again_one_interval_later() -> None:
    escalated_at = OPENED + GRACE
    schedule = first_schedule(OPENED).model_copy(update={"last_escalated_at": escalated_at})
    assert next_escalation(schedule, POLICY) == escalated_at + INTERVAL
    assert not escalation_due(schedule, escalated_at + INTERVAL - TICK, POLICY)
    assert escalation_due(schedule, escalated_at + INTERVAL, POLICY)


def test_an_escalation_before_the_current_contact_fell_due_does_not_count() -> None:
    """An escalation of an earlier contact does not stand for the one due now."""
    schedule = ContactSchedule(next_due=OPENED + INTERVAL, last_escalated_at=OPENED + GRACE)
    assert next_escalation(schedule, POLICY) == OPENED + INTERVAL + GRACE


def test_recording_a_reached_contact_clears_the_escalation() -> None:
    schedule = first_schedule(OPENED).model_copy(update={"last_escalated_at": OPENED + GRACE})
    at = OPENED + timedelta(days=10)
    schedule = after_attempt(schedule, ContactResult.reached, at, POLICY)
    assert schedule.last_escalated_at is None
    assert next_escalation(schedule, POLICY) == at + INTERVAL + GRACE


def test_a_missed_attempt_keeps_the_escalation() -> None:
    escalated_at = OPENED + GRACE
    schedule = first_schedule(OPENED).model_copy(update={"last_escalated_at": escalated_at})
    schedule = after_attempt(schedule, ContactResult.no_answer, OPENED + timedelta(days=9), POLICY)
    assert schedule.last_escalated_at == escalated_at
    assert next_escalation(schedule, POLICY) == escalated_at + INTERVAL


# --- through the case's clock -------------------------------------------------------------------


def protected_case() -> CaseState:
    raw = json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text())
    referral, problems = parse_referral(raw, OPENED)
    assert referral is not None, problems
    state = lifecycle.open_case("case-contact", referral, OFFICER, OPENED, POLICY).state
    screening = Screening(
        screened_at=OPENED,
        record_found=True,
        status=ImmigrationStatus.no_status,
        rules_version=RULES_VERSION,
    )
    return lifecycle.screened(state, screening, [], OPENED, POLICY).state


def escalations(step: lifecycle.Step | None) -> list[str]:
    assert step is not None
    return [r.action for r in step.records if r.action == "contact_overdue_escalated"]


def test_the_clock_escalates_an_overdue_contact_to_supervisors_once() -> None:
    state = protected_case()
    assert lifecycle.tick(state, OPENED + GRACE - TICK, POLICY) is None
    step = lifecycle.tick(state, OPENED + GRACE, POLICY)
    assert escalations(step) == ["contact_overdue_escalated"]
    assert step is not None
    [notice] = step.notices
    assert (notice.recipient, notice.kind) == (Recipient.supervisors, NoticeKind.contact_overdue)
    assert lifecycle.tick(step.state, OPENED + GRACE + timedelta(days=1), POLICY) is None


def test_the_clock_escalates_again_one_interval_later() -> None:
    state = protected_case()
    first = lifecycle.tick(state, OPENED + GRACE, POLICY)
    assert first is not None
    assert lifecycle.next_wakeup(first.state, OPENED + GRACE, POLICY) == OPENED + GRACE + INTERVAL
    assert lifecycle.tick(first.state, OPENED + GRACE + INTERVAL - TICK, POLICY) is None
    assert escalations(lifecycle.tick(first.state, OPENED + GRACE + INTERVAL, POLICY)) == [
        "contact_overdue_escalated"
    ]


def test_missed_contact_never_lifts_the_hold() -> None:
    state = protected_case()
    now = OPENED
    for _ in range(6):
        now += INTERVAL
        step = lifecycle.tick(state, now, POLICY)
        state = step.state if step is not None else state
        miss = ContactRecord(actor=OFFICER, result=ContactResult.no_answer)
        state = lifecycle.apply_command(state, miss, now, POLICY).state
        view = lifecycle.view(state, now, POLICY)
        assert view.hold.active and view.contact_overdue
        assert state.phase is Phase.protection


def test_a_reached_contact_through_the_case_clears_the_overdue_flag() -> None:
    state = protected_case()
    escalated = lifecycle.tick(state, OPENED + GRACE, POLICY)
    assert escalated is not None
    at = OPENED + GRACE + timedelta(hours=2)
    assert lifecycle.view(escalated.state, at, POLICY).contact_overdue
    reached = ContactRecord(actor=OFFICER, result=ContactResult.reached)
    state = lifecycle.apply_command(escalated.state, reached, at, POLICY).state
    view = lifecycle.view(state, at, POLICY)
    assert not view.contact_overdue and view.overdue_since is None
    assert view.next_contact_due == at + INTERVAL
    assert state.contact.last_escalated_at is None
