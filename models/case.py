"""The case: its whole state (one serialisable object, carried across continue-as-new) and the
commands that change it (one model per workflow update)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.records import ImmigrationStatus
from models.referral import ContactChannel, Dependant, Referral
from models.text import LIST_MAX, NUMBER_MAX, ROUTE_DAYS_MAX, Code, ForceCode, Identifier, Line, Note


class Message(BaseModel):
    """Base of every message the workflow exchanges and stores. Unknown fields are ignored, so that a
    payload written by another version (a running case's state, a stored view, an activity's input) still
    decodes; input from outside is validated strictly where it comes in (`models.referral.Contract`,
    the records, the command line)."""

    model_config = ConfigDict(extra="ignore")


# --- who -------------------------------------------------------------------------------------------


class ActorRole(StrEnum):
    police = "police"
    officer = "officer"
    supervisor = "supervisor"
    enforcement = "enforcement"
    records_admin = "records_admin"  # loads Home Office reference records
    auditor = "auditor"  # data protection: reads the access log and the enforcement checks
    system = "system"  # the workflow itself: timers, screening


class Actor(Message):
    role: ActorRole
    id: Identifier
    force: ForceCode | None = None  # police force code, for police actors

    def label(self) -> str:
        return ":".join(p for p in (self.role.value, self.id, self.force) if p)


SYSTEM = Actor(role=ActorRole.system, id="workflow")


# --- the case's vocabulary -------------------------------------------------------------------------


class Phase(StrEnum):
    screening = "screening"
    protection = "protection"  # the hold stands on at least one ground
    engagement = "engagement"  # pre-decision engagement: no ground left, notice period running
    awaiting_release = "awaiting_release"  # notice period over: a supervisor must decide
    closed = "closed"


class Outcome(StrEnum):
    regularised = "regularised"
    status_confirmed = "status_confirmed"
    excluded = "excluded"
    departed = "departed"
    hold_released = "hold_released"
    withdrawn = "withdrawn"


class Ground(StrEnum):
    """A reason the enforcement hold is in force (PROTOCOL.md §6)."""

    screening_pending = "screening_pending"
    investigation_live = "investigation_live"
    application_pending = "application_pending"
    receiving_support = "receiving_support"
    route_clock = "route_clock"
    exclusion_decision_pending = "exclusion_decision_pending"
    engagement_notice = "engagement_notice"  # pre-decision engagement: the notice period is running
    release_decision_pending = "release_decision_pending"


class InvestigationStatus(StrEnum):
    reported = "reported"
    under_investigation = "under_investigation"
    suspect_arrested = "suspect_arrested"
    charged = "charged"
    awaiting_trial = "awaiting_trial"
    at_trial = "at_trial"
    appeal_pending = "appeal_pending"
    concluded = "concluded"
    no_further_action = "no_further_action"
    referral_withdrawn = "referral_withdrawn"  # police withdrew their referral: the police ground has ended


class ContactResult(StrEnum):
    reached = "reached"
    no_answer = "no_answer"
    unsafe_to_talk = "unsafe_to_talk"
    declined = "declined"


class Route(StrEnum):
    """Where a person can be signposted (PROTOCOL.md §5)."""

    domestic_abuse_concession = "domestic_abuse_concession"
    appendix_victim_of_domestic_abuse = "appendix_victim_of_domestic_abuse"
    national_referral_mechanism = "national_referral_mechanism"
    foreign_witness = "foreign_witness"
    split_dependant_claim = "split_dependant_claim"
    legal_advice = "legal_advice"
    specialist_support = "specialist_support"
    consulate = "consulate"
    other = "other"


class ApplicationStage(StrEnum):
    submitted = "submitted"
    granted = "granted"
    refused = "refused"
    rejected = "rejected"
    review_lodged = "review_lodged"
    appeal_lodged = "appeal_lodged"
    withdrawn = "withdrawn"


class ExclusionIndicator(StrEnum):
    custodial_12_months = "custodial_12_months"  # UKBA 2007 s.32; NIAA 2002 s.117D
    serious_harm = "serious_harm"  # NIAA 2002 s.117D
    persistent_offender = "persistent_offender"  # NIAA 2002 s.117D
    custodial_4_years = "custodial_4_years"  # NIAA 2002 s.117C: the most serious band
    deportation_order = "deportation_order"
    national_security = "national_security"


class DecisionKind(StrEnum):
    exclusion = "exclusion"
    release = "release"


class FactKind(StrEnum):
    """A fact someone tells the Home Office about the person (PROTOCOL.md §3: the source of each fact)."""

    relationship_ended = "relationship_ended"
    person_left_uk = "person_left_uk"
    other = "other"


class FactSource(StrEnum):
    perpetrator = "perpetrator"  # the alleged perpetrator: never acted on until an officer verifies it
    police = "police"
    person = "person"  # the person themself
    third_party = "third_party"


class Recipient(StrEnum):
    referring_officer = "referring_officer"
    person = "person"
    supervisors = "supervisors"
    case_officer = "case_officer"


class NoticeKind(StrEnum):
    acknowledgement = "acknowledgement"
    status = "status"
    hold_placed = "hold_placed"
    signposting = "signposting"
    protocol_notice = "protocol_notice"
    engagement_notice = "engagement_notice"
    protection_resumed = "protection_resumed"
    contact_overdue = "contact_overdue"
    decision_required = "decision_required"
    outcome = "outcome"
    enforcement_check_refused = "enforcement_check_refused"
    fact_to_verify = "fact_to_verify"
    case_reopened = "case_reopened"
    deliver_by_hand = "deliver_by_hand"  # a notice to the person had no safe channel: the officer must act
    reference_mismatch = "reference_mismatch"  # the referral's HO reference is on another person's record
    case_reassigned = "case_reassigned"  # a supervisor gave the case to another officer: a task for both
    dependants_status = "dependants_status"  # the person's status is secure, their dependants' is not known
    police_correction = "police_correction"  # police corrected a status they reported wrongly: a task
    police_note = "police_note"  # police added a note: a task for the case officer


# --- parts of the state ----------------------------------------------------------------------------


class Screening(Message):
    screened_at: datetime
    record_found: bool
    status: ImmigrationStatus
    last_leave: str | None = None
    leave_expires: date | None = None
    secure: bool = False  # British, settled or secure leave: no hold needed
    indicators: list[ExclusionIndicator] = Field(default_factory=list)
    rules_version: str
    trigger: str = "referral"
    complete: bool = True  # False when the records could not be read: status unknown, screening retried
    # the record of the referral's Home Office reference disagreed on these ("family name", "date of birth"):
    # not used, status unknown, the case officer told what disagreed
    reference_mismatch: list[str] = Field(default_factory=list)


class Signpost(Message):
    route: Route
    why: str
    deadline: datetime | None = None
    given_at: datetime


class RouteClock(Message):
    """A route whose clock keeps the hold in force until `ends` (concession leave, NRM recovery, a trial)."""

    route: Route
    started_at: datetime
    ends_at: datetime
    note: str | None = None
    ended_recorded: bool = False


class Application(Message):
    number: int
    route: Route
    stage: ApplicationStage
    submitted_at: datetime
    updated_at: datetime


class PendingDecision(Message):
    kind: DecisionKind
    raised_at: datetime
    why: str


class DecisionRecord(Message):
    kind: DecisionKind
    verdict: str  # exclusion: confirm | override; release: authorise
    by: Actor
    at: datetime
    reason: str
    indicators: list[ExclusionIndicator] = Field(default_factory=list)  # what the decision was about


class ContactSchedule(Message):
    next_due: datetime
    last_reached_at: datetime | None = None
    last_escalated_at: datetime | None = None  # an overdue contact is escalated once per interval
    attempts: int = 0
    missed_attempts_in_a_row: int = 0


class CaseCalendar(Message):
    """The bank holidays a case counts working days by (issue 12), recorded at intake: the referring force's
    division (`protocol.workdays`) and its bank holidays from the day the case opened, as the calendar shipped
    with `govuk-bank-holidays` knows them (up to `known_until`; after that only weekends are skipped)."""

    division: str
    holidays: list[date] = Field(default_factory=list)
    known_until: date | None = None


class Closure(Message):
    outcome: Outcome
    at: datetime
    by: Actor
    reason: str


class Reopening(Message):
    """A supervisor reopened a case closed by mistake: who, when, why, and the closure it undid."""

    at: datetime
    by: Actor
    reason: str
    undid: Closure


class ReportedFact(Message):
    """A fact as reported, and whether an officer verified it. `verified` is None while unverified; an
    unverified fact changes nothing."""

    number: int
    kind: FactKind
    source: FactSource
    detail: Note | None = None
    reported_at: datetime
    reported_by: str  # actor label
    needs_verification: bool
    verified: bool | None = None  # None: unverified; False: rejected
    verified_by: str | None = None
    verified_at: datetime | None = None
    note: str | None = None


class Notice(Message):
    """A notice to send: it goes into the outbox under `key`, so a retry never sends it twice."""

    key: str
    recipient: Recipient
    kind: NoticeKind
    facts: dict[str, str] = Field(default_factory=dict)


class RecordEntry(Message):
    """One entry of the case's append-only record (what happened; what was shared, with whom, why)."""

    seq: int
    at: datetime
    actor: str
    action: str
    summary: str
    shared_what: list[str] = Field(default_factory=list)
    shared_with: str | None = None
    shared_why: list[str] = Field(default_factory=list)
    note: str | None = None  # free text: personal data, kept sealed beside the record, never in it


class CaseState(Message):
    """Everything the workflow knows. Continue-as-new carries exactly this object."""

    case_id: str
    policy_version: str
    referral: Referral
    opened_at: datetime
    opened_by: Actor
    # the officer who owns the case now; None: the one who opened it (cases from before reassignment)
    case_officer: Actor | None = None
    phase: Phase = Phase.screening
    investigation: InvestigationStatus = InvestigationStatus.reported
    # the record entry that last set the investigation status (None: the status at referral); a police
    # correction points at it
    investigation_seq: int | None = None
    trial_date: date | None = None  # the date police said the person is due to give evidence
    calendar: CaseCalendar | None = None  # None: cases from before working days (calendar days only)
    person_is_suspect: bool = False
    person_charged: bool = False
    support_active: bool = False
    screening: Screening | None = None
    status_at_referral: ImmigrationStatus | None = None
    signposting: list[Signpost] = Field(default_factory=list)
    route_clocks: list[RouteClock] = Field(default_factory=list)
    applications: list[Application] = Field(default_factory=list)
    pending: list[PendingDecision] = Field(default_factory=list)
    decisions: list[DecisionRecord] = Field(default_factory=list)
    contact: ContactSchedule
    engagement_ends_at: datetime | None = None
    hold_grounds: list[Ground] = Field(default_factory=list)
    hold_lifted_at: datetime | None = None
    closure: Closure | None = None
    reopenings: list[Reopening] = Field(default_factory=list)
    facts: list[ReportedFact] = Field(default_factory=list)
    record_seq: int = 0
    notice_seq: int = 0
    revision: int = 0

    @property
    def current_officer(self) -> Actor:
        """The case officer: the one a supervisor last gave the case to, else the one who opened it."""
        return self.case_officer or self.opened_by

    @property
    def exclusion_overridden(self) -> bool:
        """A supervisor overrode an exclusion at some point and protection continued."""
        return any(d.kind is DecisionKind.exclusion and d.verdict == "override" for d in self.decisions)


class HoldView(Message):
    active: bool
    grounds: list[Ground]
    lifted_at: datetime | None = None


class CaseView(Message):
    """What `state` answers and `case show --json` prints: codes and dates, never personal data."""

    case_id: str
    phase: Phase
    hold: HoldView
    outcome: Outcome | None
    next_contact_due: datetime | None
    contact_overdue: bool
    pending_decisions: list[DecisionKind]
    policy_version: str
    force_code: str
    crime_type: str
    status_at_referral: ImmigrationStatus | None
    exclusion_indicators: list[ExclusionIndicator]
    signposting: list[Signpost]
    applications: list[Application]
    investigation: InvestigationStatus
    role: str
    referral_channel: str
    referred_at: datetime
    opened_at: datetime
    closed_at: datetime | None
    overdue_since: datetime | None
    revision: int
    exclusion_overridden: bool = False  # a supervisor overrode an exclusion; protection continued
    case_officer: str | None = None  # actor label of the case officer (None in views written before owners)
    route_clocks: list[RouteClock] = Field(default_factory=list)  # each with its end date
    trial_date: date | None = None
    division: str | None = None  # whose bank holidays the case counts (None: recorded before working days)
    working_days: bool = (
        False  # contact due dates and grace periods counted in working days (the policy's say)
    )


# --- workflow input and commands -------------------------------------------------------------------


class OpenCase(Message):
    """The workflow's input: a fresh referral, or (after continue-as-new) the whole state."""

    case_id: str
    referral: Referral | None = None
    opened_by: Actor | None = None
    # the policy a new case runs under, chosen when it is started so that a later policy never changes it
    # on replay; cases started before this field existed ran under 2026.1
    policy_version: str = "2026.1"
    state: CaseState | None = None
    # started although a similar person has an open case for the crime reference: those cases and the
    # officer's reason, recorded when the case opens
    possible_duplicate_of: list[str] = Field(default_factory=list)
    duplicate_override_reason: str | None = None
    # the referring force's bank holidays, recorded in the case: the workflow never reads the calendar file
    calendar: CaseCalendar | None = None
    # Training mode only (a rehearsal stack, README "Training mode"): a case started there may have its clock
    # moved forward, and this is how far it has been moved (carried across continue-as-new). Never set by a
    # service that runs with production settings.
    training: bool = False
    clock_offset: timedelta = timedelta(0)


class AwaitOpened(Message):
    """Asks the case for its acknowledgement once it is open and screened (the Update of Update-with-Start)."""


class TrainingAdvance(Message):
    """Training mode only: move this case's clock forward by `by` (a supervisor's rehearsal; not a case command
    of the registry, and refused by a case not started in training mode)."""

    actor: Actor
    by: timedelta


class Command(Message):
    actor: Actor


class PoliceUpdate(Command):
    """Police report on their investigation. Any field left empty is unchanged."""

    kind: Literal["police_update"] = "police_update"
    investigation: InvestigationStatus | None = None
    protective_measures: Note | None = None
    person_is_suspect: bool | None = None
    person_charged: bool | None = None
    trial_date: date | None = None  # the person is due to give evidence on this date
    note: Note | None = None


class PoliceCorrection(Command):
    """Police correct an investigation status they reported wrongly (issue 12): a new record entry that points
    at the one it corrects, never a rewrite. The hold's grounds follow the corrected status, but a correction
    never lifts the hold by itself: with no ground left the case goes to pre-decision engagement."""

    kind: Literal["police_correction"] = "police_correction"
    investigation: InvestigationStatus
    reason: Note = Field(min_length=10)


class PoliceNote(Command):
    """Police add a note to a case their force referred (kept sealed; the case officer gets a task)."""

    kind: Literal["police_note"] = "police_note"
    text: Note = Field(min_length=3)


class Withdrawal(Command):
    """Police withdraw their referral. That ends the police ground only; the case closes as withdrawn at
    once only when the referral was made in error and no other ground holds (PROTOCOL §6, §8)."""

    kind: Literal["withdrawal"] = "withdrawal"
    reason: Note = Field(min_length=3)
    made_in_error: bool = False


class Reopen(Command):
    """A supervisor reopens a case closed by mistake, with a recorded reason (PROTOCOL §8)."""

    kind: Literal["reopen"] = "reopen"
    reason: Note = Field(min_length=10)


class Reassign(Command):
    """A supervisor gives the case to another case officer, with a recorded reason; both officers get a task."""

    kind: Literal["reassign"] = "reassign"
    officer_id: Identifier
    reason: Note = Field(min_length=10)


class Amend(Command):
    """An officer changes what changed (issue 12): the safe-contact arrangements, the address or location,
    new dependants, the never-contact-via list. Only the fields given change; a mistake is corrected by
    another amend (recorded), never by rewriting. The new details go into the sealed referral only."""

    kind: Literal["amend"] = "amend"
    channel: ContactChannel | None = None
    phone: Code | None = None
    email: Line | None = None
    post_is_safe: bool | None = None
    language: Code | None = Field(default=None, min_length=2)
    interpreter_needed: bool | None = None
    safe_times: Line | None = None
    address: Line | None = None
    location: Line | None = None
    add_dependants: list[Dependant] = Field(default_factory=list, max_length=LIST_MAX)
    # the whole list as it is now (it replaces the old one); None: unchanged
    never_contact_via: list[Line] | None = Field(default=None, max_length=LIST_MAX)
    # police told IE of the change: recorded as a sharing
    told_by_police: bool = False
    note: Note | None = None

    def changed_fields(self) -> list[str]:
        """The names of the fields this amend changes (what the record's summary may say)."""
        names = [n for n in AMENDABLE if getattr(self, n) is not None]
        return names + (["dependants"] if self.add_dependants else [])


# What an amend may change, by field name: the safe-contact ones, then the person's.
SAFE_CONTACT_FIELDS = (
    "channel",
    "phone",
    "email",
    "post_is_safe",
    "language",
    "interpreter_needed",
    "safe_times",
    "never_contact_via",
)
PERSON_FIELDS = ("address", "location")
AMENDABLE = SAFE_CONTACT_FIELDS + PERSON_FIELDS


class ContactRecord(Command):
    kind: Literal["contact"] = "contact"
    result: ContactResult
    support_active: bool | None = None  # support and advice towards an application, as confirmed at contact
    note: Note | None = None


class ApplicationEvent(Command):
    kind: Literal["application"] = "application"
    route: Route
    stage: ApplicationStage
    number: int | None = Field(default=None, ge=1, le=NUMBER_MAX)  # which application; new ones get the next
    note: Note | None = None


class RouteStarted(Command):
    """A route clock starts: concession leave granted, NRM positive reasonable grounds, and so on."""

    kind: Literal["route_started"] = "route_started"
    route: Route
    days: int | None = Field(default=None, ge=1, le=ROUTE_DAYS_MAX)  # default from the policy for that route
    note: Note | None = None


class DepartureRecord(Command):
    kind: Literal["departure"] = "departure"
    note: Note | None = None


class ExclusionDecision(Command):
    kind: Literal["exclusion_decision"] = "exclusion_decision"
    verdict: Literal["confirm", "override"]
    reason: Note = Field(min_length=10)


class ReleaseDecision(Command):
    kind: Literal["release_decision"] = "release_decision"
    reason: Note = Field(min_length=10)


class EnforcementCheckNotice(Command):
    """Signalled by the enforcement check when it refuses a check on this case's person or dependant."""

    kind: Literal["enforcement_check"] = "enforcement_check"
    check_id: str
    reason: Note
    # refused on a possible match only (a near name, date of birth or reference): the officer must say
    # whether the person checked is this case's person
    possible_match: bool = False


class FactReported(Command):
    """A fact told to the Home Office (by police, or recorded by an officer), with its source."""

    kind: Literal["fact_reported"] = "fact_reported"
    fact_kind: FactKind
    source: FactSource
    detail: Note | None = None


class FactVerified(Command):
    """An officer's verification of a reported fact: verified (it takes effect) or rejected."""

    kind: Literal["fact_verified"] = "fact_verified"
    fact_number: int = Field(ge=1, le=NUMBER_MAX)
    verified: bool
    note: Note | None = None


CaseCommand = (
    PoliceUpdate
    | PoliceCorrection
    | PoliceNote
    | Withdrawal
    | ContactRecord
    | ApplicationEvent
    | RouteStarted
    | DepartureRecord
    | ExclusionDecision
    | ReleaseDecision
    | EnforcementCheckNotice
    | FactReported
    | FactVerified
    | Reopen
    | Reassign
    | Amend
)


class CommandResult(Message):
    case_id: str
    accepted: str
    view: CaseView


# Each case command's message, by its kind (the rest of each command's description: models.registry).
COMMAND_MODELS: dict[str, type[Command]] = {
    model.model_fields["kind"].default: model
    for model in (
        PoliceUpdate,
        PoliceCorrection,
        PoliceNote,
        Withdrawal,
        ContactRecord,
        ApplicationEvent,
        RouteStarted,
        DepartureRecord,
        ExclusionDecision,
        ReleaseDecision,
        FactReported,
        FactVerified,
        Reopen,
        Reassign,
        Amend,
    )
}
