"""The case lifecycle (PROTOCOL.md §§3–8) as a pure state machine.

Every change to a case goes through one of these functions. Each takes the state, what happened and
the clock, and returns a `Step`: the new state, the record entries to append (what happened; for a
sharing, what, with whom and why) and the notices to send. The workflow only carries a step out.

    open_case ──► screened ──► protection ◄──────────────┐
                     │            │ last ground ends     │ new grounds
                     │            ▼                      │
                     │        engagement ── notice ends ─┤──► awaiting_release ── supervisor ──► closed
                     ▼                                   │
                  closed (status confirmed)              └── (any of these) ──► closed

A police withdrawal ends the police ground only; it closes the case (as *withdrawn*) at once only when
the referral was made in error and no other ground holds. A supervisor can reopen a closed case within
the policy's reopen window: the hold is back in force and the case settles on its grounds again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from models.case import (
    AMENDABLE,
    SAFE_CONTACT_FIELDS,
    SYSTEM,
    Actor,
    ActorRole,
    Amend,
    Application,
    ApplicationEvent,
    ApplicationStage,
    CaseCalendar,
    CaseCommand,
    CaseState,
    CaseView,
    Closure,
    ContactRecord,
    ContactResult,
    DecisionKind,
    DecisionRecord,
    DepartureRecord,
    EnforcementCheckNotice,
    ExclusionDecision,
    FactReported,
    FactVerified,
    HoldView,
    InvestigationStatus,
    Notice,
    NoticeKind,
    Outcome,
    PendingDecision,
    Phase,
    PoliceCorrection,
    PoliceNote,
    PoliceUpdate,
    Reassign,
    Recipient,
    RecordEntry,
    ReleaseDecision,
    Reopen,
    Reopening,
    ReportedFact,
    Route,
    RouteClock,
    RouteStarted,
    Screening,
    Signpost,
    Withdrawal,
)
from models.messages import PersistStep
from models.referral import ContactChannel, Referral
from protocol import contact, facts, hold, notices
from protocol.identity import POSSIBLE_MATCH, name_key
from protocol.notices import listed_as_never
from protocol.policy import Policy, policy_of

IE = "Home Office Immigration Enforcement (NCCU)"
ENFORCEMENT = "IE enforcement teams (holds register)"
PERSON = "the person, through their safe channel"

# What each notice tells its recipient: the categories recorded as shared (NPCC §10).
SHARED_BY_NOTICE: dict[NoticeKind, list[str]] = {
    NoticeKind.acknowledgement: [
        "case id",
        "immigration status",
        "hold in force and its grounds",
        "signposting",
    ],
    NoticeKind.status: ["immigration status"],
    NoticeKind.signposting: ["signposting"],
    NoticeKind.protocol_notice: [
        "what police shared and why",
        "no enforcement action while the grounds last",
        "contact officer",
        "independent advice and support",
        "signposting",
        "how to complain",
    ],
    NoticeKind.engagement_notice: [
        "no ground for the hold remains",
        "date by which to tell IE of new grounds",
    ],
    NoticeKind.protection_resumed: ["hold in force again and its grounds"],
    NoticeKind.case_reopened: ["case reopened", "hold in force again"],
    NoticeKind.outcome: ["outcome of the case", "who decided, when and why"],
}

PROGRESS = [  # how an investigation moves on; used to refuse going back
    InvestigationStatus.reported,
    InvestigationStatus.under_investigation,
    InvestigationStatus.suspect_arrested,
    InvestigationStatus.charged,
    InvestigationStatus.awaiting_trial,
    InvestigationStatus.at_trial,
    InvestigationStatus.concluded,
    InvestigationStatus.appeal_pending,
]

# Decisions that end an application, and the stages each may follow.
APPLICATION_FOLLOWS: dict[ApplicationStage, frozenset[ApplicationStage]] = {
    ApplicationStage.granted: hold.PENDING_APPLICATION,
    ApplicationStage.refused: hold.PENDING_APPLICATION,
    ApplicationStage.rejected: frozenset({ApplicationStage.submitted}),
    ApplicationStage.withdrawn: hold.PENDING_APPLICATION,
    ApplicationStage.review_lodged: frozenset({ApplicationStage.refused}),
    ApplicationStage.appeal_lodged: frozenset({ApplicationStage.refused}),
}


@dataclass
class Step:
    state: CaseState
    records: list[RecordEntry] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    rescreen: bool = False
    accepted: str = ""
    referral_amended: bool = False  # the sealed referral is stored again, new holds placed, notices re-routed


class _Change:
    """A step under construction: a private copy of the state, and what to record and send."""

    def __init__(self, state: CaseState, now: datetime, policy: Policy) -> None:
        self.s = state.model_copy(deep=True)
        self.now = now
        self.policy = policy
        self.step = Step(state=self.s)

    def record(
        self,
        actor: Actor,
        action: str,
        summary: str,
        shared_what: list[str] | None = None,
        shared_with: str | None = None,
        shared_why: list[str] | None = None,
        note: str | None = None,
    ) -> None:
        self.s.record_seq += 1
        self.step.records.append(
            RecordEntry(
                seq=self.s.record_seq,
                at=self.now,
                actor=actor.label(),
                action=action,
                summary=summary,
                shared_what=shared_what or [],
                shared_with=shared_with,
                shared_why=shared_why or [],
                note=note,
            )
        )

    def notify(self, recipient: Recipient, kind: NoticeKind, why: str, **facts: str) -> None:
        """Queue a notice; a notice that leaves IE is recorded as a sharing."""
        self.s.notice_seq += 1
        facts = {"case_id": self.s.case_id, **facts}
        self.step.notices.append(
            Notice(key=f"{self.s.case_id}/n{self.s.notice_seq}", recipient=recipient, kind=kind, facts=facts)
        )
        if recipient in (Recipient.referring_officer, Recipient.person):
            self.record(
                SYSTEM,
                "information_shared",
                f"{kind.value} notice queued for {recipient.value}",
                shared_what=SHARED_BY_NOTICE.get(kind, [kind.value]),
                shared_with=_referring_officer(self.s.referral)
                if recipient is Recipient.referring_officer
                else PERSON,
                shared_why=[why],
            )

    def close(self, outcome: Outcome, by: Actor, reason: str) -> None:
        self.s.phase = Phase.closed
        self.s.closure = Closure(outcome=outcome, at=self.now, by=by, reason=reason)
        self.s.hold_lifted_at = self.now
        self.s.pending = []
        self.s.engagement_ends_at = None
        self.record(by, "case_closed", f"closed as {outcome.value}", note=reason)
        self.record(
            by,
            "hold_lifted",
            f"hold lifted on the person and {len(self.s.referral.dependants)} dependant(s): "
            f"case {outcome.value}",
            shared_what=["hold lifted", "outcome"],
            shared_with=ENFORCEMENT,
            shared_why=["PROTOCOL §8: the case closed"],
        )
        for recipient in (Recipient.person, Recipient.referring_officer):
            self.notify(
                recipient,
                NoticeKind.outcome,
                "PROTOCOL §8: tell the person and police the outcome",
                outcome=outcome.value,
                decided_by=by.label(),
                reason_given="yes",
            )

    def done(self, accepted: str = "") -> Step:
        if self.s.phase not in (Phase.screening, Phase.closed):
            self._settle()
        self.s.hold_grounds = hold.hold_grounds(self.s, self.now)
        self.s.revision += 1
        self.step.accepted = accepted
        return self.step

    def _settle(self) -> None:
        """Move between protection, engagement and awaiting release as grounds come and go; escalate
        an overdue contact."""
        s, now = self.s, self.now
        for clock in s.route_clocks:
            if clock.ends_at <= now and not clock.ended_recorded:
                clock.ended_recorded = True
                self.record(SYSTEM, "route_clock_ended", f"{clock.route.value} clock ended")
        grounds = hold.substantive_grounds(s, now)
        if grounds and s.phase in (Phase.engagement, Phase.awaiting_release):
            s.phase = Phase.protection
            s.engagement_ends_at = None
            s.pending = [p for p in s.pending if p.kind is not DecisionKind.release]
            self.record(SYSTEM, "protection_resumed", "new grounds: " + ", ".join(g.value for g in grounds))
            self.notify(
                Recipient.person,
                NoticeKind.protection_resumed,
                "Review para 70: new grounds return protection",
                grounds=",".join(g.value for g in grounds),
            )
        elif not grounds and s.phase is Phase.protection:
            s.phase = Phase.engagement
            s.engagement_ends_at = now + self.policy.engagement_notice
            self.record(
                SYSTEM,
                "engagement_started",
                f"no ground remains; notice period ends {s.engagement_ends_at.date().isoformat()}",
            )
            self.notify(
                Recipient.person,
                NoticeKind.engagement_notice,
                "Review para 70: engage before any casework or enforcement decision",
                respond_by=s.engagement_ends_at.isoformat(),
            )
        if s.phase is Phase.engagement and s.engagement_ends_at is not None and now >= s.engagement_ends_at:
            s.phase = Phase.awaiting_release
            s.engagement_ends_at = None
            s.pending.append(
                PendingDecision(
                    kind=DecisionKind.release, raised_at=now, why="notice period ended with no new grounds"
                )
            )
            self.record(SYSTEM, "release_decision_required", "notice period ended with no new grounds")
            self.notify(
                Recipient.supervisors,
                NoticeKind.decision_required,
                "PROTOCOL §6: only a supervisor releases",
                decision=DecisionKind.release.value,
            )
        if contact.escalation_due(s.contact, now, self.policy, s.calendar):
            s.contact.last_escalated_at = now
            self.record(
                SYSTEM,
                "contact_overdue_escalated",
                f"contact due {s.contact.next_due.date().isoformat()} not made; escalated to supervisors",
            )
            self.notify(
                Recipient.supervisors,
                NoticeKind.contact_overdue,
                "PROTOCOL §7: overdue contact escalates",
                due=s.contact.next_due.isoformat(),
            )


def _referring_officer(referral: Referral) -> str:
    officer = referral.referring_officer
    return f"referring officer {officer.officer_id} ({officer.force_code})"


# --- opening and screening -----------------------------------------------------------------------


def open_case(
    case_id: str,
    referral: Referral,
    opened_by: Actor,
    now: datetime,
    policy: Policy,
    possible_duplicate_of: list[str] | None = None,
    override_reason: str | None = None,
    calendar: CaseCalendar | None = None,
) -> Step:
    """A referral becomes a case: record what police shared, place the hold, schedule first contact. A case
    started over a possible duplicate records which cases and the officer's reason (kept sealed). The case
    keeps the bank holidays it counts working days by (`calendar`, from intake)."""
    state = CaseState(
        calendar=calendar,
        case_id=case_id,
        policy_version=policy.version,
        referral=referral,
        opened_at=now,
        opened_by=opened_by,
        contact=contact.first_schedule(now),
    )
    change = _Change(state, now, policy)
    change.s.record_seq = 0
    shared = ["basic information (NPCC §6.1)"]
    if referral.additional_information is not None:
        shared.append("additional information (NPCC §6.2), with the person's views recorded")
    if referral.dependants:
        shared.append(f"{len(referral.dependants)} dependant(s)")
    shared.append("safe contact arrangements")
    informed = referral.person_informed
    told = (
        "person told" if informed.done else ("person to be told" if informed.intended else "person not told")
    )
    delayed = " (sharing delayed for protective measures)" if referral.sharing_delayed.delayed else ""
    change.record(
        opened_by,
        "information_received",
        f"police {referral.force_code} shared a {referral.crime_type.value} referral by "
        f"{referral.channel.value}{delayed}; {told}",
        shared_what=shared,
        shared_with=f"{IE}, from {_referring_officer(referral)}",
        shared_why=[p.value for p in referral.purposes],
    )
    change.record(
        opened_by,
        "hold_placed",
        f"hold placed on the person and {len(referral.dependants)} dependant(s)",
        shared_what=["hold in force"],
        shared_with=ENFORCEMENT,
        shared_why=["PROTOCOL §6: no enforcement action while the grounds last"],
    )
    if possible_duplicate_of:
        change.record(
            opened_by,
            "possible_duplicate_overridden",
            "started although a possible duplicate of case " + ", ".join(possible_duplicate_of),
            note=override_reason,
        )
    return change.done("case opened")


def screened(
    state: CaseState,
    screening: Screening,
    signposts: list[Signpost],
    now: datetime,
    policy: Policy,
    dependants_keep_hold: bool = True,
) -> Step:
    """Apply a screening result: at referral it may close the case as status confirmed, give
    signposting and send the first notices; any screening may raise an exclusion decision.

    Only the referral screening (trigger `referral`, also when it is retried after a records outage) sets
    the status at referral and may close the case as status confirmed; a re-screening never does. Screening
    reads the person's records only: a secure status of theirs closes the case only when they have no
    dependants, whose status stays unknown and so keeps them held (`dependants_keep_hold` is False only to
    replay the workflows that ran before this rule)."""
    change = _Change(state, now, policy)
    s = change.s
    first = s.screening is None
    settling = _establishes_status_at_referral(s.screening, screening)
    s.screening = screening
    if settling:
        s.status_at_referral = screening.status
    found = "record found" if screening.record_found else "no Home Office record matched: status unknown"
    if not screening.complete:
        found = "Home Office records could not be read: status not yet known, screening will be retried"
    if screening.reference_mismatch:
        found = "the record of the referral's Home Office reference disagrees: status unknown"
    indicators = ", ".join(i.value for i in screening.indicators) or "none"
    # What prompted the screening (a re-screening follows the person becoming a suspect or being charged) and
    # the exclusion indicators are criminality detail: sealed in the entry's note, which retention removes,
    # never in the summary, which the append-only record keeps for ever (issue 11).
    change.record(
        SYSTEM,
        "screened",
        f"status {screening.status.value} ({found}); rules {screening.rules_version}; "
        "trigger and exclusion indicators in the sealed note",
        note=f"trigger: {screening.trigger}; exclusion indicators: {indicators}",
    )
    if screening.reference_mismatch:
        # PROTOCOL §4: another person's record is never used; the officer finds out what disagreed (the
        # fields, never the other person's values)
        change.notify(
            Recipient.case_officer,
            NoticeKind.reference_mismatch,
            "PROTOCOL §4: a reference match counts only when family name and date of birth agree",
            disagreed=", ".join(screening.reference_mismatch),
        )

    closes_as_confirmed = not (dependants_keep_hold and s.referral.dependants)
    if settling and screening.secure:
        # Establishing status is itself the protection (Review paras 21, 27; PROTOCOL §4): the person and
        # the police are told what it is, and the person gets what signposting still applies (the consulate).
        for recipient in (Recipient.person, Recipient.referring_officer):
            change.notify(
                recipient,
                NoticeKind.status,
                "PROTOCOL §4: tell the person and police what their status is",
                status=screening.status.value,
            )
        if signposts and closes_as_confirmed:  # else the signposting goes with the first notices below
            s.signposting = signposts
            routes = ",".join(sp.route.value for sp in signposts)
            change.record(SYSTEM, "signposting_given", "routes: " + routes)
            change.notify(
                Recipient.person, NoticeKind.signposting, "Review para 27; PROTOCOL §5", signposting=routes
            )
        dependants = len(s.referral.dependants)
        if closes_as_confirmed:
            change.close(
                Outcome.status_confirmed,
                SYSTEM,
                f"Home Office records confirm status {screening.status.value}",
            )
            return change.done("status confirmed")
        change.record(
            SYSTEM,
            "dependants_status_unknown",
            f"the person's status {screening.status.value} is confirmed; {dependants} dependant(s) have no "
            "confirmed status: the case stays open and the hold stays on them",
        )
        change.notify(
            Recipient.case_officer,
            NoticeKind.dependants_status,
            "PROTOCOL §6: the hold covers the person's dependants",
            status=screening.status.value,
            dependants=str(dependants),
        )

    if first:
        s.phase = Phase.protection
        s.signposting = signposts
        routes = ",".join(sp.route.value for sp in signposts)
        change.record(SYSTEM, "signposting_given", "routes: " + routes)
        change.notify(
            Recipient.referring_officer,
            NoticeKind.acknowledgement,
            "NPCC §5.4.1: confirm status",
            status=screening.status.value,
            record_found=str(screening.record_found).lower(),
            hold="in force",
            signposting=routes,
        )
        change.notify(
            Recipient.person,
            NoticeKind.protocol_notice,
            "Review paras 69-70; NPCC §9",
            signposting=routes,
            hold="in force",
        )
    elif settling and screening.complete and signposts != s.signposting:
        # the records could be read at last: the person is told what routes their status opens
        s.signposting = signposts
        routes = ",".join(sp.route.value for sp in signposts)
        change.record(SYSTEM, "signposting_given", "routes: " + routes)
        change.notify(Recipient.person, NoticeKind.signposting, "PROTOCOL §5", signposting=routes)

    decided = {i for d in s.decisions if d.kind is DecisionKind.exclusion for i in d.indicators}
    new = [i for i in screening.indicators if i not in decided]
    already_pending = any(p.kind is DecisionKind.exclusion for p in s.pending)
    if new and not already_pending:
        s.pending.append(
            PendingDecision(
                kind=DecisionKind.exclusion,
                raised_at=now,
                why="exclusion indicators: " + ", ".join(i.value for i in new),
            )
        )
        change.record(
            SYSTEM,
            "exclusion_decision_required",
            "a supervisor decides; the indicators are in the sealed note",
            note="indicators: " + ", ".join(i.value for i in new),
        )
        change.notify(
            Recipient.supervisors,
            NoticeKind.decision_required,
            "PROTOCOL §4: a supervisor decides",
            decision=DecisionKind.exclusion.value,
            indicators=",".join(i.value for i in new),
        )
    return change.done("screened")


# Workflows before retries kept their trigger recorded a retried screening as `retry`, which settled the status
# at referral whatever the screening it retried; kept only so that their histories replay as they ran.
LEGACY_RETRY = "retry"


def _establishes_status_at_referral(before: Screening | None, screening: Screening) -> bool:
    """Whether this screening is the referral screening (first, or a retry of it after an outage)."""
    if screening.trigger == LEGACY_RETRY:
        return before is None or not before.complete
    return screening.trigger == "referral" and (before is None or not before.complete)


# --- commands ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Revisions:
    """Rules changed while cases were running: each False only to replay, as they ran, the workflows recorded
    before the change (the workflow asks its patch; every other caller takes today's rules)."""

    unsafe_contact_holds_notices: bool = True  # an unsafe-to-talk contact holds notices to the person
    help_is_not_an_application: bool = (
        True  # legal advice, support and the consulate are refused as applications
    )
    amend_refuses_listed_detail: bool = (
        True  # an amend giving a phone or email listed never to use is refused
    )


CURRENT = Revisions()


def refused(state: CaseState, command: CaseCommand, reason: str, now: datetime, policy: Policy) -> Step:
    """Record a command refused because of who gave it (the caller is told why)."""
    change = _Change(state, now, policy)
    change.record(command.actor, "command_refused", f"{command.kind} refused: {reason}")
    return change.done("refused")


def refusal(
    state: CaseState, command: CaseCommand, now: datetime, revisions: Revisions = CURRENT
) -> str | None:
    """Why this command is impossible now, or None. Checked before the command touches history."""
    if isinstance(command, Reopen):
        return _reopen_refusal(state, now)
    if state.phase is Phase.closed:
        return (
            f"case {state.case_id} is closed ({state.closure.outcome.value if state.closure else 'closed'})"
        )
    if state.phase is Phase.screening and not isinstance(command, EnforcementCheckNotice):
        return f"case {state.case_id} is still being screened; try again in a moment"
    match command:
        case PoliceUpdate():
            if command.trial_date is not None and command.trial_date < now.date():
                return "the trial date is in the past: give the date the person is due to give evidence"
            return _police_update_refusal(state, command)
        case PoliceCorrection():
            return _correction_refusal(state, command)
        case Withdrawal():
            if state.investigation is InvestigationStatus.referral_withdrawn and not command.made_in_error:
                return "the referral is already withdrawn (say --in-error if it was made in error)"
        case ContactRecord():
            if command.support_active is not None and command.result not in contact.MEETS_CONTACT:
                return "support can only be confirmed or ended at a contact in which the person was reached"
        case ApplicationEvent():
            return _application_refusal(state, command, revisions)
        case ExclusionDecision():
            if not any(p.kind is DecisionKind.exclusion for p in state.pending):
                return "no exclusion decision is pending on this case"
        case ReleaseDecision():
            if state.phase is not Phase.awaiting_release:
                return (
                    "release can only be authorised once pre-decision engagement has ended with no new "
                    f"grounds (the case is in {state.phase.value})"
                )
        case RouteStarted():
            if command.days is not None and command.days <= 0:
                return "a route clock needs a positive number of days"
            if command.days is None and command.route not in _DEFAULT_CLOCK:
                return f"give --days: the policy has no default clock for {command.route.value}"
        case Reassign():
            if state.current_officer.label() == _officer(command.officer_id).label():
                return (
                    f"{_officer(command.officer_id).label()} is already the case officer of {state.case_id}"
                )
        case Amend():
            return _amend_refusal(state, command, now, revisions)
        case FactReported():
            return facts.report_refusal(command)
        case FactVerified():
            return facts.verify_refusal(state, command)
    return None


def _reopen_refusal(state: CaseState, now: datetime) -> str | None:
    if state.phase is not Phase.closed or state.closure is None:
        return f"case {state.case_id} is open: only a closed case can be reopened"
    window = policy_of(state).reopen_window
    if now > state.closure.at + window:
        return (
            f"case {state.case_id} closed more than {window.days} days ago and can no longer be reopened: "
            "start a new referral"
        )
    return None


def _correction_refusal(state: CaseState, correction: PoliceCorrection) -> str | None:
    """A correction changes the status to what it should have been, whichever way; withdrawals have their own
    command."""
    new, old = correction.investigation, state.investigation
    if new is old:
        return f"the investigation is already {_words(old)}: a correction must give the status it should be"
    if new is InvestigationStatus.referral_withdrawn:
        return "a withdrawal of the referral is recorded with withdraw, not as a correction"
    if old is InvestigationStatus.referral_withdrawn:
        return (
            "the referral was withdrawn, which a correction does not undo: report a reopened investigation "
            "with update --status under_investigation"
        )
    return None


def _words(code: InvestigationStatus) -> str:
    return code.value.replace("_", " ")


def _police_update_refusal(state: CaseState, update: PoliceUpdate) -> str | None:
    unchanged = (
        update.investigation in (None, state.investigation)
        and not (update.protective_measures or "").strip()
        and update.person_is_suspect in (None, state.person_is_suspect)
        and update.person_charged in (None, state.person_charged)
        and update.trial_date is None
    )
    if unchanged:
        return (
            "the update changes nothing: give a new investigation status, protective measures, "
            "suspect/charge or a trial date"
        )
    new = update.investigation
    if new is not None and new is not state.investigation:
        old = state.investigation
        if (
            old is InvestigationStatus.no_further_action
            and new is not InvestigationStatus.under_investigation
        ):
            return "after no further action, an investigation can only be reopened (under_investigation)"
        if new is InvestigationStatus.no_further_action and old in (
            InvestigationStatus.at_trial,
            InvestigationStatus.concluded,
            InvestigationStatus.appeal_pending,
        ):
            return f"no further action cannot follow {old.value}"
        if old is InvestigationStatus.concluded and new is not InvestigationStatus.appeal_pending:
            return "a concluded case can only move to appeal_pending"
        if old is InvestigationStatus.appeal_pending and new is not InvestigationStatus.concluded:
            return "an appeal can only be concluded"
        if new is InvestigationStatus.referral_withdrawn:
            return "a withdrawal of the referral is recorded with withdraw, not as an investigation status"
        if (
            old is InvestigationStatus.referral_withdrawn
            and new is not InvestigationStatus.under_investigation
        ):
            return "after the referral was withdrawn, an investigation can only be reopened (under_investigation)"
        if (
            old in PROGRESS
            and new in PROGRESS
            and new is not InvestigationStatus.appeal_pending
            and old is not InvestigationStatus.appeal_pending
            and PROGRESS.index(new) < PROGRESS.index(old)
        ):
            return f"the investigation cannot go back from {old.value} to {new.value}"
    return None


# Routes that are help, not an application to stay: a "grant" there must never close a case as regularised.
NOT_AN_APPLICATION = frozenset({Route.legal_advice, Route.specialist_support, Route.consulate})


def _application_refusal(state: CaseState, event: ApplicationEvent, revisions: Revisions) -> str | None:
    if revisions.help_is_not_an_application and event.route in NOT_AN_APPLICATION:
        return (
            f"{event.route.value} is help towards an application, not an application to stay: record it at a "
            "contact (support) instead"
        )
    if event.stage is ApplicationStage.submitted:
        if event.number is not None:
            return "a new application gets its number from the case; do not give one"
        return None
    candidates = [a for a in state.applications if event.number in (None, a.number)]
    if event.number is None and len(candidates) > 1:
        return "this case has several applications: say which (--number)"
    if not candidates:
        return (
            f"no application {event.number} on this case"
            if event.number
            else "no application on this case yet"
        )
    app = candidates[-1]
    if app.stage not in APPLICATION_FOLLOWS[event.stage]:
        return f"application {app.number} is {app.stage.value}: it cannot become {event.stage.value}"
    return None


_DEFAULT_CLOCK = {
    Route.domestic_abuse_concession: "concession_leave",
    Route.national_referral_mechanism: "nrm_min_recovery",
}


def apply_command(
    state: CaseState, command: CaseCommand, now: datetime, policy: Policy, revisions: Revisions = CURRENT
) -> Step:
    """Carry out a permitted, possible command (check `authority.not_permitted` and `refusal` first)."""
    change = _Change(state, now, policy)
    s, actor = change.s, command.actor
    match command:
        case PoliceUpdate():
            return _police_update(change, command)
        case PoliceCorrection():
            return _police_correction(change, command)
        case PoliceNote():
            return _police_note(change, command)
        case Withdrawal():
            return _withdrawal(change, command)
        case Reopen():
            return _reopen(change, command)
        case Reassign():
            return _reassign(change, command)
        case Amend():
            return _amend(change, command)
        case ContactRecord():
            s.contact = contact.after_attempt(s.contact, command.result, now, policy, s.calendar)
            if command.support_active is not None:
                s.support_active = command.support_active
            support = (
                ""
                if command.support_active is None
                else f"; support {'active' if command.support_active else 'ended'}"
            )
            change.record(
                actor,
                "contact_recorded",
                f"contact attempt: {command.result.value}{support}",
                note=command.note,
            )
            held = _hold_or_resume_notices(change, command) if revisions.unsafe_contact_holds_notices else ""
            return change.done(f"contact recorded ({command.result.value}){held}")
        case ApplicationEvent():
            return _application(change, command)
        case RouteStarted():
            days = command.days
            length = (
                timedelta(days=days) if days is not None else getattr(policy, _DEFAULT_CLOCK[command.route])
            )
            s.route_clocks.append(RouteClock(route=command.route, started_at=now, ends_at=now + length))
            change.record(
                actor,
                "route_clock_started",
                f"{command.route.value} until {(now + length).date().isoformat()}",
                note=command.note,
            )
            return change.done(f"{command.route.value} clock started")
        case DepartureRecord():
            change.close(Outcome.departed, actor, command.note or "voluntary departure recorded")
            return change.done("departure recorded")
        case ExclusionDecision():
            pending = next(p for p in s.pending if p.kind is DecisionKind.exclusion)
            indicators = list(s.screening.indicators) if s.screening else []
            s.pending = [p for p in s.pending if p is not pending]
            s.decisions.append(
                DecisionRecord(
                    kind=DecisionKind.exclusion,
                    verdict=command.verdict,
                    by=actor,
                    at=now,
                    reason=command.reason,
                    indicators=indicators,
                )
            )
            verdict = "exclusion_confirmed" if command.verdict == "confirm" else "exclusion_overridden"
            change.record(actor, verdict, "decided with a recorded reason", note=command.reason)
            if command.verdict == "confirm":
                change.close(Outcome.excluded, actor, command.reason)
                return change.done("exclusion confirmed")
            return change.done("exclusion overridden: protection continues")
        case ReleaseDecision():
            s.decisions.append(
                DecisionRecord(
                    kind=DecisionKind.release, verdict="authorise", by=actor, at=now, reason=command.reason
                )
            )
            change.record(actor, "release_authorised", "decided with a recorded reason", note=command.reason)
            change.close(Outcome.hold_released, actor, command.reason)
            return change.done("release authorised")
        case EnforcementCheckNotice():
            why = POSSIBLE_MATCH if command.possible_match else "case is protected"
            # the check's reason goes to the officer as the entry's sealed note (issue 8 item 5)
            change.record(
                actor,
                "enforcement_check_refused",
                f"check {command.check_id} refused: {why}",
                note=command.reason,
            )
            details = {"check_id": command.check_id}
            if command.possible_match:  # the officer must say whether the person checked is theirs
                details["match"] = "possible"
            change.notify(
                Recipient.case_officer,
                NoticeKind.enforcement_check_refused,
                "PROTOCOL §6: report checks to the case officer",
                **details,
            )
            return change.done("enforcement check reported")
        case FactReported():
            return _fact_reported(change, command)
        case FactVerified():
            return _fact_verified(change, command)
    raise ValueError(f"unknown command {command!r}")


# an amend of any of these is a new safe arrangement: notices held after an unsafe contact go again
NEW_SAFE_ARRANGEMENT = frozenset({"channel", "phone", "email", "post_is_safe", "safe_times"})


def _hold_or_resume_notices(change: _Change, attempt: ContactRecord) -> str:
    """It was unsafe for the person to talk: notices to them are held from now (each becomes a task for
    the case officer, and those still waiting to go re-route the same way); a later contact that reaches
    them lets notices go again. Says what changed, for the officer's answer."""
    s = change.s
    safe = s.referral.safe_contact
    if attempt.result is ContactResult.unsafe_to_talk and safe.held_since is None:
        s.referral = s.referral.model_copy(
            update={"safe_contact": safe.model_copy(update={"held_since": change.now})}
        )
        change.step.referral_amended = True
        change.record(
            attempt.actor,
            "person_notices_held",
            "notices to the person held: it was unsafe for them to talk; the case officer passes on what "
            "must reach them",
        )
        return "; notices to the person are held until a contact reaches them"
    if attempt.result in contact.MEETS_CONTACT and safe.held_since is not None:
        _resume_notices(change, attempt.actor, "a contact reached the person")
        return "; notices to the person go again"
    return ""


def _resume_notices(change: _Change, actor: Actor, why: str) -> None:
    s = change.s
    s.referral = s.referral.model_copy(
        update={"safe_contact": s.referral.safe_contact.model_copy(update={"held_since": None})}
    )
    change.step.referral_amended = True
    change.record(actor, "person_notices_resumed", f"notices to the person go again: {why}")


def _withdrawal(change: _Change, withdrawal: Withdrawal) -> Step:
    """Police withdraw their referral: the police ground ends, and only that (PROTOCOL §6). The case closes
    as withdrawn at once only when the referral was made in error and nothing else protects the person;
    otherwise the other grounds hold, and when they end the case goes through engagement and a supervisor's
    release like any other."""
    s, now, actor = change.s, change.now, withdrawal.actor
    s.investigation = InvestigationStatus.referral_withdrawn
    in_error = " (made in error)" if withdrawal.made_in_error else ""
    change.record(
        actor,
        "referral_withdrawn",
        f"police referral withdrawn{in_error}: the police ground has ended",
        shared_what=["referral withdrawn"],
        shared_with=IE,
        shared_why=["PROTOCOL §6: police withdrawing ends the police ground"],
        note=withdrawal.reason,
    )
    s.investigation_seq = s.record_seq
    others = hold.substantive_grounds(s, now)
    if withdrawal.made_in_error and not others:
        change.close(Outcome.withdrawn, actor, withdrawal.reason)
        return change.done("withdrawn: the referral was made in error and nothing else protects the person")
    step = change.done()
    if others:
        step.accepted = "referral withdrawn: the hold stays on " + ", ".join(g.value for g in others)
    else:
        step.accepted = "referral withdrawn: no ground remains, pre-decision engagement has begun"
    return step


def _reopen(change: _Change, reopen: Reopen) -> Step:
    """A supervisor reopens a case closed by mistake: protection is restored (the hold back in force on the
    person and dependants), who, when and why is recorded, and the person's officer is told. The case then
    settles on its grounds; with none it goes to engagement and a supervisor's release as any other case."""
    s, now, actor = change.s, change.now, reopen.actor
    assert s.closure is not None  # refusal() lets only a closed case through
    undone = s.closure
    s.reopenings.append(Reopening(at=now, by=actor, reason=reopen.reason, undid=undone))
    s.phase = Phase.protection
    s.closure = None
    s.hold_lifted_at = None
    s.contact = contact.first_schedule(now)  # the officer gets back in touch now
    change.record(
        actor, "case_reopened", f"reopened: it had closed as {undone.outcome.value}", note=reopen.reason
    )
    change.record(
        actor,
        "hold_placed",
        f"hold placed again on the person and {len(s.referral.dependants)} dependant(s): case reopened",
        shared_what=["hold in force"],
        shared_with=ENFORCEMENT,
        shared_why=["PROTOCOL §8: a case closed by mistake is reopened"],
    )
    if undone.outcome is Outcome.excluded and s.screening is not None and s.screening.indicators:
        # the confirmation was the mistake: the exclusion waits for a supervisor again
        s.pending.append(
            PendingDecision(
                kind=DecisionKind.exclusion,
                raised_at=now,
                why="exclusion indicators: " + ", ".join(i.value for i in s.screening.indicators),
            )
        )
        change.record(SYSTEM, "exclusion_decision_required", "reopened after an exclusion was confirmed")
    change.notify(
        Recipient.case_officer,
        NoticeKind.case_reopened,
        "PROTOCOL §8: a reopened case is the officer's again",
        previous_outcome=undone.outcome.value,
        reopened_by=actor.label(),
    )
    return change.done(f"reopened (it had closed as {undone.outcome.value}): the hold is back in force")


def _officer(officer_id: str) -> Actor:
    return Actor(role=ActorRole.officer, id=officer_id)


def _reassign(change: _Change, reassign: Reassign) -> Step:
    """A supervisor gives the case to another case officer (issue 12): recorded with the reason, and both
    officers get a task, each addressed by name (`officer`), so that the one leaving the case knows too.
    From now on what is addressed to the case officer goes to the new one."""
    s, actor = change.s, reassign.actor
    before, after = s.current_officer, _officer(reassign.officer_id)
    s.case_officer = after
    change.record(
        actor,
        "case_reassigned",
        f"case officer changed from {before.label()} to {after.label()}",
        note=reassign.reason,
    )
    for officer in (before, after):
        change.notify(
            Recipient.case_officer,
            NoticeKind.case_reassigned,
            "PROTOCOL §2: one dedicated officer keeps contact with the person",
            officer=officer.label(),
            previous_officer=before.label(),
            new_officer=after.label(),
            reassigned_by=actor.label(),
        )
    return change.done(f"reassigned: the case officer is now {after.label()}")


def amended(referral: Referral, amend: Amend) -> Referral:
    """The referral with the amend's changes: the fields given replace the old ones, new dependants are
    added after the others (so that each existing dependant keeps its number and its hold)."""
    safe = {n: getattr(amend, n) for n in SAFE_CONTACT_FIELDS if getattr(amend, n) is not None}
    person = {n: getattr(amend, n) for n in AMENDABLE if n not in SAFE_CONTACT_FIELDS}
    person = {n: v for n, v in person.items() if v is not None}
    return referral.model_copy(
        update={
            "safe_contact": referral.safe_contact.model_copy(update=safe),
            "person": referral.person.model_copy(update=person),
            "dependants": [*referral.dependants, *amend.add_dependants],
        }
    )


def _amend_refusal(state: CaseState, amend: Amend, now: datetime, revisions: Revisions) -> str | None:
    changed = amend.changed_fields()
    if not changed:
        return (
            "the amend changes nothing: give a new channel, phone, email, post safety, language, interpreter, "
            "safe times, address, location, never-contact-via list or a dependant to add"
        )
    problems: list[str] = []
    after = amended(state.referral, amend)
    if any(n in changed for n in ("channel", "phone", "email", "post_is_safe", "address")):
        safe = after.safe_contact
        if safe.channel is ContactChannel.phone and not safe.phone:
            problems.append("the safe channel is phone but the case has no safe phone: give --phone")
        if safe.channel is ContactChannel.email and not safe.email:
            problems.append("the safe channel is email but the case has no safe email: give --email")
        if safe.channel is ContactChannel.post and not (safe.post_is_safe and after.person.address):
            problems.append(
                "the safe channel is post but post to the address is not marked safe (--post-safe)"
            )
    if revisions.amend_refuses_listed_detail:  # as intake refuses a referral that gives one
        for field, given in (("phone", amend.phone), ("email", amend.email)):
            if given and listed_as_never(given, after.safe_contact.never_contact_via):
                problems.append(
                    f"the {field} given is listed as never to be used (never-contact-via), so it is not a safe "
                    f"way to reach the person: give a safe {field}"
                )
    known = {(name_key(d.family_name, d.given_names), d.date_of_birth) for d in state.referral.dependants}
    for n, d in enumerate(amend.add_dependants, start=1):
        if d.date_of_birth > now.date():
            problems.append(f"new dependant {n}: the date of birth is in the future")
        key = (name_key(d.family_name, d.given_names), d.date_of_birth)
        if key in known:
            problems.append(
                f"new dependant {n} is already a dependant on this case (same name and date of birth)"
            )
        known.add(key)
    return "; ".join(problems) or None


def _amend(change: _Change, amend: Amend) -> Step:
    """An officer changes what changed (issue 12). The new details go into the referral (sealed where it is
    stored); the record says which fields changed, never their values. Told by police, it is a sharing.
    Each new dependant is covered by the hold at once; pending notices re-route when the step is stored."""
    s, actor = change.s, amend.actor
    held = s.referral.safe_contact.held_since is not None
    s.referral = amended(s.referral, amend)
    change.step.referral_amended = True
    changed = amend.changed_fields()
    added = len(amend.add_dependants)
    police = amend.told_by_police
    change.record(
        actor,
        "details_amended",
        "amended: " + ", ".join(changed) + (f" ({added} new dependant(s))" if added else ""),
        shared_what=changed if police else None,
        shared_with=f"{IE}, from {_referring_officer(s.referral)}" if police else None,
        shared_why=["assist_protection"] if police else None,
        note=amend.note,
    )
    if held and set(changed) & NEW_SAFE_ARRANGEMENT:
        _resume_notices(change, actor, "the officer amended the safe contact")
    if added and s.phase is not Phase.closed:
        change.record(
            actor,
            "hold_placed",
            f"hold placed on {added} new dependant(s)",
            shared_what=["hold in force"],
            shared_with=ENFORCEMENT,
            shared_why=["PROTOCOL §6: no enforcement action while the grounds last"],
        )
    listed = notices.route(Recipient.person, s.referral).suppressed_reason == notices.LISTED_NEVER
    return change.done(
        "amended: "
        + ", ".join(changed)
        + ("; notices waiting to go follow the new details" if set(changed) - {"dependants"} else "")
        + (
            "; notices to the person are suppressed: the safe channel's detail is now listed as never to be "
            "used; give a safe one"
            if listed
            else ""
        )
    )


def _fact_reported(change: _Change, report: FactReported) -> Step:
    """Record a fact with its source; one that needs verification changes nothing until an officer
    verifies it (PROTOCOL §3)."""
    s, now, actor = change.s, change.now, report.actor
    needs = facts.needs_verification(report.fact_kind, report.source, actor.role)
    fact = ReportedFact(
        number=len(s.facts) + 1,
        kind=report.fact_kind,
        source=report.source,
        detail=report.detail,
        reported_at=now,
        reported_by=actor.label(),
        needs_verification=needs,
        verified=None if needs else True,
        verified_by=None if needs else actor.label(),
        verified_at=None if needs else now,
    )
    s.facts.append(fact)
    said = "unverified: changes nothing until an officer verifies it" if needs else "accepted"
    police = actor.role is ActorRole.police
    change.record(
        actor,
        "fact_reported",
        f"{facts.describe(fact)}: {said}",
        shared_what=[f"reported fact: {fact.kind.value}"] if police else None,
        shared_with=IE if police else None,
        shared_why=["PROTOCOL §3: the source of each fact is recorded"] if police else None,
        note=report.detail,
    )
    if needs:
        change.notify(
            Recipient.case_officer,
            NoticeKind.fact_to_verify,
            "PROTOCOL §3: only an officer verifies a fact",
            fact_number=str(fact.number),
            fact_kind=fact.kind.value,
            source=fact.source.value,
        )
        return change.done(f"fact {fact.number} recorded as unverified: it changes nothing until verified")
    return _fact_takes_effect(change, fact, actor)


def _fact_verified(change: _Change, verification: FactVerified) -> Step:
    s, now, actor = change.s, change.now, verification.actor
    fact = s.facts[verification.fact_number - 1]
    fact.verified = verification.verified
    fact.verified_by, fact.verified_at, fact.note = actor.label(), now, verification.note
    if not verification.verified:
        said = f"{facts.describe(fact)} rejected: it changes nothing"
        change.record(actor, "fact_rejected", said, note=verification.note)
        return change.done(f"fact {fact.number} rejected: nothing changes")
    change.record(actor, "fact_verified", f"{facts.describe(fact)} verified", note=verification.note)
    return _fact_takes_effect(change, fact, actor)


def _fact_takes_effect(change: _Change, fact: ReportedFact, by: Actor) -> Step:
    """A verified fact: the person having left the UK closes the case as departed; any other fact is
    recorded and leaves the hold as it is."""
    if facts.closes_case(fact):
        change.close(Outcome.departed, by, f"{facts.describe(fact)} verified: the person left the UK")
        return change.done(f"fact {fact.number} verified: the case closed as departed")
    return change.done(f"fact {fact.number} recorded: the hold is unchanged")


def _police_update(change: _Change, update: PoliceUpdate) -> Step:
    s, now, actor = change.s, change.now, update.actor
    said = []
    status_changed = update.investigation is not None and update.investigation is not s.investigation
    if update.investigation is not None and status_changed:
        said.append(f"investigation {s.investigation.value} -> {update.investigation.value}")
        s.investigation = update.investigation
    if update.protective_measures:
        said.append("protective measures updated")  # the measures themselves: in the sealed note
    if update.trial_date is not None:
        ends = datetime.combine(update.trial_date, now.timetz()) + change.policy.witness_after_trial
        s.route_clocks.append(
            RouteClock(
                route=Route.foreign_witness,
                started_at=now,
                ends_at=max(ends, now),
                note="due to give evidence",
            )
        )
        said.append(f"due to give evidence on {update.trial_date.isoformat()}")
        s.trial_date = update.trial_date
    newly_suspect = bool(update.person_is_suspect or update.person_charged) and not s.person_is_suspect
    newly_charged = bool(update.person_charged) and not s.person_charged
    if update.person_is_suspect is not None or update.person_charged:
        s.person_is_suspect = bool(update.person_is_suspect or update.person_charged or s.person_charged)
    if update.person_charged is not None:
        s.person_charged = update.person_charged
    # that the person is now a suspect or charged is criminality detail: sealed in the note (issue 11)
    suspicion = "; ".join(
        said
        for said, now_so in (
            ("the person is now a suspect", newly_suspect),
            ("the person has been charged", newly_charged),
        )
        if now_so
    )
    if suspicion:
        said.append("more in the sealed note")
    change.record(
        actor,
        "police_update",
        "; ".join(said) or "no change",
        shared_what=["investigation status"] + (["suspect/charge"] if newly_suspect or newly_charged else []),
        shared_with=IE,
        shared_why=["NPCC §5.4.3: assist the investigation"],
        note=_joined(
            ("person", suspicion),
            ("protective measures", update.protective_measures),
            ("note", update.note),
        ),
    )
    if status_changed:
        s.investigation_seq = s.record_seq  # the entry a later correction points at
    change.step.rescreen = newly_suspect or newly_charged
    return change.done("police update recorded")


def _police_correction(change: _Change, correction: PoliceCorrection) -> Step:
    """Police correct a status they reported wrongly (issue 12): a new entry that points at the entry it
    corrects, never a rewrite of it. The grounds are derived again from the corrected status; with none left
    the case goes to pre-decision engagement like any other (`_Change._settle`): a correction never lifts the
    hold by itself. The case officer gets a task."""
    s, actor = change.s, correction.actor
    before, corrects = s.investigation, s.investigation_seq
    was_protected = s.phase is Phase.protection
    s.investigation = correction.investigation
    pointed = f"entry {corrects}" if corrects is not None else "the status at referral"
    change.record(
        actor,
        "police_status_corrected",
        f"corrects {pointed}: investigation {before.value} was reported wrongly; it is "
        f"{correction.investigation.value}",
        shared_what=["investigation status (a correction)"],
        shared_with=IE,
        shared_why=["NPCC §5.4.3: assist the investigation"],
        note=correction.reason,
    )
    entry = s.record_seq
    s.investigation_seq = entry
    change.notify(
        Recipient.case_officer,
        NoticeKind.police_correction,
        "PROTOCOL §2: the case officer keeps the case",
        entry=str(entry),
        corrects=pointed,
        previous=before.value,
        corrected=correction.investigation.value,
    )
    step = change.done()
    if was_protected and step.state.phase is Phase.engagement:
        step.accepted = (
            f"corrected ({pointed}): no ground remains, so pre-decision engagement has begun; the hold stays "
            "in force until a supervisor releases it"
        )
    else:
        grounds = ", ".join(g.value for g in step.state.hold_grounds) or "-"
        step.accepted = f"corrected ({pointed}): the hold stays in force ({grounds})"
    return step


def _police_note(change: _Change, note: PoliceNote) -> Step:
    """Police add a note: kept sealed beside the record (it may carry personal data), recorded as what police
    shared, and a task for the case officer. The hold is unchanged."""
    s = change.s
    change.record(
        note.actor,
        "police_note",
        "police added a note (in the sealed note)",
        shared_what=["a note from police"],
        shared_with=IE,
        shared_why=["NPCC §5.4.3: assist the investigation"],
        note=note.text,
    )
    change.notify(
        Recipient.case_officer,
        NoticeKind.police_note,
        "PROTOCOL §2: the case officer keeps the case",
        entry=str(s.record_seq),
        added_by=note.actor.label(),
    )
    return change.done(f"note recorded as entry {s.record_seq}; the case officer has a task")


def _joined(*parts: tuple[str, str | None]) -> str | None:
    """Free-text parts of a command as one sealed note (they may carry personal data)."""
    text = "; ".join(f"{label}: {value.strip()}" for label, value in parts if value and value.strip())
    return text or None


def _application(change: _Change, event: ApplicationEvent) -> Step:
    s, now, actor = change.s, change.now, event.actor
    if event.stage is ApplicationStage.submitted:
        number = len(s.applications) + 1
        s.applications.append(
            Application(number=number, route=event.route, stage=event.stage, submitted_at=now, updated_at=now)
        )
        change.record(
            actor, "application_submitted", f"application {number}: {event.route.value}", note=event.note
        )
        return change.done(f"application {number} submitted")
    app = [a for a in s.applications if event.number in (None, a.number)][-1]
    app.stage, app.updated_at = event.stage, now
    change.record(
        actor,
        f"application_{event.stage.value}",
        f"application {app.number} ({app.route.value})",
        note=event.note,
    )
    if event.stage is ApplicationStage.granted:
        change.close(Outcome.regularised, actor, f"application {app.number} ({app.route.value}) granted")
    return change.done(f"application {app.number} {event.stage.value}")


# --- the clock -----------------------------------------------------------------------------------


def tick(state: CaseState, now: datetime, policy: Policy) -> Step | None:
    """What the clock alone changes (contact overdue, notice period over, a route clock run out), or
    None when nothing changed."""
    if state.phase in (Phase.screening, Phase.closed):
        return None
    step = _Change(state, now, policy).done()
    changed = (
        step.records or step.state.hold_grounds != state.hold_grounds or step.state.phase is not state.phase
    )
    return step if changed else None


def next_wakeup(state: CaseState, now: datetime, policy: Policy) -> datetime | None:
    """The next moment after `now` at which the clock alone could change this case."""
    if state.phase in (Phase.screening, Phase.closed):
        return None
    moments = [contact.next_escalation(state.contact, policy, state.calendar)]
    if state.engagement_ends_at is not None:
        moments.append(state.engagement_ends_at)
    moments += [clock.ends_at for clock in state.route_clocks]
    future = [moment for moment in moments if moment > now]
    return min(future) if future else None


def written(
    step: Step, now: datetime, *, opening: bool = False, matched_ref: str | None = None
) -> PersistStep:
    """What one step writes (`CaseStore.persist_step`, one transaction), as the workflow hands it over: the view at
    `now`, the step's records and notices, the referral when the case opens or was amended, who lifted the holds
    when it closed, and the Home Office reference screening matched (`matched_ref`)."""
    closure = step.state.closure
    return PersistStep(
        case_id=step.state.case_id,
        at=now,
        view=view(step.state, now, policy_of(step.state)),
        records=step.records,
        notices=step.notices,
        referral=step.state.referral if opening else None,
        amended_referral=step.state.referral if step.referral_amended else None,
        lifted_by=closure.by.label() if closure else None,
        matched_home_office_ref=matched_ref,
    )


def view(state: CaseState, now: datetime, policy: Policy) -> CaseView:
    """The case as supervisors and officers see it: codes and dates, no personal data."""
    is_open = state.phase is not Phase.closed
    overdue = is_open and contact.is_overdue(state.contact, now, policy, state.calendar)
    return CaseView(
        case_id=state.case_id,
        phase=state.phase,
        hold=HoldView(active=is_open, grounds=hold.hold_grounds(state, now), lifted_at=state.hold_lifted_at),
        outcome=state.closure.outcome if state.closure else None,
        next_contact_due=state.contact.next_due if is_open else None,
        contact_overdue=overdue,
        pending_decisions=[p.kind for p in state.pending],
        policy_version=state.policy_version,
        force_code=state.referral.force_code,
        crime_type=state.referral.crime_type.value,
        status_at_referral=state.status_at_referral,
        exclusion_indicators=list(state.screening.indicators) if state.screening else [],
        signposting=state.signposting,
        applications=state.applications,
        investigation=state.investigation,
        role=state.referral.role.value,
        referral_channel=state.referral.channel.value,
        referred_at=state.referral.received_at,
        opened_at=state.opened_at,
        closed_at=state.closure.at if state.closure else None,
        overdue_since=contact.overdue_from(state.contact, policy, state.calendar) if overdue else None,
        revision=state.revision,
        exclusion_overridden=state.exclusion_overridden,
        case_officer=state.current_officer.label(),
        route_clocks=state.route_clocks,
        trial_date=state.trial_date,
        division=state.calendar.division if state.calendar is not None else None,
        working_days=policy.working_days,
    )
