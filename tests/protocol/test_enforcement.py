"""Enforcement checks (PROTOCOL.md §6) as pure rules: how the person is given, who may ask, the answer,
and when an enforcement action may be recorded after a check."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from models.case import Actor, ActorRole, DecisionKind, Outcome, Phase
from models.enforcement import CheckOnRecord, EnforcementAction, HoldMatch, Subject, SubjectKind, Verdict
from protocol.authority import may_check
from protocol.enforcement import PersonSpec, action_refusal, decide, parse_person

TODAY = date(2026, 11, 21)
ENFORCER = Actor(role=ActorRole.enforcement, id="ENF-3")
SUBJECT = Subject(kind=SubjectKind.ho_ref, key="k" * 64)


def match(
    case_id: str = "MVP-AAAAA-AAAAA",
    *,
    subject: str = "person",
    phase: Phase = Phase.protection,
    outcome: Outcome | None = None,
    pending: tuple[DecisionKind, ...] = (),
    lifted_by: str | None = None,
    officer: str | None = "officer:NCCU-0042",
) -> HoldMatch:
    return HoldMatch(
        case_id=case_id,
        subject=subject,
        hold_active=phase is not Phase.closed,
        phase=phase,
        outcome=outcome,
        pending_decisions=list(pending),
        lifted_by=lifted_by,
        case_officer=officer,
    )


def closed(outcome: Outcome, lifted_by: str, case_id: str = "MVP-AAAAA-AAAAA") -> HoldMatch:
    return match(case_id, phase=Phase.closed, outcome=outcome, lifted_by=lifted_by)


# --- --person --------------------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["HO-7781203", "ho-7781203", "  HO-7781203 ", "A1234567", "B1234567/001"])
def test_a_home_office_reference_is_accepted_in_upper_case(given: str) -> None:
    spec = parse_person(given, TODAY)
    assert spec.kind is SubjectKind.ho_ref
    assert spec.parts == (given.strip().upper(),)


def test_a_name_and_date_of_birth_are_accepted_with_any_spacing() -> None:
    spec = parse_person(" Rahman ,  Zara,2021-06-30 ", TODAY)
    assert spec == PersonSpec(SubjectKind.name_dob, ("Rahman", "Zara", "2021-06-30"))


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("", "empty"),
        ("Amina Rahman", "not a Home Office reference"),
        ("HO-ABC", "not a Home Office reference"),
        ("HO 77#1203", "not a Home Office reference"),  # "HO 7781203" is a reference (issue 8)
        ("Rahman, Amina", "2 comma-separated parts"),
        ("Rahman, Amina, 1998-03-14, extra", "4 comma-separated parts"),
        ("Rahman, , 1998-03-14", "given names"),
        ("123, Amina, 1998-03-14", "family name"),
        ("Rahman, Amina, 14/03/1998", "YYYY-MM-DD"),
        ("Rahman, Amina, 19980314", "YYYY-MM-DD"),
        ("Rahman, Amina, 1998-02-30", "not a real date"),
        ("Rahman, Amina, 2027-01-01", "future"),
        ("Rahman, Amina, 1890-01-01", "120 years"),
    ],
)
def test_a_malformed_person_is_refused_naming_the_problem_without_echoing_it(
    given: str, problem: str
) -> None:
    with pytest.raises(ValueError) as refused:
        parse_person(given, TODAY)
    message = str(refused.value)
    assert problem in message
    for part in ("Rahman", "Amina", "1998", "7781203", "14/03"):
        assert part not in message


# --- who may ask -----------------------------------------------------------------------------------


def test_enforcement_may_run_a_check() -> None:
    assert may_check(ENFORCER) is None


@pytest.mark.parametrize(
    "role", [ActorRole.officer, ActorRole.supervisor, ActorRole.police, ActorRole.system]
)
def test_no_one_else_may_run_a_check(role: ActorRole) -> None:
    denied = may_check(Actor(role=role, id="X-1", force="WMP" if role is ActorRole.police else None))
    assert denied is not None and "only enforcement" in denied and role.value in denied


# --- the answer ------------------------------------------------------------------------------------


def test_a_person_with_no_case_is_permitted() -> None:
    verdict = decide([])
    assert verdict.permitted and verdict.case_ids == [] and verdict.officers == []
    assert "no protocol case" in verdict.reason


def test_a_protected_person_is_refused_with_the_case_and_the_officer_to_contact() -> None:
    verdict = decide([match()])
    assert not verdict.permitted
    assert verdict.case_ids == ["MVP-AAAAA-AAAAA"]
    assert verdict.officers == ["officer:NCCU-0042"]
    assert verdict.notify_case_ids == ["MVP-AAAAA-AAAAA"]
    assert "the person is protected" in verdict.reason


def test_a_protected_dependant_is_refused() -> None:
    verdict = decide([match(subject="dependant-1")])
    assert not verdict.permitted and "a dependant is protected" in verdict.reason


@pytest.mark.parametrize(
    "phase", [Phase.screening, Phase.protection, Phase.engagement, Phase.awaiting_release]
)
def test_every_open_phase_refuses(phase: Phase) -> None:
    assert not decide([match(phase=phase)]).permitted


def test_a_pending_exclusion_decision_refuses() -> None:
    verdict = decide([match(pending=(DecisionKind.exclusion,))])
    assert not verdict.permitted and "exclusion decision is pending" in verdict.reason


def test_a_pending_release_decision_refuses() -> None:
    verdict = decide([match(phase=Phase.awaiting_release, pending=(DecisionKind.release,))])
    assert not verdict.permitted and "release decision is pending" in verdict.reason


@pytest.mark.parametrize("outcome", [Outcome.excluded, Outcome.hold_released])
def test_a_hold_lifted_by_a_supervisor_permits(outcome: Outcome) -> None:
    verdict = decide([closed(outcome, "supervisor:SUP-7")])
    assert verdict.permitted
    assert verdict.case_ids == ["MVP-AAAAA-AAAAA"] and verdict.notify_case_ids == []
    assert "supervisor:SUP-7" in verdict.reason


@pytest.mark.parametrize("lifted_by", ["system:workflow", "officer:NCCU-0042", None])
def test_an_excluded_case_without_a_supervisor_on_record_refuses(lifted_by: str | None) -> None:
    verdict = decide([match(phase=Phase.closed, outcome=Outcome.excluded, lifted_by=lifted_by)])
    assert not verdict.permitted and "no supervisor" in verdict.reason


@pytest.mark.parametrize(
    ("outcome", "lifted_by", "why"),
    [
        (Outcome.regularised, "officer:NCCU-0042", "granted leave"),
        (Outcome.status_confirmed, "system:workflow", "secure status"),
        (Outcome.departed, "officer:NCCU-0042", "departed"),
        (Outcome.withdrawn, "police:WMP-4471:WMP", "withdrawn"),
    ],
)
def test_other_closed_cases_refuse_with_a_reason_and_are_not_signalled(
    outcome: Outcome, lifted_by: str, why: str
) -> None:
    verdict = decide([closed(outcome, lifted_by)])
    assert not verdict.permitted and why in verdict.reason
    assert verdict.case_ids == ["MVP-AAAAA-AAAAA"] and verdict.officers == ["officer:NCCU-0042"]
    assert verdict.notify_case_ids == []  # a closed case workflow takes no signal


def test_one_protecting_case_refuses_even_when_another_was_lifted_by_a_supervisor() -> None:
    verdict = decide(
        [closed(Outcome.excluded, "supervisor:SUP-7", "MVP-BBBBB-BBBBB"), match("MVP-AAAAA-AAAAA")]
    )
    assert not verdict.permitted
    assert verdict.case_ids == ["MVP-AAAAA-AAAAA"]
    assert "MVP-BBBBB-BBBBB" not in verdict.reason


def test_every_protecting_case_is_named_once_and_every_officer_listed_once() -> None:
    verdict = decide(
        [
            match("MVP-BBBBB-BBBBB", officer="officer:B"),
            match("MVP-AAAAA-AAAAA", officer="officer:A"),
            match("MVP-AAAAA-AAAAA", subject="dependant-1", officer="officer:A"),
            closed(Outcome.departed, "officer:C", "MVP-CCCCC-CCCCC"),
        ]
    )
    assert verdict.case_ids == ["MVP-AAAAA-AAAAA", "MVP-BBBBB-BBBBB", "MVP-CCCCC-CCCCC"]
    assert verdict.officers == ["officer:A", "officer:B", "officer:NCCU-0042"]
    assert verdict.notify_case_ids == ["MVP-AAAAA-AAAAA", "MVP-BBBBB-BBBBB"]


# --- actions after a check -------------------------------------------------------------------------


def on_record(permitted: bool, *actions: EnforcementAction) -> CheckOnRecord:
    return CheckOnRecord(
        check_id="check-1",
        at=datetime(2026, 11, 21, tzinfo=UTC),
        actor="enforcement:ENF-3",
        permitted=permitted,
        subject=SUBJECT,
        case_ids=[],
        actions=list(actions),
    )


PERMITTED = Verdict(permitted=True, reason="no protocol case matches this person: no hold applies")
REFUSED = Verdict(permitted=False, reason="case MVP-AAAAA-AAAAA: the person is protected (hold in force)")


def test_an_action_after_a_permitted_check_is_accepted() -> None:
    assert action_refusal(ENFORCER, "check-1", on_record(True), EnforcementAction.detained, PERMITTED) is None


def test_removal_may_follow_detention_on_the_same_check() -> None:
    check = on_record(True, EnforcementAction.detained)
    assert action_refusal(ENFORCER, "check-1", check, EnforcementAction.removed, PERMITTED) is None


def test_an_action_after_a_refused_check_is_refused() -> None:
    refused = action_refusal(ENFORCER, "check-1", on_record(False), EnforcementAction.detained, None)
    assert refused is not None and "was refused" in refused


def test_an_action_after_an_unknown_check_is_refused() -> None:
    refused = action_refusal(ENFORCER, "check-9", None, EnforcementAction.removed, None)
    assert refused is not None and "no enforcement check check-9" in refused


def test_an_action_is_refused_when_the_person_is_protected_again_since_the_check() -> None:
    refused = action_refusal(ENFORCER, "check-1", on_record(True), EnforcementAction.detained, REFUSED)
    assert refused is not None and "protected again" in refused and "MVP-AAAAA-AAAAA" in refused


def test_the_same_action_is_not_recorded_twice_on_one_check() -> None:
    check = on_record(True, EnforcementAction.detained)
    refused = action_refusal(ENFORCER, "check-1", check, EnforcementAction.detained, PERMITTED)
    assert refused is not None and "already recorded" in refused


def test_only_enforcement_records_an_action() -> None:
    officer = Actor(role=ActorRole.officer, id="NCCU-0042")
    refused = action_refusal(officer, "check-1", on_record(True), EnforcementAction.detained, PERMITTED)
    assert refused is not None and "only enforcement" in refused


def test_a_possible_match_on_a_protected_person_is_refused_as_a_possible_match() -> None:
    verdict = decide([match().model_copy(update={"possible": True})])
    assert not verdict.permitted
    assert verdict.reason == "case MVP-AAAAA-AAAAA: possible match: contact the case officer"
    assert verdict.possible_case_ids == ["MVP-AAAAA-AAAAA"] and verdict.possible_match
    assert verdict.officers == ["officer:NCCU-0042"] and verdict.notify_case_ids == ["MVP-AAAAA-AAAAA"]


def test_an_exact_match_on_a_case_is_not_reported_as_only_possible() -> None:
    exact, possible = match(), match(subject="dependant-1").model_copy(update={"possible": True})
    verdict = decide([exact, possible])
    assert not verdict.permitted and verdict.possible_case_ids == [] and not verdict.possible_match


@pytest.mark.parametrize("written", ["HO9182736", "HO-09182736", "ho 9182736"])
def test_a_reference_is_accepted_however_it_is_spaced(written: str) -> None:
    spec = parse_person(written, TODAY)
    assert spec.kind is SubjectKind.ho_ref
