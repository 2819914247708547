"""The statistics report (PROTOCOL.md §9) from the Postgres read model. Never replays a workflow.

The counting is `protocol.statistics`; this module reads the facts it needs: the cases referred in the
period or closed in it (`cases`, including the application list in its `view`), which of them the police
withdrew (`referral_withdrawn` entries in `case_record`), and, where those tables exist, the enforcement
checks refused and the enforcement actions recorded against the cohort's people. With `publish`, the
figures leave here already put through statistical disclosure control, so exact small counts never
reach a report meant for publication.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, Text, cast, inspect, or_, select
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, col

from infra.errors import InputError
from models.case import ApplicationStage, Outcome
from models.records import ImmigrationStatus
from models.tables import CaseRow, EnforcementActionRow, EnforcementCheckRow, RecordRow
from protocol import statistics
from protocol.policy import Policy
from protocol.statistics import (
    ApplicationFact,
    CaseFacts,
    Disclosure,
    EnforcementFact,
    EnforcementKind,
    Grouping,
)

GROUPINGS = ", ".join(g.value for g in Grouping)


@dataclass(frozen=True)
class Report:
    report: statistics.Report
    as_of: datetime
    within_days: int
    notes: list[str] = field(default_factory=list)
    disclosure: Disclosure | None = None  # published: figures suppressed and rounded

    def as_json(self) -> dict[str, Any]:
        r = self.report
        shown = self.disclosure.figures if self.disclosure else statistics.Figures.as_dict
        return {
            "period": {
                "from": r.start.date().isoformat(),
                "to": r.end.date().isoformat(),
                "to_excluded": True,
            },
            "as_of": self.as_of.isoformat(),
            "within_one_month_days": self.within_days,
            "by": r.by.value if r.by else None,
            "figures": shown(r.total),
            "labels": {name: statistics.LABELS[name] for name in statistics.FIGURE_NAMES},
            "groups": {name: shown(figures) for name, figures in r.groups.items()},
            "notes": self.notes,
            "disclosure": (
                {
                    "threshold": self.disclosure.threshold,
                    "rounding": self.disclosure.rounding,
                    "suppressed": statistics.SUPPRESSED,
                    "note": self.disclosure.note(),
                }
                if self.disclosure
                else None
            ),
        }


def parse_day(value: str, option: str) -> datetime:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError as error:
        raise InputError(
            f"{option} {value!r} is not a date: give it as YYYY-MM-DD, e.g. 2020-04-01."
        ) from error
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def parse_period(start: str, end: str) -> tuple[datetime, datetime]:
    """`--from` and `--to` as UTC midnights; `--to` is the first day *not* counted."""
    first, last = parse_day(start, "--from"), parse_day(end, "--to")
    if first >= last:
        raise InputError(
            f"--from {first.date()} must be before --to {last.date()} (the period runs from --from up to, "
            "not including, --to; for April 2020 to March 2021 give --from 2020-04-01 --to 2021-04-01)."
        )
    return first, last


def parse_grouping(value: str | None) -> Grouping | None:
    if value is None:
        return None
    try:
        return Grouping(value.strip().lower().replace("_", "-"))
    except ValueError as error:
        raise InputError(f"--by {value!r}: report by one of {GROUPINGS}.") from error


def case_facts(row: CaseRow, withdrawn: bool = False) -> CaseFacts:
    """The statistics' view of one read-model row (the application list comes from its `view`)."""
    view = row.view or {}
    applications = tuple(
        ApplicationFact(
            number=int(a.get("number", 0)),
            submitted_at=datetime.fromisoformat(a["submitted_at"]),
            stage=ApplicationStage(a["stage"]),
        )
        for a in view.get("applications", [])
    )
    statuses = {s.value for s in ImmigrationStatus}
    return CaseFacts(
        case_id=row.case_id,
        referred_at=row.referred_at,
        status_at_referral=(
            ImmigrationStatus(row.status_at_referral) if row.status_at_referral in statuses else None
        ),
        outcome=Outcome(row.outcome) if row.outcome else None,
        applications=applications,
        hold_active=row.hold_active,
        contact_overdue=row.contact_overdue,
        exclusion_overridden=bool(view.get("exclusion_overridden", False)),
        force=row.force_code,
        crime_type=row.crime_type,
        closed_at=row.closed_at if row.outcome else None,
        referral_withdrawn=withdrawn,
    )


# The record's action for a police withdrawal of the referral (`protocol.lifecycle`), in error or not.
REFERRAL_WITHDRAWN = "referral_withdrawn"


def _cases(engine: Engine, start: datetime, end: datetime) -> list[CaseFacts]:
    """The cases referred in [start, end) and those closed in it, with whether police withdrew them."""
    query = select(CaseRow).where(
        or_(
            (col(CaseRow.referred_at) >= start) & (col(CaseRow.referred_at) < end),
            (col(CaseRow.closed_at) >= start) & (col(CaseRow.closed_at) < end),
        )
    )
    with Session(engine) as session:
        rows = list(session.execute(query).scalars())
        ids = [row.case_id for row in rows]
        withdrawn = set(
            session.execute(
                select(col(RecordRow.case_id))
                .where(col(RecordRow.action) == REFERRAL_WITHDRAWN, col(RecordRow.case_id).in_(ids))
                .distinct()
            ).scalars()
        )
    return [case_facts(row, row.case_id in withdrawn) for row in rows]


def _enforcement(engine: Engine, case_ids: set[str], notes: list[str]) -> list[EnforcementFact]:
    """Checks refused on the cohort's cases (`enforcement_checks`, verdict refused: one fact for each
    cohort case in the check's `case_ids`) and detentions and removals recorded against their people
    (`enforcement_actions`). A database whose schema predates those tables counts none, and the report
    says so."""
    present = set(inspect(engine).get_table_names())
    missing = [
        t for t in (EnforcementCheckRow.__tablename__, EnforcementActionRow.__tablename__) if t not in present
    ]
    if missing:
        notes.append(
            f"{' and '.join(missing)} not in this database (run `mvp db migrate`): "
            "enforcement checks refused, detained and removed counted as 0"
        )
        return []
    facts: list[EnforcementFact] = []
    # a check refused on several cases (a person referred twice, or a dependant in another case) counts
    # on each cohort case it names in `case_ids`; `case_id` is only the first of them
    checks = select(col(EnforcementCheckRow.case_ids), col(EnforcementCheckRow.at)).where(
        col(EnforcementCheckRow.verdict) == "refused",
        # JSONB `?|`: the array holds any of these strings
        col(EnforcementCheckRow.case_ids).op("?|")(cast(sorted(case_ids), postgresql.ARRAY(Text))),
    )
    actions = select(
        col(EnforcementActionRow.case_id), col(EnforcementActionRow.action), col(EnforcementActionRow.at)
    ).where(col(EnforcementActionRow.case_id).in_(case_ids))
    kinds = {"detained": EnforcementKind.detained, "removed": EnforcementKind.removed}
    with Session(engine) as session:
        for refused_on, at in session.execute(checks):
            for case_id in sorted(set(refused_on) & case_ids):
                facts.append(EnforcementFact(case_id=case_id, kind=EnforcementKind.check_refused, at=at))
        for case_id, action, at in session.execute(actions):
            if action in kinds:
                facts.append(EnforcementFact(case_id=case_id, kind=kinds[action], at=at))
    return facts


def build_report(
    engine: Engine,
    start: datetime,
    end: datetime,
    policy: Policy,
    by: Grouping | None = None,
    publish: bool = False,
) -> Report:
    """The report for cases referred in [start, end) and closed in it, as the read model stands now;
    with `publish`, under the policy's statistical disclosure control."""
    as_of = datetime.now(UTC)
    cases = _cases(engine, start, end)
    notes: list[str] = []
    cohort = {c.case_id for c in cases if statistics.in_cohort(c, start, end)}
    enforcement = _enforcement(engine, cohort, notes)
    result = statistics.report(
        cases, enforcement, start=start, end=end, within=policy.application_within, by=by
    )
    disclosure = (
        Disclosure(threshold=policy.disclosure_threshold, rounding=policy.disclosure_rounding)
        if publish
        else None
    )
    return Report(
        report=result,
        as_of=as_of,
        within_days=policy.application_within.days,
        notes=notes,
        disclosure=disclosure,
    )
