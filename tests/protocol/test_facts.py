"""Reported facts (PROTOCOL.md §3): what comes from the alleged perpetrator is recorded as unverified and
changes nothing until an officer verifies it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from models.case import (
    Actor,
    ActorRole,
    CaseCommand,
    CaseState,
    FactKind,
    FactReported,
    FactSource,
    FactVerified,
    NoticeKind,
    Outcome,
    Phase,
    Recipient,
    Route,
    Screening,
    Signpost,
)
from models.records import ImmigrationStatus
from protocol import authority, facts, lifecycle
from protocol.intake import parse_referral
from protocol.lifecycle import Step
from protocol.policy import policy

EXAMPLES = Path(__file__).parents[2] / "examples"
POLICY = policy("2026.1")
T0 = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=2)

OFFICER = Actor(role=ActorRole.officer, id="IE-101")
OTHER_OFFICER = Actor(role=ActorRole.officer, id="IE-102")
POLICE = Actor(role=ActorRole.police, id="WMP-4471", force="WMP")
OTHER_POLICE = Actor(role=ActorRole.police, id="MPS-22019", force="MPS")
SUPERVISOR = Actor(role=ActorRole.supervisor, id="IE-SUP-7")
ENFORCER = Actor(role=ActorRole.enforcement, id="ENF-3")


def protected() -> CaseState:
    """Amina's case, screened with no status: in protection, investigation live."""
    raw = json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text())
    referral, problems = parse_referral(raw, T0)
    assert referral is not None, problems
    state = lifecycle.open_case("case-1", referral, OFFICER, T0, POLICY).state
    screening = Screening(
        screened_at=T0, record_found=True, status=ImmigrationStatus.no_status, rules_version="test"
    )
    signposts = [Signpost(route=Route.legal_advice, why="advice", given_at=T0)]
    return lifecycle.screened(state, screening, signposts, T0, POLICY).state


def do(state: CaseState, command: CaseCommand, now: datetime = T0) -> Step:
    assert authority.not_permitted(state, command) is None
    assert lifecycle.refusal(state, command, now) is None
    return lifecycle.apply_command(state, command, now, POLICY)


def report(
    kind: FactKind, source: FactSource, by: Actor = OFFICER, detail: str | None = None
) -> FactReported:
    return FactReported(actor=by, fact_kind=kind, source=source, detail=detail)


def verify(number: int, verified: bool = True, by: Actor = OFFICER) -> FactVerified:
    return FactVerified(actor=by, fact_number=number, verified=verified)


# --- who must verify -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(FactKind))
@pytest.mark.parametrize("by", [ActorRole.officer, ActorRole.police])
def test_a_fact_from_the_perpetrator_or_a_third_party_always_needs_verification(
    kind: FactKind, by: ActorRole
) -> None:
    assert facts.needs_verification(kind, FactSource.perpetrator, by)
    assert facts.needs_verification(kind, FactSource.third_party, by)


@pytest.mark.parametrize("source", [FactSource.person, FactSource.police])
def test_a_fact_from_the_person_or_police_needs_no_verification(source: FactSource) -> None:
    assert not facts.needs_verification(FactKind.relationship_ended, source, ActorRole.police)
    assert not facts.needs_verification(FactKind.person_left_uk, source, ActorRole.officer)


def test_a_departure_reported_by_police_still_waits_for_an_officer() -> None:
    """Closing a case as departed is an officer's act, whoever the source."""
    assert facts.needs_verification(FactKind.person_left_uk, FactSource.police, ActorRole.police)


# --- reporting ---------------------------------------------------------------------------------------


def test_the_perpetrator_saying_she_left_the_uk_is_recorded_unverified_and_changes_nothing() -> None:
    before = protected()
    step = do(before, report(FactKind.person_left_uk, FactSource.perpetrator, detail="told the HO by phone"))

    after = step.state
    assert after.phase is Phase.protection
    assert after.closure is None  # not departed: still open
    assert after.hold_grounds == before.hold_grounds
    [fact] = after.facts
    assert (fact.number, fact.kind, fact.source) == (1, FactKind.person_left_uk, FactSource.perpetrator)
    assert fact.verified is None and fact.needs_verification and fact.reported_by == "officer:IE-101"
    [entry] = step.records
    assert entry.action == "fact_reported"
    assert "unverified" in entry.summary and "changes nothing" in entry.summary
    assert "told the HO" not in entry.summary  # free text goes in the sealed note, never the summary
    assert entry.note == "told the HO by phone"
    [notice] = step.notices
    assert (notice.recipient, notice.kind) == (Recipient.case_officer, NoticeKind.fact_to_verify)
    assert "unverified" in step.accepted


def test_the_perpetrator_saying_the_relationship_ended_leaves_the_hold_as_it_is() -> None:
    before = protected()
    after = do(before, report(FactKind.relationship_ended, FactSource.perpetrator)).state
    assert after.hold_grounds == before.hold_grounds and after.phase is Phase.protection
    assert after.facts[0].verified is None


def test_police_reporting_their_own_fact_is_recorded_as_a_sharing_and_accepted() -> None:
    step = do(protected(), report(FactKind.relationship_ended, FactSource.police, by=POLICE))
    [fact] = step.state.facts
    assert fact.verified is True and not fact.needs_verification
    [entry] = step.records
    assert entry.shared_with is not None and entry.shared_what == ["reported fact: relationship_ended"]
    assert step.notices == []
    assert step.state.phase is Phase.protection


def test_an_officer_recording_that_the_person_said_she_left_closes_the_case_as_departed() -> None:
    step = do(protected(), report(FactKind.person_left_uk, FactSource.person))
    assert step.state.phase is Phase.closed
    assert step.state.closure is not None and step.state.closure.outcome is Outcome.departed
    assert step.state.closure.by == OFFICER


def test_police_reporting_that_the_person_left_needs_an_officer_before_the_case_closes() -> None:
    step = do(protected(), report(FactKind.person_left_uk, FactSource.police, by=POLICE))
    assert step.state.phase is Phase.protection
    assert step.state.facts[0].verified is None


def test_a_fact_of_kind_other_needs_a_detail() -> None:
    assert lifecycle.refusal(protected(), report(FactKind.other, FactSource.third_party), T0) is not None
    with_detail = report(FactKind.other, FactSource.third_party, detail="says she moved city")
    assert lifecycle.refusal(protected(), with_detail, T0) is None


def test_facts_are_numbered_in_order() -> None:
    state = do(protected(), report(FactKind.relationship_ended, FactSource.perpetrator)).state
    state = do(state, report(FactKind.person_left_uk, FactSource.third_party)).state
    assert [f.number for f in state.facts] == [1, 2]


# --- who may ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [OFFICER, POLICE])
def test_officers_and_police_may_report_a_fact(actor: Actor) -> None:
    assert (
        authority.not_permitted(
            protected(), report(FactKind.relationship_ended, FactSource.perpetrator, actor)
        )
        is None
    )


@pytest.mark.parametrize("actor", [SUPERVISOR, ENFORCER])
def test_supervisors_and_enforcement_may_not_report_a_fact(actor: Actor) -> None:
    assert authority.not_permitted(
        protected(), report(FactKind.relationship_ended, FactSource.perpetrator, actor)
    )


def test_police_of_another_force_may_not_report_a_fact() -> None:
    command = report(FactKind.person_left_uk, FactSource.police, by=OTHER_POLICE)
    assert "own force" in (authority.not_permitted(protected(), command) or "")


@pytest.mark.parametrize("actor", [POLICE, SUPERVISOR, ENFORCER])
def test_only_an_officer_may_verify_a_fact(actor: Actor) -> None:
    state = do(protected(), report(FactKind.person_left_uk, FactSource.perpetrator)).state
    denied = authority.not_permitted(state, verify(1, by=actor))
    assert denied is not None and "only officer" in denied


# --- verifying -------------------------------------------------------------------------------------


def test_verifying_that_the_person_left_the_uk_closes_the_case_as_departed_by_the_officer() -> None:
    state = do(protected(), report(FactKind.person_left_uk, FactSource.perpetrator)).state
    step = do(state, verify(1, by=OTHER_OFFICER), LATER)

    after = step.state
    assert after.phase is Phase.closed and after.hold_grounds == []
    assert after.closure is not None
    assert after.closure.outcome is Outcome.departed and after.closure.by == OTHER_OFFICER
    fact = after.facts[0]
    assert fact.verified is True and fact.verified_by == "officer:IE-102" and fact.verified_at == LATER
    actions = [r.action for r in step.records]
    assert actions[:3] == ["fact_verified", "case_closed", "hold_lifted"]


def test_verifying_that_the_relationship_ended_is_recorded_and_leaves_the_hold() -> None:
    before = do(protected(), report(FactKind.relationship_ended, FactSource.perpetrator)).state
    step = do(before, verify(1), LATER)
    assert step.state.phase is Phase.protection
    assert step.state.hold_grounds == before.hold_grounds
    assert step.state.facts[0].verified is True
    assert [r.action for r in step.records] == ["fact_verified"]


def test_a_rejected_fact_is_recorded_as_rejected_and_changes_nothing() -> None:
    state = do(protected(), report(FactKind.person_left_uk, FactSource.perpetrator)).state
    step = do(state, verify(1, verified=False), LATER)
    assert step.state.phase is Phase.protection and step.state.closure is None
    assert step.state.facts[0].verified is False
    assert [r.action for r in step.records] == ["fact_rejected"]


def test_a_fact_cannot_be_verified_twice() -> None:
    state = do(protected(), report(FactKind.relationship_ended, FactSource.perpetrator)).state
    state = do(state, verify(1, verified=False)).state
    assert "already rejected" in (lifecycle.refusal(state, verify(1), T0) or "")


def test_an_unknown_fact_number_is_refused() -> None:
    assert "no fact 1" in (lifecycle.refusal(protected(), verify(1), T0) or "")


def test_a_fact_from_a_trusted_source_needs_no_verification() -> None:
    state = do(protected(), report(FactKind.relationship_ended, FactSource.police, by=POLICE)).state
    assert "needed no verification" in (lifecycle.refusal(state, verify(1), T0) or "")


def test_a_fact_number_below_one_is_invalid() -> None:
    with pytest.raises(ValueError):
        FactVerified(actor=OFFICER, fact_number=0, verified=True)
