"""The case lifecycle (PROTOCOL.md §§3-8), walked through its pure state machine: what each step
changes, what it records (and for a sharing: what, with whom, why) and whom it tells."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from models.case import (
    SYSTEM,
    Actor,
    ActorRole,
    ApplicationEvent,
    ApplicationStage,
    CaseCommand,
    CaseState,
    ContactRecord,
    ContactResult,
    DecisionKind,
    DepartureRecord,
    EnforcementCheckNotice,
    ExclusionDecision,
    ExclusionIndicator,
    FactKind,
    FactReported,
    FactSource,
    FactVerified,
    Ground,
    InvestigationStatus,
    NoticeKind,
    Outcome,
    Phase,
    PoliceUpdate,
    Reassign,
    Recipient,
    RecordEntry,
    ReleaseDecision,
    Reopen,
    Route,
    RouteStarted,
    Screening,
    Signpost,
    Withdrawal,
)
from models.records import ImmigrationStatus
from models.referral import Referral
from protocol import authority, lifecycle
from protocol.intake import parse_referral
from protocol.lifecycle import Step
from protocol.policy import policy
from protocol.screening import RULES_VERSION, unavailable

EXAMPLES = Path(__file__).parents[2] / "examples"
POLICY = policy("2026.1")
T0 = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)

OFFICER = Actor(role=ActorRole.officer, id="IE-101")
SUPERVISOR = Actor(role=ActorRole.supervisor, id="IE-SUP-7")
POLICE = Actor(role=ActorRole.police, id="WMP-4471", force="WMP")  # the force that referred Amina
OTHER_POLICE = Actor(role=ActorRole.police, id="MPS-22019", force="MPS")
ENFORCER = Actor(role=ActorRole.enforcement, id="ENF-3")

CUSTODIAL = ExclusionIndicator.custodial_12_months
DEPORTATION = ExclusionIndicator.deportation_order


def referral(name: str = "referral-domestic-abuse.json") -> Referral:
    raw = json.loads((EXAMPLES / name).read_text())
    parsed, problems = parse_referral(raw, T0)
    assert parsed is not None, problems
    return parsed


AMINA = referral()
DARIUSZ = referral("referral-trafficking.json")
ALONE = AMINA.model_copy(update={"dependants": []})  # Amina's referral without her son


def screening(
    *,
    status: ImmigrationStatus = ImmigrationStatus.no_status,
    record_found: bool = True,
    secure: bool = False,
    indicators: tuple[ExclusionIndicator, ...] = (),
    trigger: str = "referral",
    at: datetime = T0,
) -> Screening:
    return Screening(
        screened_at=at,
        record_found=record_found,
        status=status,
        secure=secure,
        indicators=list(indicators),
        rules_version=RULES_VERSION,
        trigger=trigger,
    )


SIGNPOSTS = [Signpost(route=Route.legal_advice, why="No status: independent advice.", given_at=T0)]


def opened(of: Referral = AMINA) -> CaseState:
    return lifecycle.open_case("case-1", of, OFFICER, T0, POLICY).state


def protected(*indicators: ExclusionIndicator) -> CaseState:
    """Amina's case, screened with no status and the given indicators: in protection."""
    return lifecycle.screened(opened(), screening(indicators=indicators), SIGNPOSTS, T0, POLICY).state


def do(state: CaseState, command: CaseCommand, now: datetime = T0) -> Step:
    """Carry out a command the way the workflow does, insisting that it is permitted and possible."""
    assert authority.not_permitted(state, command) is None
    assert lifecycle.refusal(state, command, now) is None
    return lifecycle.apply_command(state, command, now, POLICY)


def police(investigation: InvestigationStatus | None = None, **changes: object) -> PoliceUpdate:
    return PoliceUpdate.model_validate({"actor": POLICE, "investigation": investigation, **changes})


def application(stage: ApplicationStage, number: int | None = None) -> ApplicationEvent:
    return ApplicationEvent(
        actor=OFFICER, route=Route.appendix_victim_of_domestic_abuse, stage=stage, number=number
    )


def investigation_over(state: CaseState, now: datetime = T0) -> Step:
    return do(state, police(InvestigationStatus.no_further_action), now)


def in_engagement(now: datetime = T0) -> CaseState:
    state = investigation_over(protected(), now).state
    assert state.phase is Phase.engagement
    return state


def reached(state: CaseState, now: datetime = T0) -> CaseState:
    """The person reached at `now`: the next contact is an interval away."""
    return do(state, ContactRecord(actor=OFFICER, result=ContactResult.reached), now).state


def awaiting_release() -> tuple[CaseState, datetime]:
    state = in_engagement()
    assert state.engagement_ends_at is not None
    step = lifecycle.tick(state, state.engagement_ends_at, POLICY)
    assert step is not None
    return step.state, state.engagement_ends_at


def actions(step: Step) -> list[str]:
    return [r.action for r in step.records]


def sharing(step: Step, kind: NoticeKind, recipient: Recipient) -> RecordEntry:
    """The record of the sharing done by the notice of this kind to this recipient."""
    [notice] = [n for n in step.notices if (n.kind, n.recipient) == (kind, recipient)]
    summary = f"{kind.value} notice queued for {recipient.value}"
    [entry] = [r for r in step.records if r.action == "information_shared" and r.summary == summary]
    return entry


def notices(step: Step) -> list[tuple[Recipient, NoticeKind]]:
    return [(n.recipient, n.kind) for n in step.notices]


# --- opening ------------------------------------------------------------------------------------


def test_opening_records_what_police_shared_with_whom_and_why() -> None:
    step = lifecycle.open_case("case-1", AMINA, OFFICER, T0, POLICY)
    received = [r for r in step.records if r.action == "information_received"]
    assert len(received) == 1
    [entry] = received
    assert entry.shared_why == [p.value for p in AMINA.purposes]
    assert entry.shared_with == f"{lifecycle.IE}, from referring officer WMP-4471 (WMP)"
    assert entry.shared_what == [
        "basic information (NPCC §6.1)",
        "additional information (NPCC §6.2), with the person's views recorded",
        "1 dependant(s)",
        "safe contact arrangements",
    ]
    assert entry.actor == "officer:IE-101" and entry.at == T0
    assert "person told" in entry.summary


def test_opening_records_a_referral_without_additional_information_and_delayed_sharing() -> None:
    step = lifecycle.open_case("case-2", DARIUSZ, OFFICER, T0, POLICY)
    [entry] = [r for r in step.records if r.action == "information_received"]
    assert entry.shared_what == ["basic information (NPCC §6.1)", "safe contact arrangements"]
    assert entry.shared_why == ["confirm_status", "assist_investigation", "identify_vulnerability"]
    assert "sharing delayed for protective measures" in entry.summary
    assert "person to be told" in entry.summary


def test_opening_places_the_hold_and_waits_for_screening() -> None:
    step = lifecycle.open_case("case-1", AMINA, OFFICER, T0, POLICY)
    assert actions(step) == ["information_received", "hold_placed"]
    placed = step.records[1]
    assert placed.shared_with == lifecycle.ENFORCEMENT
    assert "1 dependant(s)" in placed.summary
    state = step.state
    assert state.phase is Phase.screening
    assert state.hold_grounds == [Ground.screening_pending, Ground.investigation_live]
    assert state.contact.next_due == T0
    assert state.policy_version == POLICY.version
    assert lifecycle.view(state, T0, POLICY).hold.active
    assert step.notices == []


def test_a_case_being_screened_refuses_commands_but_reports_enforcement_checks() -> None:
    state = opened()
    assert lifecycle.refusal(state, police(InvestigationStatus.charged), T0) is not None
    check = EnforcementCheckNotice(actor=ENFORCER, check_id="chk-1", reason="pre-removal check")
    step = do(state, check)
    assert actions(step) == ["enforcement_check_refused"]
    assert notices(step) == [(Recipient.case_officer, NoticeKind.enforcement_check_refused)]
    assert step.state.phase is Phase.screening


# --- screening ----------------------------------------------------------------------------------


def test_secure_status_closes_the_case_as_status_confirmed() -> None:
    result = screening(status=ImmigrationStatus.british_citizen, secure=True)
    step = lifecycle.screened(opened(ALONE), result, [], T0, POLICY)
    state = step.state
    assert state.phase is Phase.closed
    assert state.closure is not None and state.closure.outcome is Outcome.status_confirmed
    assert state.closure.by == SYSTEM
    assert state.status_at_referral is ImmigrationStatus.british_citizen
    assert state.hold_lifted_at == T0 and state.hold_grounds == []
    assert not lifecycle.view(state, T0, POLICY).hold.active
    assert [a for a in actions(step) if a != "information_shared"] == [
        "screened",
        "case_closed",
        "hold_lifted",
    ]


def test_secure_status_tells_the_person_and_the_referring_officer() -> None:
    result = screening(status=ImmigrationStatus.british_citizen, secure=True)
    step = lifecycle.screened(opened(ALONE), result, [], T0, POLICY)
    for recipient in (Recipient.person, Recipient.referring_officer):
        outcome = sharing(step, NoticeKind.outcome, recipient)
        assert outcome.shared_what == lifecycle.SHARED_BY_NOTICE[NoticeKind.outcome]
    assert sharing(step, NoticeKind.outcome, Recipient.person).shared_with == lifecycle.PERSON
    officer = sharing(step, NoticeKind.outcome, Recipient.referring_officer)
    assert officer.shared_with == "referring officer WMP-4471 (WMP)"


def test_secure_status_tells_the_person_and_the_referring_officer_what_the_status_is() -> None:
    """PROTOCOL §4.1: establishing status is itself protective; both are told what it is."""
    result = screening(status=ImmigrationStatus.settled, secure=True)
    step = lifecycle.screened(opened(ALONE), result, [], T0, POLICY)
    for recipient in (Recipient.person, Recipient.referring_officer):
        [told] = [n for n in step.notices if (n.kind, n.recipient) == (NoticeKind.status, recipient)]
        assert told.facts["status"] == "settled"
        assert sharing(step, NoticeKind.status, recipient).shared_what == ["immigration status"]


def test_secure_status_of_a_person_with_dependants_keeps_the_case_open_and_the_hold_on_them() -> None:
    """The records screened are the person's: a dependant's status is not known, so the hold stays on them
    and the case officer is asked to find it out; only a supervisor's release lifts the hold later."""
    assert AMINA.dependants
    result = screening(status=ImmigrationStatus.british_citizen, secure=True)
    step = lifecycle.screened(opened(), result, SIGNPOSTS, T0, POLICY)
    state = step.state
    assert state.phase is Phase.protection and state.closure is None
    assert state.status_at_referral is ImmigrationStatus.british_citizen
    assert lifecycle.view(state, T0, POLICY).hold.active
    assert "dependants_status_unknown" in actions(step) and "case_closed" not in actions(step)
    [task] = [n for n in step.notices if n.kind is NoticeKind.dependants_status]
    assert task.recipient is Recipient.case_officer and task.facts["dependants"] == "1"
    assert actions(step).count("signposting_given") == 1  # given once, with the first notices
    assert (Recipient.person, NoticeKind.status) in notices(step)


def test_secure_status_of_a_person_with_dependants_closed_the_case_in_workflows_from_before() -> None:
    result = screening(status=ImmigrationStatus.british_citizen, secure=True)
    step = lifecycle.screened(opened(), result, [], T0, POLICY, dependants_keep_hold=False)
    assert step.state.closure is not None and step.state.closure.outcome is Outcome.status_confirmed


def test_no_record_keeps_the_hold_and_says_status_unknown() -> None:
    result = screening(status=ImmigrationStatus.unknown, record_found=False)
    step = lifecycle.screened(opened(), result, SIGNPOSTS, T0, POLICY)
    state = step.state
    assert state.phase is Phase.protection
    assert state.status_at_referral is ImmigrationStatus.unknown
    assert "status unknown" in step.records[0].summary
    assert state.signposting == SIGNPOSTS
    assert notices(step) == [
        (Recipient.referring_officer, NoticeKind.acknowledgement),
        (Recipient.person, NoticeKind.protocol_notice),
    ]
    ack = step.notices[0]
    assert ack.facts["status"] == "unknown" and ack.facts["record_found"] == "false"
    assert ack.facts["hold"] == "in force" and ack.facts["signposting"] == "legal_advice"
    assert sharing(step, NoticeKind.protocol_notice, Recipient.person).shared_with == lifecycle.PERSON
    assert state.hold_grounds == [Ground.investigation_live]


def test_screening_records_the_rule_set_version() -> None:
    step = lifecycle.screened(opened(), screening(), SIGNPOSTS, T0, POLICY)
    assert step.records[0].action == "screened"
    assert RULES_VERSION in step.records[0].summary


def test_exclusion_indicators_never_close_the_case() -> None:
    result = screening(status=ImmigrationStatus.leave_to_remain, indicators=(CUSTODIAL, DEPORTATION))
    step = lifecycle.screened(opened(), result, SIGNPOSTS, T0, POLICY)
    state = step.state
    assert state.phase is Phase.protection and state.closure is None
    assert [p.kind for p in state.pending] == [DecisionKind.exclusion]
    assert Ground.exclusion_decision_pending in state.hold_grounds
    assert "exclusion_decision_required" in actions(step)
    [decision] = [n for n in step.notices if n.kind is NoticeKind.decision_required]
    assert decision.recipient is Recipient.supervisors
    assert decision.facts["indicators"] == "custodial_12_months,deportation_order"


def test_exclusion_decision_pending_alone_keeps_the_hold() -> None:
    state = protected(CUSTODIAL)
    state = investigation_over(state).state
    assert state.phase is Phase.protection
    assert state.hold_grounds == [Ground.exclusion_decision_pending]


def test_confirmed_exclusion_closes_the_case_as_excluded() -> None:
    confirm = ExclusionDecision(actor=SUPERVISOR, verdict="confirm", reason="s.32 automatic deportation")
    step = do(protected(CUSTODIAL), confirm)
    state = step.state
    assert state.closure is not None and state.closure.outcome is Outcome.excluded
    assert state.closure.by == SUPERVISOR
    assert actions(step)[:3] == ["exclusion_confirmed", "case_closed", "hold_lifted"]
    [decision] = state.decisions
    assert (decision.verdict, decision.indicators) == ("confirm", [CUSTODIAL])
    assert (Recipient.person, NoticeKind.outcome) in notices(step)
    assert (Recipient.referring_officer, NoticeKind.outcome) in notices(step)


def test_overridden_exclusion_continues_protection() -> None:
    override = ExclusionDecision(actor=SUPERVISOR, verdict="override", reason="victim of trafficking first")
    step = do(protected(CUSTODIAL), override)
    state = step.state
    assert state.phase is Phase.protection and state.closure is None
    assert state.pending == [] and state.exclusion_overridden
    assert actions(step) == ["exclusion_overridden"]
    assert state.hold_grounds == [Ground.investigation_live]


def test_overridden_indicators_are_not_raised_again_on_rescreening() -> None:
    override = ExclusionDecision(actor=SUPERVISOR, verdict="override", reason="victim of trafficking first")
    state = do(protected(CUSTODIAL), override).state
    again = screening(indicators=(CUSTODIAL,), trigger="person_became_suspect_or_charged")
    step = lifecycle.screened(state, again, [], T0, POLICY)
    assert step.state.pending == []
    assert step.notices == []
    assert step.state.status_at_referral is ImmigrationStatus.no_status


def test_new_indicators_are_raised_on_rescreening_after_an_override() -> None:
    override = ExclusionDecision(actor=SUPERVISOR, verdict="override", reason="victim of trafficking first")
    state = do(protected(CUSTODIAL), override).state
    again = screening(indicators=(CUSTODIAL, DEPORTATION), trigger="person_became_suspect_or_charged")
    step = lifecycle.screened(state, again, [], T0, POLICY)
    [pending] = step.state.pending
    assert pending.kind is DecisionKind.exclusion
    assert pending.why == "exclusion indicators: deportation_order"
    assert notices(step) == [(Recipient.supervisors, NoticeKind.decision_required)]


def test_rescreening_does_not_send_the_first_notices_again_or_close_a_secure_case() -> None:
    state = protected()
    again = screening(
        status=ImmigrationStatus.settled, secure=True, trigger="person_became_suspect_or_charged"
    )
    step = lifecycle.screened(state, again, [], T0, POLICY)
    assert step.state.phase is Phase.protection
    assert step.notices == []
    assert step.state.status_at_referral is ImmigrationStatus.no_status


def test_an_exclusion_decision_needs_one_pending() -> None:
    confirm = ExclusionDecision(actor=SUPERVISOR, verdict="confirm", reason="s.32 automatic deportation")
    assert lifecycle.refusal(protected(), confirm, T0) == "no exclusion decision is pending on this case"


# --- police updates -----------------------------------------------------------------------------


def test_police_update_moves_the_investigation_forward_and_records_the_sharing() -> None:
    state = protected()
    for status in (
        InvestigationStatus.under_investigation,
        InvestigationStatus.suspect_arrested,
        InvestigationStatus.charged,
        InvestigationStatus.awaiting_trial,
        InvestigationStatus.at_trial,
        InvestigationStatus.concluded,
        InvestigationStatus.appeal_pending,
        InvestigationStatus.concluded,
    ):
        step = do(state, police(status))
        state = step.state
        assert state.investigation is status
        entry = step.records[0]
        assert entry.action == "police_update" and entry.shared_with == lifecycle.IE
        assert entry.shared_why == ["NPCC §5.4.3: assist the investigation"]
        assert entry.actor == "police:WMP-4471:WMP"
    assert state.phase is Phase.engagement


def test_police_may_skip_stages_forward() -> None:
    state = do(protected(), police(InvestigationStatus.charged)).state
    assert state.investigation is InvestigationStatus.charged


@pytest.mark.parametrize(
    ("before", "after", "why"),
    [
        (InvestigationStatus.charged, InvestigationStatus.under_investigation, "cannot go back"),
        (InvestigationStatus.at_trial, InvestigationStatus.reported, "cannot go back"),
        (InvestigationStatus.at_trial, InvestigationStatus.no_further_action, "cannot follow at_trial"),
        (InvestigationStatus.concluded, InvestigationStatus.no_further_action, "cannot follow concluded"),
        (InvestigationStatus.concluded, InvestigationStatus.at_trial, "only move to appeal_pending"),
        (InvestigationStatus.appeal_pending, InvestigationStatus.at_trial, "can only be concluded"),
        (InvestigationStatus.no_further_action, InvestigationStatus.charged, "only be reopened"),
    ],
)
def test_impossible_investigation_transitions_are_refused(
    before: InvestigationStatus, after: InvestigationStatus, why: str
) -> None:
    state = protected().model_copy(update={"investigation": before})
    reason = lifecycle.refusal(state, police(after), T0)
    assert reason is not None and why in reason


def test_an_investigation_closed_with_no_further_action_can_be_reopened() -> None:
    state = in_engagement()
    step = do(state, police(InvestigationStatus.under_investigation))
    assert step.state.phase is Phase.protection
    assert step.state.investigation is InvestigationStatus.under_investigation


def test_a_concluded_case_can_go_to_appeal() -> None:
    state = do(protected(), police(InvestigationStatus.concluded)).state
    assert state.phase is Phase.engagement
    step = do(state, police(InvestigationStatus.appeal_pending))
    assert step.state.phase is Phase.protection
    assert step.state.hold_grounds == [Ground.investigation_live]


def test_an_empty_police_update_is_refused() -> None:
    reason = lifecycle.refusal(protected(), police(), T0)
    assert reason is not None and "changes nothing" in reason


def test_protective_measures_are_recorded() -> None:
    step = do(protected(), police(protective_measures="non-molestation order"))
    assert step.records[0].note == "protective measures: non-molestation order"  # kept, sealed
    assert "protective measures updated" in step.records[0].summary


@pytest.mark.parametrize(
    "update",
    [PoliceUpdate(actor=POLICE, person_is_suspect=True), PoliceUpdate(actor=POLICE, person_charged=True)],
    ids=["suspect", "charged"],
)
def test_a_person_who_becomes_a_suspect_is_rescreened_and_keeps_the_hold(update: PoliceUpdate) -> None:
    step = do(protected(), update)
    assert step.rescreen is True
    assert step.state.person_is_suspect
    assert step.state.phase is Phase.protection
    assert lifecycle.view(step.state, T0, POLICY).hold.active
    assert "suspect/charge" in step.records[0].shared_what


def test_a_suspect_charged_later_is_rescreened_again_but_not_for_a_repeat() -> None:
    state = do(protected(), police(person_is_suspect=True)).state
    repeat = lifecycle.refusal(state, police(person_is_suspect=True), T0)
    assert repeat is not None and "changes nothing" in repeat
    charged = do(state, police(person_charged=True))
    assert charged.rescreen is True and charged.state.person_charged


def test_a_suspect_in_engagement_keeps_the_hold_while_rescreened() -> None:
    step = do(in_engagement(), police(person_is_suspect=True))
    assert step.rescreen is True
    assert step.state.phase is Phase.engagement
    assert lifecycle.view(step.state, T0, POLICY).hold.active


def test_indicators_found_on_rescreening_in_engagement_resume_protection() -> None:
    state = do(in_engagement(), police(person_charged=True)).state
    again = screening(indicators=(CUSTODIAL,), trigger="person_became_suspect_or_charged")
    step = lifecycle.screened(state, again, [], T0, POLICY)
    assert step.state.phase is Phase.protection
    assert step.state.engagement_ends_at is None
    assert (Recipient.person, NoticeKind.protection_resumed) in notices(step)


# --- applications -------------------------------------------------------------------------------


def test_an_application_granted_after_review_closes_the_case_as_regularised() -> None:
    state = investigation_over(protected()).state
    step = do(state, application(ApplicationStage.submitted))
    state = step.state
    assert [a.number for a in state.applications] == [1]
    assert state.phase is Phase.protection and state.hold_grounds == [Ground.application_pending]

    state = do(state, application(ApplicationStage.refused)).state
    assert state.phase is Phase.engagement

    state = do(state, application(ApplicationStage.review_lodged)).state
    assert state.phase is Phase.protection and state.hold_grounds == [Ground.application_pending]

    step = do(state, application(ApplicationStage.granted, number=1))
    assert step.state.closure is not None and step.state.closure.outcome is Outcome.regularised
    assert actions(step)[:3] == ["application_granted", "case_closed", "hold_lifted"]


def test_a_rejected_application_can_be_resubmitted() -> None:
    state = do(protected(), application(ApplicationStage.submitted)).state
    state = do(state, application(ApplicationStage.rejected)).state
    assert state.applications[0].stage is ApplicationStage.rejected
    step = do(state, application(ApplicationStage.submitted))
    assert [(a.number, a.stage) for a in step.state.applications] == [
        (1, ApplicationStage.rejected),
        (2, ApplicationStage.submitted),
    ]
    assert Ground.application_pending in step.state.hold_grounds


def test_a_grant_on_an_unknown_application_is_refused() -> None:
    state = do(protected(), application(ApplicationStage.submitted)).state
    assert lifecycle.refusal(state, application(ApplicationStage.granted, number=7), T0) == (
        "no application 7 on this case"
    )
    assert lifecycle.refusal(protected(), application(ApplicationStage.granted), T0) == (
        "no application on this case yet"
    )


@pytest.mark.parametrize(
    ("stage", "why"),
    [
        (ApplicationStage.rejected, "application 1 is refused: it cannot become rejected"),
        (ApplicationStage.granted, "application 1 is refused: it cannot become granted"),
        (ApplicationStage.refused, "application 1 is refused: it cannot become refused"),
    ],
)
def test_impossible_application_decisions_are_refused(stage: ApplicationStage, why: str) -> None:
    state = do(protected(), application(ApplicationStage.submitted)).state
    state = do(state, application(ApplicationStage.refused)).state
    assert lifecycle.refusal(state, application(stage), T0) == why


def test_a_new_application_takes_its_number_from_the_case() -> None:
    reason = lifecycle.refusal(protected(), application(ApplicationStage.submitted, number=3), T0)
    assert reason is not None and "do not give one" in reason


def test_several_applications_need_a_number() -> None:
    state = do(protected(), application(ApplicationStage.submitted)).state
    state = do(state, application(ApplicationStage.rejected)).state
    state = do(state, application(ApplicationStage.submitted)).state
    reason = lifecycle.refusal(state, application(ApplicationStage.granted), T0)
    assert reason is not None and "--number" in reason
    assert do(state, application(ApplicationStage.granted, number=2)).state.phase is Phase.closed


# --- route clocks -------------------------------------------------------------------------------


def test_the_concession_clock_defaults_to_the_policy_length() -> None:
    step = do(protected(), RouteStarted(actor=OFFICER, route=Route.domestic_abuse_concession))
    [clock] = step.state.route_clocks
    assert clock.started_at == T0 and clock.ends_at == T0 + POLICY.concession_leave
    assert step.records[0].action == "route_clock_started"


def test_the_nrm_clock_defaults_to_the_minimum_recovery_period() -> None:
    step = do(protected(), RouteStarted(actor=OFFICER, route=Route.national_referral_mechanism))
    [clock] = step.state.route_clocks
    assert clock.ends_at == T0 + POLICY.nrm_min_recovery


def test_a_route_clock_can_be_given_its_length() -> None:
    step = do(protected(), RouteStarted(actor=OFFICER, route=Route.other, days=45))
    assert step.state.route_clocks[0].ends_at == T0 + timedelta(days=45)


def test_a_route_clock_with_no_policy_default_needs_its_days() -> None:
    reason = lifecycle.refusal(protected(), RouteStarted(actor=OFFICER, route=Route.foreign_witness), T0)
    assert reason is not None and "no default clock for foreign_witness" in reason


@pytest.mark.parametrize("days", [0, -3, 3651])
def test_a_route_clock_outside_1_to_3650_days_is_not_a_command(days: int) -> None:
    with pytest.raises(ValidationError, match="days"):
        RouteStarted(actor=OFFICER, route=Route.national_referral_mechanism, days=days)


def test_a_witness_is_held_until_the_trial_date_plus_the_policy_margin() -> None:
    trial = date(2027, 3, 15)
    step = do(protected(), police(trial_date=trial))
    [clock] = step.state.route_clocks
    assert clock.route is Route.foreign_witness
    assert clock.ends_at == datetime(2027, 3, 15, 10, 0, tzinfo=UTC) + POLICY.witness_after_trial


def test_a_running_route_clock_holds_after_the_investigation_ends_and_its_end_starts_engagement() -> None:
    state = do(protected(), RouteStarted(actor=OFFICER, route=Route.national_referral_mechanism)).state
    state = investigation_over(state).state
    assert state.phase is Phase.protection and state.hold_grounds == [Ground.route_clock]
    ends = T0 + POLICY.nrm_min_recovery
    assert lifecycle.next_wakeup(state, T0, POLICY) == T0 + POLICY.contact_grace
    early = lifecycle.tick(state, ends - TICK, POLICY)
    assert early is not None  # only the overdue contact escalates
    assert actions(early) == ["contact_overdue_escalated"]
    assert early.state.phase is Phase.protection and early.state.hold_grounds == [Ground.route_clock]
    step = lifecycle.tick(early.state, ends, POLICY)
    assert step is not None
    assert actions(step).count("route_clock_ended") == 1
    assert step.state.phase is Phase.engagement
    assert step.state.engagement_ends_at == ends + POLICY.engagement_notice


# --- pre-decision engagement and release --------------------------------------------------------


def test_when_the_last_ground_ends_the_person_is_engaged_with_a_notice() -> None:
    step = investigation_over(protected())
    state = step.state
    assert state.phase is Phase.engagement
    assert state.engagement_ends_at == T0 + POLICY.engagement_notice
    assert state.hold_grounds == [Ground.engagement_notice]
    assert lifecycle.view(state, T0, POLICY).hold.active
    assert "engagement_started" in actions(step)
    [notice] = step.notices
    assert (notice.recipient, notice.kind) == (Recipient.person, NoticeKind.engagement_notice)
    assert notice.facts["respond_by"] == (T0 + POLICY.engagement_notice).isoformat()
    assert sharing(step, NoticeKind.engagement_notice, Recipient.person).shared_with == lifecycle.PERSON


@pytest.mark.parametrize(
    "command",
    [
        ContactRecord(actor=OFFICER, result=ContactResult.reached, support_active=True),
        ApplicationEvent(actor=OFFICER, route=Route.other, stage=ApplicationStage.submitted),
        RouteStarted(actor=OFFICER, route=Route.domestic_abuse_concession),
        PoliceUpdate(actor=POLICE, investigation=InvestigationStatus.under_investigation),
    ],
)
def test_new_grounds_during_engagement_resume_protection(command: CaseCommand) -> None:
    step = do(in_engagement(), command, T0 + timedelta(days=5))
    assert step.state.phase is Phase.protection
    assert step.state.engagement_ends_at is None
    assert "protection_resumed" in actions(step)
    assert (Recipient.person, NoticeKind.protection_resumed) in notices(step)


def test_the_end_of_the_notice_period_asks_a_supervisor_to_decide_release() -> None:
    state = reached(in_engagement())
    ends = T0 + POLICY.engagement_notice
    step = lifecycle.tick(state, ends, POLICY)
    assert step is not None
    assert step.state.phase is Phase.awaiting_release
    assert [p.kind for p in step.state.pending] == [DecisionKind.release]
    assert step.state.hold_grounds == [Ground.release_decision_pending]
    assert "release_decision_required" in actions(step)
    [decision] = [n for n in step.notices if n.kind is NoticeKind.decision_required]
    assert decision.recipient is Recipient.supervisors and decision.facts["decision"] == "release"
    assert lifecycle.view(step.state, ends, POLICY).hold.active


def test_the_notice_period_does_not_end_a_moment_early() -> None:
    state = reached(in_engagement())
    assert lifecycle.tick(state, T0 + POLICY.engagement_notice - TICK, POLICY) is None


def test_release_is_refused_before_the_case_awaits_it() -> None:
    release = ReleaseDecision(actor=SUPERVISOR, reason="no grounds remain after engagement")
    for state in (protected(), in_engagement()):
        reason = lifecycle.refusal(state, release, T0)
        assert reason is not None and "release can only be authorised" in reason


def test_a_supervisor_authorising_release_lifts_the_hold() -> None:
    state, at = awaiting_release()
    release = ReleaseDecision(actor=SUPERVISOR, reason="no grounds remain after engagement")
    step = do(state, release, at + timedelta(hours=1))
    closed = step.state
    assert closed.phase is Phase.closed
    assert closed.closure is not None and closed.closure.outcome is Outcome.hold_released
    assert closed.closure.by == SUPERVISOR
    assert closed.hold_lifted_at == at + timedelta(hours=1)
    assert actions(step)[:3] == ["release_authorised", "case_closed", "hold_lifted"]
    [decision] = closed.decisions
    assert (decision.kind, decision.verdict) == (DecisionKind.release, "authorise")
    view = lifecycle.view(closed, at + timedelta(hours=1), POLICY)
    assert not view.hold.active and view.hold.grounds == [] and view.pending_decisions == []


def test_new_grounds_while_awaiting_release_withdraw_the_release_decision() -> None:
    state, at = awaiting_release()
    step = do(state, ContactRecord(actor=OFFICER, result=ContactResult.reached, support_active=True), at)
    assert step.state.phase is Phase.protection
    assert step.state.pending == []
    assert step.state.hold_grounds == [Ground.receiving_support]


# --- other closures -----------------------------------------------------------------------------


def test_police_of_the_referring_force_may_withdraw_the_referral() -> None:
    step = do(protected(), Withdrawal(actor=POLICE, reason="referral made in error", made_in_error=True))
    assert step.state.closure is not None and step.state.closure.outcome is Outcome.withdrawn
    assert step.state.closure.by == POLICE
    assert (Recipient.referring_officer, NoticeKind.outcome) in notices(step)


def test_a_departure_closes_the_case_as_departed() -> None:
    step = do(protected(), DepartureRecord(actor=OFFICER))
    assert step.state.closure is not None and step.state.closure.outcome is Outcome.departed


# --- who may do what ----------------------------------------------------------------------------


def test_police_of_another_force_may_not_update_or_withdraw() -> None:
    state = protected()
    for command in (
        PoliceUpdate(actor=OTHER_POLICE, investigation=InvestigationStatus.charged),
        Withdrawal(actor=OTHER_POLICE, reason="made in error"),
    ):
        reason = authority.not_permitted(state, command)
        assert reason is not None and "their own force referred" in reason


def test_police_without_a_force_code_may_not_update() -> None:
    nameless = Actor(role=ActorRole.police, id="PC-1")
    assert authority.not_permitted(protected(), PoliceUpdate(actor=nameless, person_charged=True)) is not None


@pytest.mark.parametrize("actor", [POLICE, SUPERVISOR, ENFORCER])
def test_only_an_officer_records_contact_and_applications(actor: Actor) -> None:
    state = protected()
    contact = ContactRecord(actor=actor, result=ContactResult.reached)
    app = ApplicationEvent(actor=actor, route=Route.other, stage=ApplicationStage.submitted)
    for command in (contact, app):
        reason = authority.not_permitted(state, command)
        assert reason is not None and reason.startswith("only officer may do this")


@pytest.mark.parametrize("actor", [OFFICER, POLICE, ENFORCER])
def test_only_a_supervisor_decides_exclusion_and_release(actor: Actor) -> None:
    state = protected(CUSTODIAL)
    exclusion = ExclusionDecision(actor=actor, verdict="override", reason="victim of trafficking first")
    release = ReleaseDecision(actor=actor, reason="no grounds remain after engagement")
    for command in (exclusion, release):
        reason = authority.not_permitted(state, command)
        assert reason is not None and reason.startswith("only supervisor may do this")


@pytest.mark.parametrize(
    "command",
    [
        PoliceUpdate(actor=ENFORCER, investigation=InvestigationStatus.no_further_action),
        Withdrawal(actor=ENFORCER, reason="not needed"),
        ContactRecord(actor=ENFORCER, result=ContactResult.reached),
        ApplicationEvent(actor=ENFORCER, route=Route.other, stage=ApplicationStage.submitted),
        RouteStarted(actor=ENFORCER, route=Route.other, days=3),
        DepartureRecord(actor=ENFORCER),
        ExclusionDecision(actor=ENFORCER, verdict="confirm", reason="removal is due"),
        ReleaseDecision(actor=ENFORCER, reason="removal is due now"),
    ],
)
def test_enforcement_may_do_nothing_but_the_check(command: CaseCommand) -> None:
    assert authority.not_permitted(protected(CUSTODIAL), command) is not None


def test_enforcement_check_on_a_protected_person_is_recorded_and_reported() -> None:
    check = EnforcementCheckNotice(actor=ENFORCER, check_id="chk-9", reason="pre-removal check")
    step = do(protected(), check)
    assert actions(step) == ["enforcement_check_refused"]
    assert step.records[0].actor == "enforcement:ENF-3"
    assert notices(step) == [(Recipient.case_officer, NoticeKind.enforcement_check_refused)]
    assert step.state.phase is Phase.protection


def test_a_command_refused_for_who_gave_it_is_recorded() -> None:
    state = protected()
    command = ContactRecord(actor=POLICE, result=ContactResult.reached)
    reason = authority.not_permitted(state, command)
    assert reason is not None
    step = lifecycle.refused(state, command, reason, T0, POLICY)
    [entry] = step.records
    assert entry.action == "command_refused" and entry.actor == "police:WMP-4471:WMP"
    assert entry.summary == f"contact refused: {reason}"
    assert entry.seq == state.record_seq + 1
    assert step.state.contact == state.contact and step.state.phase is state.phase
    assert step.accepted == "refused"


# --- closed cases -------------------------------------------------------------------------------


def closed() -> CaseState:
    return do(
        protected(), Withdrawal(actor=POLICE, reason="referral made in error", made_in_error=True)
    ).state


@pytest.mark.parametrize(
    "command",
    [
        PoliceUpdate(actor=POLICE, investigation=InvestigationStatus.charged),
        Withdrawal(actor=POLICE, reason="made in error"),
        ContactRecord(actor=OFFICER, result=ContactResult.reached, support_active=True),
        ApplicationEvent(actor=OFFICER, route=Route.other, stage=ApplicationStage.submitted),
        RouteStarted(actor=OFFICER, route=Route.other, days=3),
        DepartureRecord(actor=OFFICER),
        ExclusionDecision(actor=SUPERVISOR, verdict="confirm", reason="s.32 automatic deportation"),
        ReleaseDecision(actor=SUPERVISOR, reason="no grounds remain after engagement"),
        EnforcementCheckNotice(actor=ENFORCER, check_id="chk-2", reason="pre-removal check"),
        FactReported(actor=OFFICER, fact_kind=FactKind.person_left_uk, source=FactSource.person),
        FactVerified(actor=OFFICER, fact_number=1, verified=True),
    ],
)
def test_a_closed_case_refuses_every_command(command: CaseCommand) -> None:
    reason = lifecycle.refusal(closed(), command, T0 + timedelta(days=1))
    assert reason == "case case-1 is closed (withdrawn)"


def test_the_clock_changes_nothing_on_a_closed_case() -> None:
    state = closed()
    assert lifecycle.tick(state, T0 + timedelta(days=400), POLICY) is None
    assert lifecycle.next_wakeup(state, T0, POLICY) is None


# --- the record and the notices over a whole case -----------------------------------------------


def test_record_seq_numbers_are_contiguous_and_notice_keys_unique_across_a_case() -> None:
    steps: list[Step] = []

    def keep(step: Step | None) -> CaseState:
        assert step is not None
        steps.append(step)
        return step.state

    now = T0
    state = keep(lifecycle.open_case("case-1", AMINA, OFFICER, now, POLICY))
    state = keep(lifecycle.screened(state, screening(indicators=(CUSTODIAL,)), SIGNPOSTS, now, POLICY))
    override = ExclusionDecision(actor=SUPERVISOR, verdict="override", reason="victim of trafficking first")
    state = keep(do(state, override, now))
    state = keep(lifecycle.refused(state, DepartureRecord(actor=POLICE), "not allowed", now, POLICY))
    now += POLICY.contact_grace
    state = keep(lifecycle.tick(state, now, POLICY))
    state = keep(do(state, ContactRecord(actor=OFFICER, result=ContactResult.reached), now))
    state = keep(do(state, police(InvestigationStatus.no_further_action), now))
    now += POLICY.engagement_notice
    state = keep(lifecycle.tick(state, now, POLICY))
    state = keep(do(state, ReleaseDecision(actor=SUPERVISOR, reason="no grounds after engagement"), now))
    assert state.closure is not None and state.closure.outcome is Outcome.hold_released

    seqs = [r.seq for step in steps for r in step.records]
    assert seqs == list(range(1, len(seqs) + 1))
    assert state.record_seq == len(seqs)
    keys = [n.key for step in steps for n in step.notices]
    assert len(keys) == len(set(keys)) == state.notice_seq
    assert all(key.startswith("case-1/") for key in keys)


# --- the clock ----------------------------------------------------------------------------------


def test_next_wakeup_is_the_earliest_future_moment() -> None:
    state = protected()
    assert lifecycle.next_wakeup(state, T0, POLICY) == T0 + POLICY.contact_grace
    state = do(state, RouteStarted(actor=OFFICER, route=Route.other, days=3)).state
    assert lifecycle.next_wakeup(state, T0, POLICY) == T0 + timedelta(days=3)
    later = T0 + timedelta(days=3)
    assert lifecycle.next_wakeup(state, later, POLICY) == T0 + POLICY.contact_grace


def test_next_wakeup_includes_the_end_of_the_notice_period() -> None:
    state = reached(in_engagement())
    assert lifecycle.next_wakeup(state, T0, POLICY) == T0 + POLICY.engagement_notice


def test_next_wakeup_is_none_for_a_closed_case_or_one_being_screened() -> None:
    assert lifecycle.next_wakeup(closed(), T0, POLICY) is None
    assert lifecycle.next_wakeup(opened(), T0, POLICY) is None


def test_tick_returns_none_when_nothing_changes() -> None:
    state = protected()
    assert lifecycle.tick(state, T0 + timedelta(days=1), POLICY) is None
    assert lifecycle.tick(opened(), T0 + timedelta(days=100), POLICY) is None


def test_tick_never_lifts_the_hold() -> None:
    state = in_engagement()
    now = T0
    for _ in range(10):
        now += timedelta(days=30)
        step = lifecycle.tick(state, now, POLICY)
        state = step.state if step is not None else state
        assert state.phase is not Phase.closed
    assert state.phase is Phase.awaiting_release


def test_support_is_only_confirmed_or_ended_at_a_contact_in_which_the_person_was_reached() -> None:
    state = protected()
    for result in (ContactResult.no_answer, ContactResult.unsafe_to_talk):
        reason = lifecycle.refusal(
            state, ContactRecord(actor=OFFICER, result=result, support_active=False), T0
        )
        assert reason is not None and "reached" in reason
    assert do(
        state, ContactRecord(actor=OFFICER, result=ContactResult.reached, support_active=True)
    ).state.support_active


def test_a_police_update_that_changes_nothing_is_refused() -> None:
    state = protected()
    reason = lifecycle.refusal(state, police(state.investigation), T0)
    assert reason is not None and "changes nothing" in reason


def test_a_trial_date_in_the_past_is_refused() -> None:
    reason = lifecycle.refusal(protected(), police(trial_date=(T0 - timedelta(days=1)).date()), T0)
    assert reason is not None and "past" in reason


def test_protective_measures_are_kept_as_a_sealed_note_never_in_the_record_summary() -> None:
    step = do(protected(), police(protective_measures="Moved to a refuge in Coventry", note="Bail to 3 Jan"))
    [entry] = [e for e in step.records if e.action == "police_update"]
    assert entry.note == "protective measures: Moved to a refuge in Coventry; note: Bail to 3 Jan"
    assert "Coventry" not in entry.summary and entry.summary == "protective measures updated"


def test_a_reference_on_another_persons_record_keeps_the_hold_and_tells_the_officer_what_disagreed() -> None:
    result = screening(status=ImmigrationStatus.unknown, record_found=False).model_copy(
        update={"reference_mismatch": ["family name", "date of birth"]}
    )
    step = lifecycle.screened(opened(), result, SIGNPOSTS, T0, POLICY)
    assert step.state.phase is Phase.protection and step.state.hold_grounds
    assert step.state.status_at_referral is ImmigrationStatus.unknown
    assert "disagrees" in step.records[0].summary
    told = [n for n in step.notices if n.kind is NoticeKind.reference_mismatch]
    assert [n.recipient for n in told] == [Recipient.case_officer]
    assert told[0].facts["disagreed"] == "family name, date of birth"


def test_a_case_started_over_a_possible_duplicate_records_the_cases_and_the_sealed_reason() -> None:
    step = lifecycle.open_case(
        "MVP-NEW00-00000",
        AMINA,
        OFFICER,
        T0,
        POLICY,
        possible_duplicate_of=["MVP-OLD00-00000"],
        override_reason="Different person: checked passport with the referring officer",
    )
    entry = step.records[-1]
    assert entry.action == "possible_duplicate_overridden" and "MVP-OLD00-00000" in entry.summary
    assert entry.note == "Different person: checked passport with the referring officer"


def test_an_enforcement_check_refused_on_a_possible_match_says_so_to_the_officer() -> None:
    notice = EnforcementCheckNotice(
        actor=ENFORCER,
        check_id="check-1",
        reason="Planned visit",
        possible_match=True,
    )
    step = do(protected(), notice)
    assert "possible match: contact the case officer" in step.records[-1].summary
    assert step.records[-1].note == "Planned visit"  # the check's reason, sealed when stored
    assert step.notices[-1].facts["match"] == "possible"


# --- withdrawal (PROTOCOL §6, §8; issue 8 item 1) -----------------------------------------------


def with_application(state: CaseState) -> CaseState:
    submitted = ApplicationEvent(
        actor=OFFICER, route=Route.appendix_victim_of_domestic_abuse, stage=ApplicationStage.submitted
    )
    return do(state, submitted).state


def test_police_withdrawing_ends_the_police_ground_only_and_a_pending_application_keeps_the_hold() -> None:
    state = with_application(protected())
    step = do(state, Withdrawal(actor=POLICE, reason="victim no longer supports"))
    after = step.state
    assert after.phase is Phase.protection and after.closure is None
    assert after.investigation is InvestigationStatus.referral_withdrawn
    assert after.hold_grounds == [Ground.application_pending]
    assert "referral_withdrawn" in actions(step) and "hold_lifted" not in actions(step)
    assert step.accepted == "referral withdrawn: the hold stays on application_pending"


def test_a_withdrawal_made_in_error_does_not_close_while_another_ground_holds() -> None:
    state = do(
        protected(), ContactRecord(actor=OFFICER, result=ContactResult.reached, support_active=True)
    ).state
    step = do(state, Withdrawal(actor=POLICE, reason="wrong person referred", made_in_error=True))
    assert step.state.closure is None and step.state.hold_grounds == [Ground.receiving_support]


def test_a_withdrawal_made_in_error_with_no_other_ground_closes_as_withdrawn_at_once() -> None:
    step = do(protected(), Withdrawal(actor=POLICE, reason="wrong person referred", made_in_error=True))
    assert step.state.closure is not None and step.state.closure.outcome is Outcome.withdrawn
    assert "hold_lifted" in actions(step)


def test_a_withdrawal_not_in_error_with_no_other_ground_starts_engagement_and_needs_a_supervisor() -> None:
    step = do(protected(), Withdrawal(actor=POLICE, reason="victim no longer supports"))
    assert step.state.phase is Phase.engagement and step.state.closure is None
    assert step.state.hold_grounds == [Ground.engagement_notice]
    assert (Recipient.person, NoticeKind.engagement_notice) in notices(step)
    assert step.state.engagement_ends_at is not None
    ticked = lifecycle.tick(step.state, step.state.engagement_ends_at, POLICY)
    assert ticked is not None and ticked.state.phase is Phase.awaiting_release
    released = do(ticked.state, ReleaseDecision(actor=SUPERVISOR, reason="no ground after engagement"))
    assert released.state.closure is not None and released.state.closure.outcome is Outcome.hold_released


def test_a_pending_exclusion_decision_keeps_a_withdrawal_made_in_error_from_closing() -> None:
    step = do(protected(CUSTODIAL), Withdrawal(actor=POLICE, reason="wrong person", made_in_error=True))
    assert step.state.closure is None and step.state.hold_grounds == [Ground.exclusion_decision_pending]


def test_a_withdrawn_referral_is_not_withdrawn_twice_unless_it_was_made_in_error() -> None:
    state = with_application(protected())
    state = do(state, Withdrawal(actor=POLICE, reason="victim no longer supports")).state
    again = lifecycle.refusal(state, Withdrawal(actor=POLICE, reason="again"), T0)
    assert again is not None and "already withdrawn" in again
    assert lifecycle.refusal(state, Withdrawal(actor=POLICE, reason="oops", made_in_error=True), T0) is None


def test_after_a_withdrawal_police_can_only_reopen_their_investigation() -> None:
    state = with_application(protected())
    state = do(state, Withdrawal(actor=POLICE, reason="victim no longer supports")).state
    assert lifecycle.refusal(state, police(InvestigationStatus.charged), T0) is not None
    reopened = do(state, police(InvestigationStatus.under_investigation)).state
    assert Ground.investigation_live in reopened.hold_grounds
    refused = lifecycle.refusal(protected(), police(InvestigationStatus.referral_withdrawn), T0)
    assert refused is not None and "withdraw" in refused


@pytest.mark.parametrize("actor", [POLICE, OFFICER, SUPERVISOR])
def test_police_officers_and_supervisors_may_record_a_withdrawal(actor: Actor) -> None:
    assert authority.not_permitted(protected(), Withdrawal(actor=actor, reason="made in error")) is None


# --- reopening a case closed by mistake (PROTOCOL §8) -------------------------------------------


REOPEN = Reopen(actor=SUPERVISOR, reason="closed by mistake: the wrong case was withdrawn")


def mistakenly_withdrawn() -> CaseState:
    return do(protected(), Withdrawal(actor=POLICE, reason="wrong person", made_in_error=True)).state


@pytest.mark.parametrize("actor", [OFFICER, POLICE, ENFORCER])
def test_only_a_supervisor_reopens_a_case(actor: Actor) -> None:
    reason = authority.not_permitted(mistakenly_withdrawn(), REOPEN.model_copy(update={"actor": actor}))
    assert reason is not None and reason.startswith("only supervisor may do this")


def test_reopening_restores_the_hold_and_records_who_when_and_why() -> None:
    closed_state = mistakenly_withdrawn()
    at = T0 + timedelta(days=3)
    step = do(closed_state, REOPEN, at)
    after = step.state
    assert after.phase is not Phase.closed and after.closure is None and after.hold_lifted_at is None
    assert after.hold_grounds  # in force again, on some ground
    [reopening] = after.reopenings
    assert (reopening.by, reopening.at, reopening.reason) == (SUPERVISOR, at, REOPEN.reason)
    assert reopening.undid.outcome is Outcome.withdrawn
    assert actions(step)[:2] == ["case_reopened", "hold_placed"]
    assert (Recipient.case_officer, NoticeKind.case_reopened) in notices(step)
    view = lifecycle.view(after, at, POLICY)
    assert view.hold.active and view.outcome is None and view.closed_at is None
    assert view.next_contact_due == at


def test_a_reopened_case_with_no_ground_goes_through_engagement_not_straight_back_to_closed() -> None:
    step = do(mistakenly_withdrawn(), REOPEN, T0 + timedelta(days=3))
    assert step.state.phase is Phase.engagement and step.state.hold_grounds == [Ground.engagement_notice]


def test_reopening_a_mistaken_exclusion_puts_the_exclusion_decision_back_to_a_supervisor() -> None:
    confirm = ExclusionDecision(actor=SUPERVISOR, verdict="confirm", reason="s.32 automatic deportation")
    excluded = do(protected(CUSTODIAL), confirm).state
    step = do(excluded, REOPEN, T0 + timedelta(days=1))
    assert step.state.phase is Phase.protection
    assert Ground.exclusion_decision_pending in step.state.hold_grounds


def test_an_open_case_cannot_be_reopened() -> None:
    reason = lifecycle.refusal(protected(), REOPEN, T0)
    assert reason is not None and "only a closed case" in reason


def test_a_case_cannot_be_reopened_after_the_reopen_window() -> None:
    closed_state = mistakenly_withdrawn()
    assert lifecycle.refusal(closed_state, REOPEN, T0 + POLICY.reopen_window) is None
    late = lifecycle.refusal(closed_state, REOPEN, T0 + POLICY.reopen_window + TICK)
    assert late is not None and "can no longer be reopened" in late


# --- re-screening after a records outage (issue 8 item 4) ---------------------------------------


def test_a_rescreening_retried_after_an_outage_keeps_its_trigger_and_never_sets_the_status_at_referral() -> (
    None
):
    state = protected()
    assert state.status_at_referral is ImmigrationStatus.no_status
    trigger = "person_became_suspect_or_charged"
    outage = lifecycle.screened(state, unavailable(T0, trigger), [], T0, POLICY).state
    recovered = screening(status=ImmigrationStatus.british_citizen, secure=True, trigger=trigger)
    after = lifecycle.screened(outage, recovered, SIGNPOSTS, T0 + timedelta(hours=1), POLICY).state
    assert after.status_at_referral is ImmigrationStatus.no_status
    assert after.phase is Phase.protection and after.closure is None


def test_the_referral_screening_retried_after_an_outage_sets_the_status_at_referral() -> None:
    outage = lifecycle.screened(opened(ALONE), unavailable(T0, "referral"), [], T0, POLICY).state
    assert outage.status_at_referral is ImmigrationStatus.unknown and outage.phase is Phase.protection
    recovered = screening(status=ImmigrationStatus.british_citizen, secure=True, trigger="referral")
    after = lifecycle.screened(outage, recovered, [], T0 + timedelta(hours=1), POLICY).state
    assert after.status_at_referral is ImmigrationStatus.british_citizen
    assert after.closure is not None and after.closure.outcome is Outcome.status_confirmed


def test_a_second_referral_screening_result_does_not_overwrite_a_settled_status_at_referral() -> None:
    state = protected()
    again = screening(status=ImmigrationStatus.leave_to_remain, trigger="referral")
    assert (
        lifecycle.screened(state, again, [], T0, POLICY).state.status_at_referral
        is ImmigrationStatus.no_status
    )


# --- criminality detail is sealed, so that retention removes it (issue 11) ------------------------------


def test_exclusion_indicators_and_what_prompted_a_rescreening_are_only_in_sealed_notes() -> None:
    state = do(protected(), police(person_is_suspect=True)).state
    rescreened = screening(indicators=(CUSTODIAL, DEPORTATION), trigger="person_became_suspect_or_charged")
    step = lifecycle.screened(state, rescreened, SIGNPOSTS, T0, POLICY)
    entries = {e.action: e for e in step.records}
    assert set(entries) >= {"screened", "exclusion_decision_required"}
    for entry in step.records:  # the append-only record keeps summaries for ever
        assert "custodial" not in entry.summary and "deportation" not in entry.summary
        assert "suspect" not in entry.summary
    assert entries["screened"].note == (
        "trigger: person_became_suspect_or_charged; exclusion indicators: custodial_12_months, deportation_order"
    )
    assert entries["exclusion_decision_required"].note == "indicators: custodial_12_months, deportation_order"


def test_that_the_person_became_a_suspect_or_was_charged_is_only_in_the_sealed_note() -> None:
    step = do(protected(), police(person_is_suspect=True, person_charged=True, note="Counter-allegation"))
    [entry] = [e for e in step.records if e.action == "police_update"]
    assert "suspect" not in entry.summary and "charged" not in entry.summary
    assert entry.shared_what == ["investigation status", "suspect/charge"]  # NPCC §10: what was shared
    assert entry.note is not None
    assert "the person is now a suspect; the person has been charged" in entry.note
    assert "Counter-allegation" in entry.note
    assert step.rescreen


# --- cases have owners (issue 12) -----------------------------------------------------------------

NEW_OFFICER = Actor(role=ActorRole.officer, id="IE-202")
REASSIGN = Reassign(actor=SUPERVISOR, officer_id="IE-202", reason="IE-101 moves to another team")


def test_the_officer_who_opened_the_case_is_its_case_officer_until_a_supervisor_reassigns_it() -> None:
    state = protected()
    assert state.current_officer == OFFICER
    assert lifecycle.view(state, T0, POLICY).case_officer == OFFICER.label()

    step = do(state, REASSIGN)

    assert step.state.current_officer == NEW_OFFICER
    assert lifecycle.view(step.state, T0, POLICY).case_officer == NEW_OFFICER.label()
    [entry] = step.records
    assert (entry.actor, entry.action, entry.note) == (SUPERVISOR.label(), "case_reassigned", REASSIGN.reason)
    assert OFFICER.label() in entry.summary and NEW_OFFICER.label() in entry.summary


def test_reassigning_gives_both_officers_a_notice_addressed_to_each_by_name() -> None:
    step = do(protected(), REASSIGN)
    told = [(n.recipient, n.kind, n.facts["officer"]) for n in step.notices]
    assert told == [
        (Recipient.case_officer, NoticeKind.case_reassigned, OFFICER.label()),
        (Recipient.case_officer, NoticeKind.case_reassigned, NEW_OFFICER.label()),
    ]


def test_only_a_supervisor_reassigns_a_case() -> None:
    state = protected()
    for who in (OFFICER, POLICE, ENFORCER):
        denied = authority.not_permitted(state, REASSIGN.model_copy(update={"actor": who}))
        assert denied is not None and "only supervisor" in denied


def test_a_case_is_not_reassigned_to_its_own_case_officer_nor_once_closed() -> None:
    state = protected()
    same = Reassign(actor=SUPERVISOR, officer_id=OFFICER.id, reason="no change at all, by mistake")
    assert "already the case officer" in (lifecycle.refusal(state, same, T0) or "")
    assert "closed" in (lifecycle.refusal(mistakenly_withdrawn(), REASSIGN, T0) or "")


def test_a_reassignment_needs_a_reason() -> None:
    with pytest.raises(ValidationError):
        Reassign(actor=SUPERVISOR, officer_id="IE-202", reason="")


@pytest.mark.parametrize("route", [Route.legal_advice, Route.specialist_support, Route.consulate])
def test_help_towards_an_application_is_not_an_application_and_a_grant_there_closes_nothing(
    route: Route,
) -> None:
    """The review closed a case as regularised by a 'grant' of legal advice while the investigation was live."""
    event = ApplicationEvent(actor=OFFICER, route=route, stage=ApplicationStage.submitted)
    reason = lifecycle.refusal(protected(), event, T0)
    assert reason is not None and "not an application to stay" in reason


def test_workflows_recorded_before_help_was_refused_as_an_application_replay_it_as_accepted() -> None:
    event = ApplicationEvent(actor=OFFICER, route=Route.legal_advice, stage=ApplicationStage.submitted)
    before = lifecycle.Revisions(help_is_not_an_application=False)
    assert lifecycle.refusal(protected(), event, T0, before) is None
