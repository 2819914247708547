"""Properties of the case lifecycle over random histories (PROTOCOL.md §§6-8).

A case is opened and screened at random, then given random commands by random actors, and the clock is
moved on at random and fed to `tick`. A command is carried out only when `not_permitted` and `refusal`
both let it through, as the workflow does; a command refused for who gave it is recorded with `refused`.
After every step:

(a) the hold is lifted only by closing the case: as *hold released* only by a supervisor's release decision
    while the case awaited one and no substantive ground held; as *withdrawn* only by a withdrawal made in
    error when no ground but the police one held; as *status confirmed* only by the referral screening
    (at referral, or its retry after a records outage); otherwise only by an explicit closure (regularised,
    excluded, departed) carried out by its own command; and closing tells the person and the referring
    officer;
(b) neither the clock alone, a contact record, a withdrawal not made in error nor a re-screening ever
    lifts the hold;
(c) an open case always has a ground and an active hold, and its phase matches its grounds;
(d) a closed case has exactly one closure, which never changes, and refuses every further command but a
    supervisor's reopening within the reopen window, which puts the hold back in force;
(e) record seq numbers stay contiguous and notice keys unique, and every notice that leaves IE is
    recorded as a sharing;
(f) the status at referral, once the referral screening has read the records, never changes.

Withdrawals (in error or not), reopenings, re-screenings and records outages (at referral and at a
re-screening, each retried later with its own trigger) happen at random.

Besides: a reported fact that is not (yet) verified changes nothing (PROTOCOL §3), and the clock changes
nothing before `next_wakeup`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

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
    InvestigationStatus,
    NoticeKind,
    Outcome,
    Phase,
    PoliceUpdate,
    Recipient,
    ReleaseDecision,
    Reopen,
    Route,
    RouteStarted,
    Screening,
    Withdrawal,
)
from models.records import ImmigrationStatus
from models.referral import Referral
from protocol import authority, facts, hold, lifecycle
from protocol.intake import parse_referral
from protocol.lifecycle import Step
from protocol.policy import policy
from protocol.screening import RULES_VERSION, unavailable

EXAMPLES = Path(__file__).parents[2] / "examples"
POLICY = policy("2026.1")
T0 = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
CLOCK = "tick"
SCREENING = "screening"

# The commands that may close a case explicitly, by outcome (a verified report that the person left
# the UK closes it as departed, as a departure does).
EXPLICIT_CLOSURES: dict[Outcome, tuple[type, ...]] = {
    Outcome.regularised: (ApplicationEvent,),
    Outcome.excluded: (ExclusionDecision,),
    Outcome.departed: (DepartureRecord, FactReported, FactVerified),
}


def referral(name: str) -> Referral:
    raw = json.loads((EXAMPLES / name).read_text())
    parsed, problems = parse_referral(raw, T0)
    assert parsed is not None, problems
    return parsed


REFERRALS = [referral("referral-domestic-abuse.json"), referral("referral-trafficking.json")]

OFFICER = Actor(role=ActorRole.officer, id="IE-101")
SUPERVISOR = Actor(role=ActorRole.supervisor, id="IE-SUP-7")
ENFORCER = Actor(role=ActorRole.enforcement, id="ENF-3")
OUTSIDER = Actor(role=ActorRole.police, id="XX-1", force="XX")


ANYONE = [OFFICER, SUPERVISOR, ENFORCER, OUTSIDER, SYSTEM]


def actors_for(*right: Actor) -> st.SearchStrategy[Actor]:
    """Mostly an actor who may give the command, sometimes anyone at all."""
    return st.sampled_from([*right] * (3 * len(ANYONE)) + ANYONE)


def police_of(ref: Referral) -> Actor:
    return Actor(role=ActorRole.police, id=ref.referring_officer.officer_id, force=ref.force_code)


screening_specs = st.fixed_dictionaries(
    {
        "secure": st.sampled_from([*[False] * 15, True]),
        "record_found": st.booleans(),
        "status": st.sampled_from(ImmigrationStatus),
        "indicators": st.lists(st.sampled_from(ExclusionIndicator), unique=True, max_size=3),
    }
)


def make_screening(spec: dict[str, Any], now: datetime, trigger: str) -> Screening:
    return Screening(screened_at=now, rules_version=RULES_VERSION, trigger=trigger, **spec)


# Home Office records are down for a screening now and then.
OUTAGE = st.sampled_from([False, False, False, True])
SCREENING_RETRY = "screening retried"
RESCREENING = "re-screening"

# Closing commands are given rarely, so that most histories get as far as engagement and release.
RARELY = st.sampled_from([*[False] * 9, True])

# Investigation statuses, with the two that end an investigation given more often.
STATUSES = st.sampled_from(InvestigationStatus) | st.sampled_from(
    [InvestigationStatus.concluded, InvestigationStatus.no_further_action]
)


# Kinds of reported fact, with the one that can close the case (the person left the UK) given rarely.
FACT_KINDS = st.sampled_from(
    [*[k for k in FactKind if k is not FactKind.person_left_uk] * 4, FactKind.person_left_uk]
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


class CaseHistory(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.referral = REFERRALS[0]
        self.state: CaseState | None = None
        self.seq = 0
        self.keys: set[str] = set()
        self.closures = 0
        self.checks = count(1)
        self.settled_status: ImmigrationStatus | None = None  # status at referral once the records were read

    # --- carrying steps out, checking each transition ------------------------------------------

    @property
    def case(self) -> CaseState:
        assert self.state is not None
        return self.state

    def carry(self, step: Step, cause: CaseCommand | str) -> None:
        before, after = self.state, step.state
        # (e) the record is append-only and contiguous; notice keys are never reused
        for entry in step.records:
            self.seq += 1
            assert entry.seq == self.seq, (entry.seq, self.seq)
            assert entry.at == self.now
        assert after.record_seq == self.seq
        shared = [e.summary for e in step.records if e.action == "information_shared"]
        for notice in step.notices:
            assert notice.key not in self.keys, notice.key
            self.keys.add(notice.key)
            if notice.recipient in (Recipient.person, Recipient.referring_officer):
                # NPCC §10: whatever leaves IE is recorded as a sharing, in the same step
                assert f"{notice.kind.value} notice queued for {notice.recipient.value}" in shared
        self.closures += sum(1 for entry in step.records if entry.action == "case_closed")
        self.closures -= sum(1 for entry in step.records if entry.action == "case_reopened")

        if before is not None and before.phase is Phase.closed:
            if isinstance(cause, Reopen) and after.phase is not Phase.closed:
                # (d) only a supervisor reopens, within the window, and the hold is back in force
                assert cause.actor.role is ActorRole.supervisor and before.closure is not None
                assert self.now <= before.closure.at + POLICY.reopen_window
                assert after.closure is None and after.hold_lifted_at is None and after.hold_grounds
                assert after.reopenings[-1].undid == before.closure
                event(f"reopened after {before.closure.outcome.value}")
            else:
                # (d) a closed case stays closed with the same outcome
                assert after.phase is Phase.closed and after.closure == before.closure
        else:
            if isinstance(cause, ContactRecord) or cause in (CLOCK, RESCREENING):
                # (b) neither the clock, a contact (missed or not) nor a re-screening lifts the hold
                assert after.phase is not Phase.closed
            if isinstance(cause, Withdrawal) and not cause.made_in_error:
                assert after.phase is not Phase.closed, "(b) only a withdrawal made in error closes a case"
            if after.phase is Phase.closed:
                self.check_closure(before, step, cause)
        # (f) the status at referral is set only by the referral screening, and once it read the records,
        # never again (a re-screening, or its retry after an outage, never touches it)
        referral_screening = cause in (SCREENING, SCREENING_RETRY) and (
            after.screening is not None and after.screening.trigger == "referral"
        )
        if before is not None and not referral_screening:
            assert after.status_at_referral is before.status_at_referral
        if self.settled_status is not None:
            assert after.status_at_referral is self.settled_status
        elif referral_screening and after.screening is not None and after.screening.complete:
            self.settled_status = after.status_at_referral
        self.state = after

    def check_closure(self, before: CaseState | None, step: Step, cause: CaseCommand | str) -> None:
        """(a) the hold is lifted only by an explicit closure, or by a supervisor's release decision."""
        after = step.state
        assert before is not None and after.closure is not None
        outcome = after.closure.outcome
        event(f"closed as {outcome.value}")
        assert [e.action for e in step.records].count("case_closed") == 1
        assert "hold_lifted" in [e.action for e in step.records]
        assert after.hold_lifted_at == self.now
        told = {n.recipient for n in step.notices if n.kind is NoticeKind.outcome}
        assert told == {Recipient.person, Recipient.referring_officer}, "§8: closing tells both"
        if outcome is Outcome.hold_released:
            assert isinstance(cause, ReleaseDecision)
            assert cause.actor.role is ActorRole.supervisor
            assert before.phase is Phase.awaiting_release
            assert hold.substantive_grounds(before, self.now) == []
        elif outcome is Outcome.status_confirmed:
            assert cause in (SCREENING, SCREENING_RETRY) and after.screening is not None
            assert after.screening.trigger == "referral" and after.screening.secure
            assert before.screening is None or not before.screening.complete
        elif outcome is Outcome.withdrawn:
            assert isinstance(cause, Withdrawal) and cause.made_in_error
            police_ground_ended = before.model_copy(
                update={"investigation": InvestigationStatus.referral_withdrawn}
            )
            assert hold.substantive_grounds(police_ground_ended, self.now) == []
        else:
            assert isinstance(cause, EXPLICIT_CLOSURES[outcome]), (outcome, cause)
        if isinstance(cause, ApplicationEvent):
            assert cause.stage is ApplicationStage.granted
        if isinstance(cause, ExclusionDecision):
            assert cause.verdict == "confirm" and cause.actor.role is ActorRole.supervisor
        if isinstance(cause, FactReported | FactVerified):
            # the fact this command made take effect (an earlier one may have closed the case before a reopening)
            closing = [f for f in after.facts if facts.closes_case(f)]
            new = [f for f in closing if f not in before.facts or f.verified_at == self.now]
            assert new, "a fact closed the case: it is the one this command reported or verified"
            assert all(f.kind is FactKind.person_left_uk and f.verified is True for f in new)

    def command(
        self, command: CaseCommand, rescreen: dict[str, Any] | None = None, outage: bool = False
    ) -> None:
        state = self.case
        denied = authority.not_permitted(state, command)
        if denied is not None:
            step = lifecycle.refused(state, command, denied, self.now, POLICY)
            assert step.state.phase is state.phase and step.state.hold_grounds == state.hold_grounds
            assert [e.action for e in step.records] == ["command_refused"] and step.notices == []
            self.carry(step, command)
            return
        if lifecycle.refusal(state, command, self.now) is not None:
            return
        if not isinstance(command, Reopen):
            assert state.phase is not Phase.closed, "a closed case accepted a command"
        event(f"applied {command.kind}")
        step = lifecycle.apply_command(state, command, self.now, POLICY)
        unverified = isinstance(command, FactReported) and step.state.facts[-1].needs_verification
        rejected = isinstance(command, FactVerified) and not command.verified
        if unverified or rejected:
            # PROTOCOL §3: a fact not (yet) verified by an officer is never acted on
            after = step.state
            assert (after.phase, after.hold_grounds, after.pending) == (
                state.phase,
                state.hold_grounds,
                state.pending,
            )
            assert after.closure is None
        self.carry(step, command)
        if step.rescreen:
            assert rescreen is not None
            assert step.state.phase is not Phase.closed
            trigger = "person_became_suspect_or_charged"
            if outage:
                result = unavailable(self.now, trigger)
            else:
                result = make_screening(rescreen, self.now, trigger)
            self.carry(lifecycle.screened(self.case, result, [], self.now, POLICY), RESCREENING)

    def advance_to(self, when: datetime) -> None:
        state = self.case
        wake = lifecycle.next_wakeup(state, self.now, POLICY)
        step = lifecycle.tick(state, when, POLICY)
        if wake is None or when < wake:
            assert step is None, "the clock changed the case before its next wakeup"
        self.now = when
        if step is not None:
            event(f"tick moved {state.phase.value} -> {step.state.phase.value}")
            self.carry(step, CLOCK)

    # --- the history ---------------------------------------------------------------------------

    @initialize(which=st.sampled_from(REFERRALS), first=screening_specs, outage=OUTAGE)
    def open_and_screen(self, which: Referral, first: dict[str, Any], outage: bool) -> None:
        self.referral = which
        self.carry(lifecycle.open_case("case-p", which, OFFICER, self.now, POLICY), "open")
        result = unavailable(self.now) if outage else make_screening(first, self.now, "referral")
        self.carry(lifecycle.screened(self.case, result, [], self.now, POLICY), SCREENING)

    @precondition(
        lambda self: (
            self.case.phase is not Phase.closed
            and self.case.screening is not None
            and not self.case.screening.complete
        )
    )
    @rule(spec=screening_specs, still_down=st.booleans())
    def screening_retried(self, spec: dict[str, Any], still_down: bool) -> None:
        """The hourly retry after a records outage, with the trigger of the screening it retries."""
        screening = self.case.screening
        assert screening is not None
        if still_down:
            return  # the workflow records nothing when the records are still down
        result = make_screening(spec, self.now, screening.trigger)
        self.carry(lifecycle.screened(self.case, result, [], self.now, POLICY), SCREENING_RETRY)

    @rule(
        data=st.data(),
        investigation=STATUSES | st.none(),
        measures=maybe(st.just("non-molestation order")),
        suspect=maybe(st.booleans()),
        charged=maybe(st.booleans()),
        trial_in_days=maybe(st.integers(-30, 200)),
        rescreen=screening_specs,
        outage=OUTAGE,
    )
    def police_update(
        self,
        data: st.DataObject,
        investigation: InvestigationStatus | None,
        measures: str | None,
        suspect: bool | None,
        charged: bool | None,
        trial_in_days: int | None,
        rescreen: dict[str, Any],
        outage: bool,
    ) -> None:
        actor = data.draw(actors_for(police_of(self.referral), OFFICER))
        trial = None if trial_in_days is None else (self.now + timedelta(days=trial_in_days)).date()
        update = PoliceUpdate(
            actor=actor,
            investigation=investigation,
            protective_measures=measures,
            person_is_suspect=suspect,
            person_charged=charged,
            trial_date=trial,
        )
        self.command(update, rescreen, outage)

    @rule(data=st.data(), investigation=STATUSES)
    def investigation_moves(self, data: st.DataObject, investigation: InvestigationStatus) -> None:
        """A police update that reports only the investigation's status (the commonest one)."""
        actor = data.draw(actors_for(police_of(self.referral), OFFICER))
        self.command(PoliceUpdate(actor=actor, investigation=investigation))

    @rule(actor=actors_for(OFFICER), result=st.sampled_from(ContactResult), support=maybe(st.booleans()))
    def contact(self, actor: Actor, result: ContactResult, support: bool | None) -> None:
        self.command(ContactRecord(actor=actor, result=result, support_active=support))

    @rule(
        actor=actors_for(OFFICER),
        route=st.sampled_from(Route),
        stage=st.sampled_from(ApplicationStage),
        number=maybe(st.integers(1, 3)),
    )
    def application(self, actor: Actor, route: Route, stage: ApplicationStage, number: int | None) -> None:
        self.command(ApplicationEvent(actor=actor, route=route, stage=stage, number=number))

    @rule(actor=actors_for(OFFICER), route=st.sampled_from(Route), days=maybe(st.integers(1, 200)))
    def route_started(self, actor: Actor, route: Route, days: int | None) -> None:
        self.command(RouteStarted(actor=actor, route=route, days=days))

    @rule(
        actor=actors_for(SUPERVISOR), verdict=st.sampled_from(["override", "override", "override", "confirm"])
    )
    def exclusion_decision(self, actor: Actor, verdict: str) -> None:
        self.command(
            ExclusionDecision.model_validate(
                {"actor": actor, "verdict": verdict, "reason": "decided on file"}
            )
        )

    @rule(actor=actors_for(SUPERVISOR))
    def release_decision(self, actor: Actor) -> None:
        self.command(ReleaseDecision(actor=actor, reason="no ground after engagement"))

    @precondition(lambda self: self.case.phase is Phase.awaiting_release)
    @rule()
    def supervisor_releases_once_due(self) -> None:
        """The release decision the case waits for (the rule above gives it by anyone, at any time)."""
        self.command(ReleaseDecision(actor=SUPERVISOR, reason="no ground after engagement"))

    @rule(data=st.data(), now=RARELY, in_error=st.booleans())
    def withdrawal(self, data: st.DataObject, now: bool, in_error: bool) -> None:
        if not now:
            return
        actor = data.draw(actors_for(police_of(self.referral), OFFICER, SUPERVISOR))
        self.command(Withdrawal(actor=actor, reason="police withdrew the referral", made_in_error=in_error))

    @rule(actor=actors_for(SUPERVISOR))
    def reopen(self, actor: Actor) -> None:
        """A supervisor reopens a case closed by mistake (given by anyone, open or closed, in or out of time)."""
        self.command(Reopen(actor=actor, reason="closed by mistake, reopened"))

    @rule(actor=actors_for(OFFICER), now=RARELY)
    def departure(self, actor: Actor, now: bool) -> None:
        if now:
            self.command(DepartureRecord(actor=actor))

    @rule(data=st.data(), kind=FACT_KINDS, source=st.sampled_from(FactSource))
    def fact_reported(self, data: st.DataObject, kind: FactKind, source: FactSource) -> None:
        actor = data.draw(actors_for(police_of(self.referral), OFFICER))
        self.command(FactReported(actor=actor, fact_kind=kind, source=source, detail="told by phone"))

    @rule(actor=actors_for(OFFICER), number=st.integers(1, 3), verified=st.booleans())
    def fact_verified(self, actor: Actor, number: int, verified: bool) -> None:
        self.command(FactVerified(actor=actor, fact_number=number, verified=verified))

    @rule(actor=actors_for(ENFORCER))
    def enforcement_check(self, actor: Actor) -> None:
        self.command(EnforcementCheckNotice(actor=actor, check_id=f"chk-{next(self.checks)}", reason="check"))

    @rule(delta=st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=120)))
    def clock_moves_on(self, delta: timedelta) -> None:
        self.advance_to(self.now + delta)

    @rule()
    def clock_reaches_the_next_wakeup(self) -> None:
        wake = lifecycle.next_wakeup(self.case, self.now, POLICY)
        if wake is not None:
            self.advance_to(wake)

    # --- after every step ----------------------------------------------------------------------

    @invariant()
    def record_and_notices_hold_together(self) -> None:
        # (e) the state's counters agree with what was carried out
        assert self.case.record_seq == self.seq
        assert self.case.notice_seq == len(self.keys)

    @invariant()
    def an_open_case_is_held_on_a_ground(self) -> None:
        # (c)
        state, now = self.case, self.now
        if state.phase is Phase.closed:
            return
        view = lifecycle.view(state, now, POLICY)
        assert view.hold.active and view.hold.grounds and state.hold_grounds
        assert hold.hold_grounds(state, now)
        assert state.closure is None and state.hold_lifted_at is None and self.closures == 0
        substantive = hold.substantive_grounds(state, now)
        pending = [p.kind for p in state.pending]
        if state.phase is Phase.protection:
            assert substantive, "protection with no ground should have moved to engagement"
        else:
            assert state.phase in (Phase.engagement, Phase.awaiting_release)
            assert not substantive, f"{state.phase.value} while {substantive} hold"
        assert (state.phase is Phase.engagement) == (state.engagement_ends_at is not None)
        if state.engagement_ends_at is not None:
            assert state.engagement_ends_at > now
        assert (state.phase is Phase.awaiting_release) == (DecisionKind.release in pending)
        assert pending.count(DecisionKind.exclusion) <= 1 and pending.count(DecisionKind.release) <= 1
        wake = lifecycle.next_wakeup(state, now, POLICY)
        assert wake is not None and wake > now

    @invariant()
    def a_closed_case_stays_closed(self) -> None:
        # (d)
        state, now = self.case, self.now
        if state.phase is not Phase.closed:
            return
        assert state.closure is not None and self.closures == 1
        view = lifecycle.view(state, now, POLICY)
        assert not view.hold.active and view.hold.grounds == [] and view.outcome is state.closure.outcome
        assert state.pending == [] and state.hold_lifted_at is not None
        assert lifecycle.tick(state, now + timedelta(days=365), POLICY) is None
        assert lifecycle.next_wakeup(state, now, POLICY) is None
        police = police_of(self.referral)
        for command in (
            PoliceUpdate(actor=police, investigation=InvestigationStatus.under_investigation),
            ContactRecord(actor=OFFICER, result=ContactResult.reached, support_active=True),
            ReleaseDecision(actor=SUPERVISOR, reason="no ground after engagement"),
            Withdrawal(actor=police, reason="referral made in error"),
            EnforcementCheckNotice(actor=ENFORCER, check_id="chk-closed", reason="check"),
        ):
            assert lifecycle.refusal(state, command, now) is not None


TestCaseHistory = CaseHistory.TestCase
TestCaseHistory.settings = settings(max_examples=150, deadline=None, stateful_step_count=40)
