"""`mvp report` over more cases than Postgres takes parameters in one statement (65,535): counted in SQL.

The cases are written cheaply with one `INSERT ... SELECT generate_series` into the real `cases` table (the
schema migrated to head), each with the tally the store would write (`statistics.tally`, checked for a sample);
the expected figures come from the generator's rule below, not from the database.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlmodel import Session, col

from models.case import ApplicationStage
from models.records import ImmigrationStatus
from models.tables import CaseRow
from protocol.policy import policy
from protocol.statistics import ApplicationFact, Grouping, tally
from tests.support.inprocess import mvp, point_cli_at
from usecases.report import build_report

CASES = 70_000
FORCES = ("GMP", "MPS", "WMP")
START, END = datetime(2024, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)

# Case i (1..CASES): referred (i % 700) days after START; status by i % 4 (British, no status, leave to
# remain, no record found); closed as departed the next day when i % 10 == 0; an application submitted ten
# days after referral and awaiting a decision when i % 5 == 2; contact overdue when i % 8 == 1 and open.
GENERATE = f"""
INSERT INTO cases (case_id, revision, policy_version, phase, hold_active, hold_grounds, outcome, force_code,
                   crime_type, role, referral_channel, status_at_referral, exclusion_indicators,
                   pending_decisions, contact_overdue, referred_at, opened_at, closed_at, updated_at, view,
                   report_status, report_may_apply, report_stage, first_applied_at)
SELECT 'MVP-S' || lpad(i::text, 6, '0'), 3, '2026.1',
       CASE WHEN mod(i, 10) = 0 THEN 'closed' ELSE 'protection' END,
       mod(i, 10) <> 0,
       CASE WHEN mod(i, 10) = 0 THEN '[]'::jsonb ELSE '["investigation_live"]'::jsonb END,
       CASE WHEN mod(i, 10) = 0 THEN 'departed' END,
       (ARRAY['GMP', 'MPS', 'WMP'])[mod(i, 3) + 1], 'domestic_abuse', 'victim', 'phone',
       (ARRAY['british_citizen', 'no_status', 'leave_to_remain', 'unknown'])[mod(i, 4) + 1],
       '[]'::jsonb, '[]'::jsonb, mod(i, 8) = 1 AND mod(i, 10) <> 0,
       referred, referred,
       CASE WHEN mod(i, 10) = 0 THEN referred + interval '1 day' END,
       referred,
       CASE WHEN mod(i, 5) = 2 THEN jsonb_build_object('applications', jsonb_build_array(jsonb_build_object(
           'number', 1, 'route', 'other', 'stage', 'submitted',
           'submitted_at', to_jsonb(referred + interval '10 days'))))
       ELSE '{{}}'::jsonb END,
       (ARRAY['british_citizen', 'no_status', 'leave_to_remain', 'no_record'])[mod(i, 4) + 1],
       mod(i, 4) <> 0,
       CASE WHEN mod(i, 5) = 2 THEN 'awaiting_decision' END,
       CASE WHEN mod(i, 5) = 2 THEN referred + interval '10 days' END
FROM generate_series(1, {CASES}) AS i,
     LATERAL (SELECT timestamptz '{START.isoformat()}' + (mod(i, 700)) * interval '1 day' AS referred) AS r
"""


def expected(members: range | list[int]) -> dict[str, int]:
    """The figures the generator's rule gives for cases `members` (every one referred in the period)."""
    status = {
        0: "status_british_citizen",
        1: "status_no_status",
        2: "status_leave_to_remain",
        3: "status_no_record",
    }
    figures: Counter[str] = Counter()
    for i in members:
        departed, applied = i % 10 == 0, i % 5 == 2
        figures["referrals"] += 1
        figures[status[i % 4]] += 1
        figures["outcome_departed" if departed else "outcome_open"] += 1
        figures["voluntary_departures"] += departed
        figures["closed_in_period"] += departed
        figures["closed_departed"] += departed
        figures["holds_in_force"] += not departed
        figures["contacts_overdue"] += i % 8 == 1 and not departed
        figures["applications_made"] += applied
        figures["applications_within_one_month"] += applied
        figures["awaiting_decision"] += applied
        figures["yet_to_apply"] += not applied and not departed and i % 4 != 0
    return dict(figures)


@pytest.fixture
def many(engine: Engine) -> Engine:
    with engine.begin() as conn:
        conn.exec_driver_sql(GENERATE)
        conn.exec_driver_sql("ANALYZE cases")
    return engine


def test_the_generator_writes_each_cases_tally_as_the_store_does(many: Engine) -> None:
    """The report adds up the tally the store writes into each row (`statistics.tally` of its status and its
    applications); the generator writes it by hand, so this pins it to the rule for one case of each kind."""
    sample = [f"MVP-S{i:06d}" for i in range(1, 21)]  # every i % 4, i % 5 and i % 10 the generator uses
    with Session(many) as session:
        rows = session.execute(select(CaseRow).where(col(CaseRow.case_id).in_(sample))).scalars().all()
    assert len(rows) == len(sample)
    for row in rows:
        applications = [
            ApplicationFact(
                a["number"], datetime.fromisoformat(a["submitted_at"]), ApplicationStage(a["stage"])
            )
            for a in row.view.get("applications", [])
        ]
        its = tally(ImmigrationStatus(row.status_at_referral), applications)
        assert (row.report_status, row.report_may_apply, row.report_stage, row.first_applied_at) == (
            its.status_row.value,
            its.may_need_to_apply,
            its.stage_figure,
            its.first_applied_at,
        ), row.case_id


def test_a_report_over_70000_cases_is_one_statement_with_no_case_ids_as_parameters(
    many: Engine,
    api: str,
    issuer: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Before the counting moved into SQL, every case id was a parameter, and past 65,535 Postgres refused the
    query (the CLI said Postgres was unreachable)."""
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        statements.append((statement, parameters))

    event.listen(many, "before_cursor_execute", capture)
    try:
        report = build_report(many, START, END, policy(), Grouping.force)
    finally:
        event.remove(many, "before_cursor_execute", capture)
    counting = [(s, p) for s, p in statements if "FROM cases" in s]
    assert len(counting) == 1
    assert set(counting[0][1]) == {"start", "end", "within"}  # three parameters, whatever the cases
    total = report.report.total.as_dict()
    assert {k: v for k, v in total.items() if v} == {
        k: v for k, v in expected(range(1, CASES + 1)).items() if v
    }
    assert sorted(report.report.groups) == list(FORCES)
    for n, force in enumerate(FORCES):  # (ARRAY[...])[i % 3 + 1]
        members = [i for i in range(1, CASES + 1) if i % 3 == n]
        figures = report.report.groups[force].as_dict()
        assert {k: v for k, v in figures.items() if v} == {k: v for k, v in expected(members).items() if v}

    point_cli_at(monkeypatch, api, issuer, tmp_path)
    ran = mvp(capsys, "report", "--from", "2024-01-01", "--to", "2026-01-01", "--json")
    assert ran.code == 0, ran.err
    shown = json.loads(ran.out)["figures"]
    assert shown["referrals"] == CASES
    assert shown["closed_departed"] == CASES // 10
    assert shown["awaiting_decision"] == CASES // 5
