"""Statistics (PROTOCOL.md §9): the figures the Review published (paras 60–61), for any period, and the
figures beyond them that supervisors need. Pure: the facts, the period and the policy come in as
arguments; the service reads the facts from the Postgres read model.

Every figure but the last group counts the **cohort**: the cases whose referral was received in the
period, `start` included and `end` excluded. Like the Review ("referred April 2020 to March 2021 ... as
of October 2021"), the cohort is fixed by the referral date and what happened to it since is counted as
the facts stand when they were read, not as they stood at `end`. The last group, **closures in the
period**, counts instead the cases that closed in the period, whenever they were referred.

Referrals, status at referral (Review para 60)

- ``referrals``: cases in the cohort. One case is one referred person (a second referral of the same
  person for the same crime never opens a second case).
- ``status_*``: the immigration status screening found at referral. The six rows always add up to
  ``referrals``. The first three are the Review's own groups:
  leave to remain = ``leave_to_remain`` and ``settled`` (settled status is indefinite leave to remain);
  EU/EEA = ``eu_settlement_scheme``; British citizen = ``british_citizen``. The Review's fourth group,
  "no status", is everything else, and it is printed as three rows so that nobody reads a missing
  record as a finding of no status:
  ``status_no_status``: a Home Office record was found and gives no leave (``no_status``,
  ``pending_application``, ``asylum_claimant``, ``asylum_dependant``);
  ``status_no_record``: no Home Office record was found for the person, or the record of their
  reference disagreed with them (``unknown``; also while the records could not be read at referral,
  until the retried screening succeeds);
  ``status_not_screened``: screening has not finished (no status recorded yet).

Applications and their outcome (Review para 61)

- ``applications_made``: cohort people with at least one application recorded (the Review counts
  victims, not applications).
- ``applications_within_one_month``: of those, people whose *first* application was submitted no later
  than ``policy.application_within`` after the referral was received (the boundary itself counts).
- ``granted`` / ``awaiting_decision`` / ``refused`` / ``rejected`` / ``applications_withdrawn``: each
  applicant once, by where their applications stand. Granted if any application was granted (a grant closes the case);
  else awaiting a decision if any is submitted or has a review or appeal lodged against its refusal;
  else the stage of their latest application (the highest number). An applicant whose application was
  still pending when their case closed (excluded, departed) is not awaiting a decision for ever: they
  count under ``closed_undecided``. These six add up to ``applications_made``;
  ``applications_withdrawn`` (the person withdrew their application) and ``closed_undecided`` are
  beyond the Review. A withdrawn *referral* is a different thing: see ``referrals_withdrawn``.
- ``yet_to_apply``: cohort people "with no status or leave to remain" (the Review's words: status at
  referral in the no status or leave to remain group, so not British or EU/EEA) who have no application
  recorded and whose case is still open. A closed case is never yet to apply: the person departed
  voluntarily, their status was confirmed secure at screening, the referral was withdrawn as made in
  error, they were
  excluded, or the hold was released after pre-decision engagement; in none of these is an application
  still expected under the protocol. (Counting every non-applicant but the departed could not
  reproduce the Review: 30 + 147 people with leave or no status, less 92 applicants and 1 departure,
  leaves 84, not the 35 it published.)
- ``voluntary_departures``: cohort cases closed as *departed*.
- ``detained`` / ``removed``: cohort people with at least one such enforcement action recorded against
  them at or after their referral ("upon or since referral").

Beyond the Review

- ``referrals_withdrawn``: cohort cases whose referral the police withdrew (a withdrawal recorded in the
  case's record, whether or not it was made in error, and whatever happened afterwards). Withdrawing
  ends the police ground only: the case closes as *withdrawn* only when the referral was made in error
  and nothing else protected the person, which ``outcome_withdrawn`` counts.
- ``outcome_*``: where each cohort case stands now, exactly one row each, so they add up to
  ``referrals``: ``outcome_open`` (not closed: protection, pre-decision engagement or still being
  screened) and one row per outcome a case closes with (PROTOCOL.md §8). A case reopened by a
  supervisor is open again. ``voluntary_departures`` and ``exclusions_confirmed`` are the *departed*
  and *excluded* rows again, under the names the Review and supervisors use for them.
- ``holds_in_force``: cohort cases whose hold is in force now.
- ``enforcement_checks_refused``: enforcement checks refused because a cohort person (or a dependant)
  was protected, counted per case: a check refused on several cases (the same person referred for two
  crimes, or a dependant protected in another case too) counts once for each cohort case it was refused
  on, and never twice for one case. So a force's or crime type's column counts the refusals on its own
  cases, and the columns add up to the total.
- ``contacts_overdue``: cohort cases whose periodic contact is overdue now.
- ``exclusions_confirmed``: cohort cases closed as *excluded* by a supervisor.
- ``exclusions_overridden``: cohort cases in which a supervisor overrode an exclusion (protection
  continued), whatever happened afterwards.

Closures in the period

- ``closed_in_period``: cases whose closure is dated in the period, whenever they were referred (a case
  referred last year and closed this month counts here, not in the cohort); ``closed_*`` split it by
  outcome and add up to it. A case closed in the period and since reopened is not counted (it is open);
  one closed again counts by its latest closure.

Publishing (statistical disclosure control)

Counts about a handful of people can identify them, so a report for publication (`publish`) is put
through `Disclosure`, following the ONS practice for tables of counts: a count from 1 to below
``Policy.disclosure_threshold`` is suppressed and shown as ``[c]`` ("confidential"), every other count
is rounded to the nearest multiple of ``Policy.disclosure_rounding`` (halves up), and 0 stays 0 (an
empty cell identifies nobody). Rounding every cell, totals included, is what stops a suppressed cell
from being worked out by subtracting the others from a total; the price is that rounded rows and
columns need not add up, and the report says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from enum import StrEnum

from models.case import ApplicationStage, Outcome
from models.records import ImmigrationStatus
from protocol.hold import PENDING_APPLICATION


class StatusGroup(StrEnum):
    """The Review's four groups of status at referral (para 60)."""

    leave_to_remain = "leave_to_remain"
    eu_eea = "eu_eea"
    british_citizen = "british_citizen"
    no_status = "no_status"


class StatusRow(StrEnum):
    """The report's rows for status at referral: the Review's four groups, its "no status" split in
    three so that a missing record is never read as a finding."""

    leave_to_remain = "leave_to_remain"
    eu_eea = "eu_eea"
    british_citizen = "british_citizen"
    no_status = "no_status"
    no_record = "no_record"
    not_screened = "not_screened"


_STATUS_GROUP: dict[ImmigrationStatus, StatusGroup] = {
    ImmigrationStatus.leave_to_remain: StatusGroup.leave_to_remain,
    ImmigrationStatus.settled: StatusGroup.leave_to_remain,
    ImmigrationStatus.eu_settlement_scheme: StatusGroup.eu_eea,
    ImmigrationStatus.british_citizen: StatusGroup.british_citizen,
}

# Status groups whose people may still need to apply: "with no status or leave to remain" (para 61).
MAY_NEED_TO_APPLY = frozenset({StatusGroup.no_status, StatusGroup.leave_to_remain})


def status_group(status: ImmigrationStatus | None) -> StatusGroup:
    """The Review's group for a status at referral; anything not leave, EU/EEA or British is no status."""
    if status is None:
        return StatusGroup.no_status
    return _STATUS_GROUP.get(status, StatusGroup.no_status)


def status_row(status: ImmigrationStatus | None) -> StatusRow:
    """The report's row for a status at referral (`None`: screening has not finished)."""
    if status is None:
        return StatusRow.not_screened
    if status is ImmigrationStatus.unknown:
        return StatusRow.no_record
    return StatusRow(status_group(status).value)


class EnforcementKind(StrEnum):
    check_refused = "check_refused"
    detained = "detained"
    removed = "removed"


class Grouping(StrEnum):
    force = "force"
    crime_type = "crime-type"


@dataclass(frozen=True)
class ApplicationFact:
    number: int
    submitted_at: datetime
    stage: ApplicationStage


@dataclass(frozen=True)
class CaseFacts:
    """What the statistics need of one case, as the read model holds it."""

    case_id: str
    referred_at: datetime
    status_at_referral: ImmigrationStatus | None
    outcome: Outcome | None = None
    applications: tuple[ApplicationFact, ...] = ()
    hold_active: bool = False
    contact_overdue: bool = False
    exclusion_overridden: bool = False
    force: str = ""
    crime_type: str = ""
    closed_at: datetime | None = None
    referral_withdrawn: bool = False  # police withdrew the referral (in error or not)


@dataclass(frozen=True)
class EnforcementFact:
    """An enforcement check refused on a case, or an action (detention, removal) against its person.
    A check refused on several cases is one fact for each of them. `at` is None where the source does
    not say when; such an action counts whenever it happened."""

    case_id: str
    kind: EnforcementKind
    at: datetime | None = None


@dataclass(frozen=True)
class Figures:
    """One column of the report. Field order is the order the report prints them in."""

    referrals: int = 0
    status_leave_to_remain: int = 0
    status_eu_eea: int = 0
    status_british_citizen: int = 0
    status_no_status: int = 0
    status_no_record: int = 0
    status_not_screened: int = 0
    applications_made: int = 0
    applications_within_one_month: int = 0
    granted: int = 0
    awaiting_decision: int = 0
    refused: int = 0
    rejected: int = 0
    applications_withdrawn: int = 0
    closed_undecided: int = 0
    yet_to_apply: int = 0
    voluntary_departures: int = 0
    detained: int = 0
    removed: int = 0
    referrals_withdrawn: int = 0
    outcome_open: int = 0
    outcome_regularised: int = 0
    outcome_status_confirmed: int = 0
    outcome_excluded: int = 0
    outcome_departed: int = 0
    outcome_hold_released: int = 0
    outcome_withdrawn: int = 0
    holds_in_force: int = 0
    enforcement_checks_refused: int = 0
    contacts_overdue: int = 0
    exclusions_confirmed: int = 0
    exclusions_overridden: int = 0
    closed_in_period: int = 0
    closed_regularised: int = 0
    closed_status_confirmed: int = 0
    closed_excluded: int = 0
    closed_departed: int = 0
    closed_hold_released: int = 0
    closed_withdrawn: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: int(getattr(self, f.name)) for f in fields(self)}


FIGURE_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Figures))

# The words for each outcome, as the rows print them.
_OUTCOME_WORDS: dict[Outcome, str] = {
    Outcome.regularised: "regularised (leave granted)",
    Outcome.status_confirmed: "status confirmed at screening",
    Outcome.excluded: "excluded (supervisor confirmed)",
    Outcome.departed: "voluntary departure",
    Outcome.hold_released: "hold released after engagement",
    Outcome.withdrawn: "withdrawn (referral made in error)",
}

LABELS: dict[str, str] = {
    "referrals": "Referrals",
    "status_leave_to_remain": "Status at referral: leave to remain",
    "status_eu_eea": "Status at referral: EU/EEA",
    "status_british_citizen": "Status at referral: British citizen",
    "status_no_status": "Status at referral: no status (Home Office record found)",
    "status_no_record": "Status at referral: no Home Office record found",
    "status_not_screened": "Status at referral: not yet known (screening not finished)",
    "applications_made": "Applications made (people)",
    "applications_within_one_month": "  of which within one month of referral",
    "granted": "Application granted",
    "awaiting_decision": "Application awaiting decision",
    "refused": "Application refused",
    "rejected": "Application rejected",
    "applications_withdrawn": "Application withdrawn by the person (beyond the Review)",
    "closed_undecided": "Case closed before a decision (beyond the Review)",
    "yet_to_apply": "Yet to apply (no status or leave to remain)",
    "voluntary_departures": "Voluntary departures",
    "detained": "Detained (upon or since referral)",
    "removed": "Removed",
    "referrals_withdrawn": "Referrals withdrawn by police",
    "outcome_open": "Outcome: still open",
    **{f"outcome_{o.value}": f"Outcome: closed, {words}" for o, words in _OUTCOME_WORDS.items()},
    "holds_in_force": "Holds in force",
    "enforcement_checks_refused": "Enforcement checks refused",
    "contacts_overdue": "Contacts overdue",
    "exclusions_confirmed": "Exclusions confirmed",
    "exclusions_overridden": "Exclusions overridden",
    "closed_in_period": "Closed in the period (whenever referred)",
    **{f"closed_{o.value}": f"  of which {words}" for o, words in _OUTCOME_WORDS.items()},
}


def in_cohort(case: CaseFacts, start: datetime, end: datetime) -> bool:
    return start <= case.referred_at < end


def closed_in(case: CaseFacts, start: datetime, end: datetime) -> bool:
    return case.outcome is not None and case.closed_at is not None and start <= case.closed_at < end


def counted(case: CaseFacts, start: datetime, end: datetime) -> bool:
    """Whether the report counts this case at all: referred in the period, or closed in it."""
    return in_cohort(case, start, end) or closed_in(case, start, end)


def applicant_stage(applications: Sequence[ApplicationFact]) -> ApplicationStage | None:
    """Where one person's applications stand, for counting them once: granted if any was granted,
    else awaiting (`submitted`) if any is pending, else the latest application's stage."""
    if not applications:
        return None
    stages = {a.stage for a in applications}
    if ApplicationStage.granted in stages:
        return ApplicationStage.granted
    if stages & PENDING_APPLICATION:
        return ApplicationStage.submitted
    return max(applications, key=lambda a: (a.number, a.submitted_at)).stage


STAGE_FIGURE: dict[ApplicationStage, str] = {
    ApplicationStage.granted: "granted",
    ApplicationStage.submitted: "awaiting_decision",
    ApplicationStage.review_lodged: "awaiting_decision",
    ApplicationStage.appeal_lodged: "awaiting_decision",
    ApplicationStage.refused: "refused",
    ApplicationStage.rejected: "rejected",
    ApplicationStage.withdrawn: "applications_withdrawn",
}


@dataclass(frozen=True)
class Tally:
    """What one case's own facts decide for the report, whatever the period: its row for status at referral,
    whether its person may still need to apply (if they have not), the figure its applications count under
    (`STAGE_FIGURE` of `applicant_stage`; None: no application) and when the first was submitted. The store
    keeps these in the case's row (`activities.store`) so that the report only adds them up in SQL: the
    rules are here once, and the report reads a few narrow columns of each case in the period."""

    status_row: StatusRow = StatusRow.not_screened
    may_need_to_apply: bool = True  # a case not yet screened is in the "no status" group (`status_group`)
    stage_figure: str | None = None
    first_applied_at: datetime | None = None


def tally(status: ImmigrationStatus | None, applications: Sequence[ApplicationFact]) -> Tally:
    """One case's `Tally` from its status at referral and its person's applications."""
    stage = applicant_stage(applications)
    return Tally(
        status_row=status_row(status),
        may_need_to_apply=status_group(status) in MAY_NEED_TO_APPLY,
        stage_figure=STAGE_FIGURE[stage] if stage is not None else None,
        first_applied_at=min(a.submitted_at for a in applications) if applications else None,
    )


def figures(
    cases: Iterable[CaseFacts],
    enforcement: Iterable[EnforcementFact] = (),
    *,
    start: datetime,
    end: datetime,
    within: timedelta,
) -> Figures:
    """The figures for the cases referred in [start, end), and the closures dated in it, as defined in
    this module's docstring. `within` is the policy's "within one month of referral"
    (`Policy.application_within`)."""
    cases = list(cases)
    cohort = {case.case_id: case for case in cases if in_cohort(case, start, end)}
    counts = dict.fromkeys(FIGURE_NAMES, 0)
    for case in cases:
        if case.outcome is not None and closed_in(case, start, end):
            counts["closed_in_period"] += 1
            counts[f"closed_{case.outcome.value}"] += 1
    for case in cohort.values():
        counts["referrals"] += 1
        its = tally(case.status_at_referral, case.applications)
        counts[f"status_{its.status_row.value}"] += 1
        counts[f"outcome_{case.outcome.value}" if case.outcome else "outcome_open"] += 1
        counts["referrals_withdrawn"] += case.referral_withdrawn
        if its.stage_figure is not None and its.first_applied_at is not None:
            counts["applications_made"] += 1
            if its.first_applied_at - case.referred_at <= within:
                counts["applications_within_one_month"] += 1
            figure = its.stage_figure
            if figure == "awaiting_decision" and case.outcome is not None:
                figure = "closed_undecided"  # nobody on this case will record the decision any more
            counts[figure] += 1
        elif its.may_need_to_apply and case.outcome is None:
            counts["yet_to_apply"] += 1
        counts["voluntary_departures"] += case.outcome is Outcome.departed
        counts["holds_in_force"] += case.hold_active
        counts["contacts_overdue"] += case.contact_overdue
        counts["exclusions_confirmed"] += case.outcome is Outcome.excluded
        counts["exclusions_overridden"] += case.exclusion_overridden

    acted_on: dict[EnforcementKind, set[str]] = {
        EnforcementKind.detained: set(),
        EnforcementKind.removed: set(),
    }
    for fact in enforcement:
        subject = cohort.get(fact.case_id)
        if subject is None:
            continue
        if fact.kind is EnforcementKind.check_refused:
            counts["enforcement_checks_refused"] += 1
        elif fact.at is None or fact.at >= subject.referred_at:
            acted_on[fact.kind].add(fact.case_id)
    counts["detained"] = len(acted_on[EnforcementKind.detained])
    counts["removed"] = len(acted_on[EnforcementKind.removed])
    return Figures(**counts)


_GROUP_KEY: dict[Grouping, Callable[[CaseFacts], str]] = {
    Grouping.force: lambda case: case.force,
    Grouping.crime_type: lambda case: case.crime_type,
}


@dataclass(frozen=True)
class Report:
    start: datetime
    end: datetime
    total: Figures
    by: Grouping | None = None
    groups: dict[str, Figures] = field(default_factory=dict)


def report(
    cases: Iterable[CaseFacts],
    enforcement: Iterable[EnforcementFact] = (),
    *,
    start: datetime,
    end: datetime,
    within: timedelta,
    by: Grouping | None = None,
) -> Report:
    """The figures for the whole cohort and, with `by`, for each referring force or crime type in it or
    among the closures in the period (groups in name order; each column is `figures` of that group's
    cases, so the groups add up to the total)."""
    cases = list(cases)
    enforcement = list(enforcement)
    total = figures(cases, enforcement, start=start, end=end, within=within)
    groups: dict[str, Figures] = {}
    if by is not None:
        key = _GROUP_KEY[by]
        names = sorted({key(case) for case in cases if counted(case, start, end)})
        for name in names:
            members = [case for case in cases if key(case) == name]
            groups[name] = figures(members, enforcement, start=start, end=end, within=within)
    return Report(start=start, end=end, total=total, by=by, groups=groups)


# --- publishing: statistical disclosure control --------------------------------------------------------

# The ONS's shorthand for a value suppressed to protect confidentiality (GSS guidance on symbols in
# tables). A marker, not a number, so that no reader or program can take it for a count.
SUPPRESSED = "[c]"


@dataclass(frozen=True)
class Disclosure:
    """Statistical disclosure control for a published report (this module's docstring, "Publishing").
    Written here rather than taken from a library: the rule is three lines over a dict of counts. The
    Python tool for output checking, ACRO (SACRO project), checks researchers' pandas and statsmodels
    outputs inside a trusted research environment; it would bring pandas and statsmodels into the pure
    rules (which may import no I/O or heavy dependencies) for less than this needs. sdcMicro and
    tau-argus are R and Java."""

    threshold: int  # counts from 1 up to, not including, this are suppressed
    rounding: int  # every other count is rounded to the nearest multiple of this

    def count(self, value: int) -> int | str:
        if value == 0:
            return 0
        if value < self.threshold:
            return SUPPRESSED
        return self.rounding * ((value + self.rounding // 2) // self.rounding)  # halves up

    def figures(self, figures: Figures) -> dict[str, int | str]:
        return {name: self.count(value) for name, value in figures.as_dict().items()}

    def note(self) -> str:
        return (
            f"Published with statistical disclosure control: counts from 1 to {self.threshold - 1} are "
            f"shown as {SUPPRESSED} (suppressed), every other count is rounded to the nearest "
            f"{self.rounding}, and 0 is a true zero. Rounded figures may not add up to the totals."
        )
