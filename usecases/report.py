"""The statistics report (PROTOCOL.md §9) from the Postgres read model. Never replays a workflow.

The counting rules are `protocol.statistics`': what a case's own facts decide (its status row, the figure its
applications count under, when it first applied: `statistics.Tally`) is written into its row by the store with
every step; Postgres adds them up, in one statement (`report_sql`), over the cases referred in the period or
closed in it, with which of them the police withdrew (`referral_withdrawn` entries in `case_record`) and,
where those tables exist, the enforcement checks refused and the enforcement actions recorded against the
cohort's people. No case leaves the database and no case id is a parameter, so a report over any number of
cases is one round trip. With `publish`, the figures leave here already put through statistical disclosure
control, so exact small counts never reach a report meant for publication.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, inspect, text

from infra.errors import InputError
from models.case import Outcome
from models.tables import EnforcementActionRow, EnforcementCheckRow
from protocol import statistics
from protocol.policy import Policy
from protocol.statistics import (
    Disclosure,
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


# The record's action for a police withdrawal of the referral (`protocol.lifecycle`), in error or not.
REFERRAL_WITHDRAWN = "referral_withdrawn"


def _sql_text(value: str) -> str:
    """A code from this codebase's own enums as an SQL string literal (never input from outside)."""
    return "'" + value.replace("'", "''") + "'"


# One statement over the cases referred in [start, end) or closed in it (`facts`): each case's own tally of
# the statistics rules (`statistics.Tally`, written by the store into its row), whether it is in the cohort or
# closed in the period, whether police withdrew its referral, enforcement checks refused on it and actions
# against its person since its referral; then every figure as a `sum(...) FILTER`, for the whole or, with a
# grouping, per group (hashed on the group; every figure is a sum over cases, so the whole is the groups added
# up, in `_figures`). Three parameters, whatever the number of cases.
_REPORT_SQL = """
WITH withdrawn AS (
    SELECT DISTINCT r.case_id FROM case_record r WHERE r.action = '{withdrawn}'
){enforcement_ctes}, facts AS (
    SELECT c.force_code, c.crime_type, c.hold_active, c.contact_overdue,
           c.exclusion_overridden AS overridden,  -- generated from the view (migration 0009)
           c.report_status AS status_row, c.report_may_apply AS may_apply, c.report_stage AS stage_figure,
           c.report_stage IS NOT NULL AS applied,
           c.first_applied_at - c.referred_at <= :within AS applied_within,
           NULLIF(c.outcome, '') AS outcome,
           c.referred_at >= :start AND c.referred_at < :end AS in_cohort,
           NULLIF(c.outcome, '') IS NOT NULL AND c.closed_at >= :start AND c.closed_at < :end AS closed_in,
           w.case_id IS NOT NULL AS withdrawn,
           {enforcement_columns}
    FROM cases c LEFT JOIN withdrawn w ON w.case_id = c.case_id{enforcement_joins}
    WHERE (c.referred_at >= :start AND c.referred_at < :end) OR (c.closed_at >= :start AND c.closed_at < :end)
)
SELECT {group} AS grp, {figures}
FROM facts
{group_by}
"""

_ENFORCEMENT_CTES = """, refusals AS (
    SELECT j.case_id, count(DISTINCT e.check_id) AS checks
    FROM enforcement_checks e CROSS JOIN LATERAL jsonb_array_elements_text(e.case_ids) AS j(case_id)
    WHERE e.verdict = 'refused'
    GROUP BY j.case_id
), acted AS (
    SELECT ea.case_id, bool_or(ea.action = 'detained') AS detained, bool_or(ea.action = 'removed') AS removed
    FROM enforcement_actions ea JOIN cases k ON k.case_id = ea.case_id AND ea.at >= k.referred_at
    GROUP BY ea.case_id
)"""
_ENFORCEMENT_COLUMNS = (
    "COALESCE(rf.checks, 0) AS checks_refused, COALESCE(ac.detained, false) AS detained, "
    "COALESCE(ac.removed, false) AS removed"
)
_ENFORCEMENT_JOINS = (
    " LEFT JOIN refusals rf ON rf.case_id = c.case_id LEFT JOIN acted ac ON ac.case_id = c.case_id"
)
_NO_ENFORCEMENT_COLUMNS = "0 AS checks_refused, false AS detained, false AS removed"


def _figure_sql() -> dict[str, str]:
    """Each figure of `statistics.Figures` as an aggregate over `facts` (`statistics.figures`' rules)."""

    def cases(where: str, what: str = "1") -> str:
        return f"COALESCE(sum({what}) FILTER (WHERE {where}), 0)"

    def cohort(where: str) -> str:
        return cases(f"in_cohort AND {where}")

    figures = {
        "referrals": cases("in_cohort"),
        **{f"status_{r.value}": cohort(f"status_row = {_sql_text(r.value)}") for r in statistics.StatusRow},
        "applications_made": cohort("applied"),
        "applications_within_one_month": cohort("applied AND applied_within"),
        **{
            name: cohort(f"stage_figure = {_sql_text(name)} AND outcome IS NULL")
            if name == "awaiting_decision"
            else cohort(f"stage_figure = {_sql_text(name)}")
            for name in set(statistics.STAGE_FIGURE.values())
        },
        "closed_undecided": cohort("stage_figure = 'awaiting_decision' AND outcome IS NOT NULL"),
        "yet_to_apply": cohort("NOT applied AND may_apply AND outcome IS NULL"),
        "voluntary_departures": cohort(f"outcome = {_sql_text(Outcome.departed.value)}"),
        "detained": cohort("detained"),
        "removed": cohort("removed"),
        "referrals_withdrawn": cohort("withdrawn"),
        "outcome_open": cohort("outcome IS NULL"),
        **{f"outcome_{o.value}": cohort(f"outcome = {_sql_text(o.value)}") for o in Outcome},
        "holds_in_force": cohort("hold_active"),
        "enforcement_checks_refused": cases("in_cohort", "checks_refused"),
        "contacts_overdue": cohort("contact_overdue"),
        "exclusions_confirmed": cohort(f"outcome = {_sql_text(Outcome.excluded.value)}"),
        "exclusions_overridden": cohort("overridden"),
        "closed_in_period": cases("closed_in"),
        **{f"closed_{o.value}": cases(f"closed_in AND outcome = {_sql_text(o.value)}") for o in Outcome},
    }
    assert set(figures) == set(statistics.FIGURE_NAMES), "every figure of the report is counted in SQL"
    return {name: figures[name] for name in statistics.FIGURE_NAMES}


REPORT_WORK_MEM = "64MB"
_GROUP_COLUMN = {None: "NULL::text", Grouping.force: "force_code", Grouping.crime_type: "crime_type"}


def report_sql(by: Grouping | None, enforcement: bool) -> str:
    """The report's one statement: for the whole period or, with `by`, for each group in it."""
    return _REPORT_SQL.format(
        withdrawn=REFERRAL_WITHDRAWN,
        group_by="" if by is None else f"GROUP BY {_GROUP_COLUMN[by]}",
        enforcement_ctes=_ENFORCEMENT_CTES if enforcement else "",
        enforcement_columns=_ENFORCEMENT_COLUMNS if enforcement else _NO_ENFORCEMENT_COLUMNS,
        enforcement_joins=_ENFORCEMENT_JOINS if enforcement else "",
        group=_GROUP_COLUMN[by],
        figures=", ".join(f"{sql} AS {name}" for name, sql in _figure_sql().items()),
    )


def _enforcement_present(engine: Engine, notes: list[str]) -> bool:
    """Whether the enforcement tables exist. A database whose schema predates them counts no checks refused,
    detentions or removals, and the report says so."""
    present = set(inspect(engine).get_table_names())
    missing = [
        t for t in (EnforcementCheckRow.__tablename__, EnforcementActionRow.__tablename__) if t not in present
    ]
    if missing:
        notes.append(
            f"{' and '.join(missing)} not in this database (run `mvp db migrate`): "
            "enforcement checks refused, detained and removed counted as 0"
        )
    return not missing


def _figures(
    engine: Engine, start: datetime, end: datetime, policy: Policy, by: Grouping | None, notes: list[str]
) -> statistics.Report:
    """`statistics.report`'s figures, counted by Postgres: the period's cases never leave the database."""
    statement = text(report_sql(by, _enforcement_present(engine, notes)))
    with engine.begin() as conn:
        # enough memory for the period's cases to be counted without spilling to disk (this transaction only)
        conn.exec_driver_sql(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")
        rows = conn.execute(statement, {"start": start, "end": end, "within": policy.application_within})
        counted = {
            str(row.grp): statistics.Figures(
                **{name: int(row._mapping[name]) for name in statistics.FIGURE_NAMES}
            )
            for row in rows
        }
    total = statistics.Figures(
        **{name: sum(getattr(f, name) for f in counted.values()) for name in statistics.FIGURE_NAMES}
    )
    groups = counted if by is not None else {}
    return statistics.Report(
        start=start, end=end, total=total, by=by, groups={name: groups[name] for name in sorted(groups)}
    )


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
    notes: list[str] = []
    result = _figures(engine, start, end, policy, by, notes)
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
