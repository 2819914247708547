"""The statistics report (PROTOCOL.md §9) from the Postgres read model. Never replays a workflow.

The counting is `protocol.statistics`; this module reads the facts it needs: the cases referred in the
period (`cases`, including the application list in its `view`) and, where those tables exist, the
enforcement checks refused and the enforcement actions recorded against the cohort's people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, Text, cast, inspect, select
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, col

from infra.errors import InputError
from models.case import ApplicationStage, Outcome
from models.records import ImmigrationStatus
from models.tables import CaseRow, EnforcementActionRow, EnforcementCheckRow
from protocol import statistics
from protocol.policy import Policy
from protocol.statistics import ApplicationFact, CaseFacts, EnforcementFact, EnforcementKind, Grouping

GROUPINGS = ", ".join(g.value for g in Grouping)


@dataclass(frozen=True)
class Report:
    report: statistics.Report
    as_of: datetime
    within_days: int
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        r = self.report
        return {
            "period": {
                "from": r.start.date().isoformat(),
                "to": r.end.date().isoformat(),
                "to_excluded": True,
            },
            "as_of": self.as_of.isoformat(),
            "within_one_month_days": self.within_days,
            "by": r.by.value if r.by else None,
            "figures": r.total.as_dict(),
            "labels": {name: statistics.LABELS[name] for name in statistics.FIGURE_NAMES},
            "groups": {name: figures.as_dict() for name, figures in r.groups.items()},
            "notes": self.notes,
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


def case_facts(row: CaseRow) -> CaseFacts:
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
    )


def _cohort(engine: Engine, start: datetime, end: datetime) -> list[CaseFacts]:
    query = select(CaseRow).where(col(CaseRow.referred_at) >= start, col(CaseRow.referred_at) < end)
    with Session(engine) as session:
        return [case_facts(row) for row in session.execute(query).scalars()]


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
    engine: Engine, start: datetime, end: datetime, policy: Policy, by: Grouping | None = None
) -> Report:
    """The report for cases referred in [start, end), as the read model stands now."""
    as_of = datetime.now(UTC)
    cases = _cohort(engine, start, end)
    notes: list[str] = []
    enforcement = _enforcement(engine, {c.case_id for c in cases}, notes)
    result = statistics.report(
        cases, enforcement, start=start, end=end, within=policy.application_within, by=by
    )
    return Report(report=result, as_of=as_of, within_days=policy.application_within.days, notes=notes)
