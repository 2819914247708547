"""Police correct an investigation status they reported wrongly, and add notes (issue 12): a correction is a new
record entry pointing at the one it corrects, never a rewrite; it re-derives the hold's grounds but never lifts
the hold by itself; only the referring force may; the case officer is told."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from models.case import (
    Actor,
    ActorRole,
    CaseCommand,
    CaseState,
    Ground,
    InvestigationStatus,
    NoticeKind,
    Phase,
    PoliceCorrection,
    PoliceNote,
    PoliceUpdate,
    Recipient,
    Screening,
    Withdrawal,
)
from models.records import ImmigrationStatus
from protocol import authority, lifecycle
from protocol.intake import parse_referral
from protocol.lifecycle import Step
from protocol.policy import policy
from protocol.screening import RULES_VERSION

EXAMPLES = Path(__file__).parents[2] / "examples"
POLICY = policy("2026.1")
T0 = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
OFFICER = Actor(role=ActorRole.officer, id="IE-101")
POLICE = Actor(role=ActorRole.police, id="WMP-4471", force="WMP")  # the force that referred the example
OTHER_POLICE = Actor(role=ActorRole.police, id="MPS-22019", force="MPS")


def protected() -> CaseState:
    """The example case, screened with no status: in protection on the live investigation alone."""
    referral, problems = parse_referral(
        json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text()), T0
    )
    assert referral is not None, problems
    state = lifecycle.open_case("case-1", referral, OFFICER, T0, POLICY).state
    screening = Screening(
        screened_at=T0, record_found=True, status=ImmigrationStatus.no_status, rules_version=RULES_VERSION
    )
    state = lifecycle.screened(state, screening, [], T0, POLICY).state
    assert state.phase is Phase.protection and state.hold_grounds == [Ground.investigation_live]
    return state


def do(state: CaseState, command: CaseCommand, now: datetime = T0) -> Step:
    assert authority.not_permitted(state, command) is None
    assert lifecycle.refusal(state, command, now) is None
    return lifecycle.apply_command(state, command, now, POLICY)


def correct(status: InvestigationStatus, actor: Actor = POLICE) -> PoliceCorrection:
    return PoliceCorrection(actor=actor, investigation=status, reason="Typed the wrong status on our system")


def test_a_correction_is_a_new_entry_pointing_at_the_entry_it_corrects() -> None:
    reported = do(protected(), PoliceUpdate(actor=POLICE, investigation=InvestigationStatus.charged))
    [update_entry] = [r for r in reported.records if r.action == "police_update"]
    assert reported.state.investigation_seq == update_entry.seq

    corrected = do(reported.state, correct(InvestigationStatus.under_investigation))

    [entry] = [r for r in corrected.records if r.action == "police_status_corrected"]
    assert entry.seq > update_entry.seq  # appended, never a rewrite
    assert entry.summary == (
        f"corrects entry {update_entry.seq}: investigation charged was reported wrongly; it is under_investigation"
    )
    assert entry.note == "Typed the wrong status on our system"  # the reason: sealed, not in the summary
    assert entry.shared_with is not None and entry.shared_what == ["investigation status (a correction)"]
    assert corrected.state.investigation is InvestigationStatus.under_investigation
    assert corrected.state.investigation_seq == entry.seq  # a second correction points at this one


def test_a_correction_may_go_back_where_an_update_may_not() -> None:
    charged = do(protected(), PoliceUpdate(actor=POLICE, investigation=InvestigationStatus.charged)).state
    back = PoliceUpdate(actor=POLICE, investigation=InvestigationStatus.under_investigation)
    assert lifecycle.refusal(charged, back, T0) is not None
    assert lifecycle.refusal(charged, correct(InvestigationStatus.under_investigation), T0) is None


def test_a_correction_of_the_status_at_referral_says_so() -> None:
    step = do(protected(), correct(InvestigationStatus.under_investigation))
    [entry] = [r for r in step.records if r.action == "police_status_corrected"]
    assert entry.summary.startswith("corrects the status at referral: investigation reported")


def test_a_correction_that_ends_the_last_ground_starts_engagement_and_never_lifts_the_hold() -> None:
    step = do(protected(), correct(InvestigationStatus.no_further_action))
    state = step.state
    assert state.phase is Phase.engagement and state.closure is None and state.hold_lifted_at is None
    assert state.hold_grounds == [Ground.engagement_notice]
    assert "engagement_started" in [r.action for r in step.records]
    assert "hold_lifted" not in [r.action for r in step.records]
    assert "the hold stays in force until a supervisor releases it" in step.accepted


def test_a_correction_back_to_a_live_investigation_returns_the_case_to_protection() -> None:
    engaged = do(protected(), correct(InvestigationStatus.no_further_action)).state
    step = do(engaged, correct(InvestigationStatus.under_investigation))
    assert step.state.phase is Phase.protection
    assert step.state.hold_grounds == [Ground.investigation_live]


def test_the_case_officer_is_told_of_a_correction_by_a_task() -> None:
    step = do(protected(), correct(InvestigationStatus.suspect_arrested))
    [notice] = [n for n in step.notices if n.kind is NoticeKind.police_correction]
    assert notice.recipient is Recipient.case_officer
    assert (notice.facts["previous"], notice.facts["corrected"]) == ("reported", "suspect_arrested")
    assert "Typed" not in json.dumps(notice.facts)  # the reason stays sealed, never in a task's facts


@pytest.mark.parametrize(
    ("status", "why"),
    [
        (InvestigationStatus.reported, "the investigation is already reported"),
        (InvestigationStatus.referral_withdrawn, "recorded with withdraw"),
    ],
)
def test_an_impossible_correction_is_refused_with_a_sentence(status: InvestigationStatus, why: str) -> None:
    reason = lifecycle.refusal(protected(), correct(status), T0)
    assert reason is not None and why in reason


def test_a_withdrawn_referral_is_not_undone_by_a_correction() -> None:
    withdrawn = do(protected(), Withdrawal(actor=POLICE, reason="Victim moved away")).state
    reason = lifecycle.refusal(withdrawn, correct(InvestigationStatus.under_investigation), T0)
    assert reason is not None and "update --status under_investigation" in reason


@pytest.mark.parametrize(
    "command",
    [
        correct(InvestigationStatus.charged, OTHER_POLICE),
        PoliceNote(actor=OTHER_POLICE, text="A note from the wrong force"),
        correct(InvestigationStatus.charged, OFFICER),
        PoliceNote(actor=OFFICER, text="An officer's note is a contact note"),
    ],
)
def test_only_the_referring_force_corrects_or_adds_a_note(command: CaseCommand) -> None:
    denied = authority.not_permitted(protected(), command)
    assert denied is not None and ("another force" in denied or "only police" in denied)


def test_a_correction_needs_a_reason() -> None:
    with pytest.raises(ValidationError):
        PoliceCorrection(actor=POLICE, investigation=InvestigationStatus.charged, reason="oops")


def test_a_police_note_is_sealed_recorded_as_shared_and_a_task_for_the_case_officer() -> None:
    state = protected()
    step = do(state, PoliceNote(actor=POLICE, text="Suspect released on bail; victim informed"))
    [entry] = [r for r in step.records if r.action == "police_note"]
    assert entry.note == "Suspect released on bail; victim informed" and "bail" not in entry.summary
    assert entry.shared_what == ["a note from police"]
    [notice] = [n for n in step.notices if n.kind is NoticeKind.police_note]
    assert notice.recipient is Recipient.case_officer and notice.facts["entry"] == str(entry.seq)
    assert step.state.hold_grounds == state.hold_grounds and step.state.phase is state.phase


def test_a_trial_date_from_police_is_kept_and_shown_with_the_witness_clock() -> None:
    trial = date(2027, 3, 1)
    step = do(protected(), PoliceUpdate(actor=POLICE, trial_date=trial))
    view = lifecycle.view(step.state, T0, POLICY)
    assert view.trial_date == trial
    [clock] = view.route_clocks
    assert clock.ends_at.date() == trial + timedelta(days=14)
