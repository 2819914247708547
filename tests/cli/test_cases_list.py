"""`mvp cases list`: the supervisor's 9 a.m. list, filtered and most urgent first.

A read-side test: the read model's rows are written directly (the workflow's writes to them are
tested in tests/workflows), then the command runs in this process as a supervisor would run it.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from models.tables import CaseRow
from tests.support.inprocess import mvp, point_cli_at

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)


def row(case_id: str, **kwargs: Any) -> CaseRow:
    values: dict[str, Any] = {
        "case_id": case_id,
        "revision": 3,
        "policy_version": "2026.1",
        "phase": "protection",
        "hold_active": True,
        "hold_grounds": ["investigation_live"],
        "force_code": "WMP",
        "crime_type": "domestic_abuse",
        "role": "victim",
        "referral_channel": "phone",
        "status_at_referral": "no_status",
        "exclusion_indicators": [],
        "pending_decisions": [],
        "contact_overdue": False,
        "referred_at": NOW - 60 * DAY,
        "opened_at": NOW - 60 * DAY,
        "next_contact_due": NOW + 10 * DAY,
        "updated_at": NOW - DAY,
        "view": {},
    }
    values.update(kwargs)
    if values["phase"] == "closed":
        values.update(hold_active=False, hold_grounds=[], next_contact_due=None)
    return CaseRow(**values)


def overdue(days: int) -> dict[str, Any]:
    """Overdue for `days` whole days and an hour: the contact was due `grace` (7 days) before that."""
    since = NOW - days * DAY - timedelta(hours=1)
    return {"contact_overdue": True, "overdue_since": since, "next_contact_due": since - 7 * DAY}


def cases() -> list[CaseRow]:
    """Fresh rows, most urgent first, as the list must sort them."""
    return [
        row(
            "MVP-BOTH",
            **overdue(2),
            pending_decisions=["exclusion"],
            hold_grounds=["exclusion_decision_pending"],
            force_code="MPS",
            crime_type="modern_slavery",
            exclusion_indicators=["custodial_12_months"],
        ),
        row("MVP-OVERDUE-30", **overdue(30), force_code="GMP", referred_at=datetime(2025, 3, 1, tzinfo=UTC)),
        row("MVP-OVERDUE-10", **overdue(10)),
        row(
            "MVP-EXCLUSION",
            pending_decisions=["exclusion"],
            hold_grounds=["exclusion_decision_pending"],
            crime_type="sexual_offence",
            next_contact_due=NOW + 3 * DAY,
        ),
        row(
            "MVP-RELEASE",
            phase="awaiting_release",
            pending_decisions=["release"],
            hold_grounds=["release_decision_pending"],
            next_contact_due=NOW + 20 * DAY,
        ),
        row("MVP-DUE-SOON", next_contact_due=NOW + 2 * DAY, force_code="GMP"),
        row(
            "MVP-ENGAGED",
            phase="engagement",
            hold_grounds=["engagement_notice"],
            next_contact_due=NOW + 5 * DAY,
        ),
        row(
            "MVP-SCREENING",
            phase="screening",
            hold_grounds=["screening_pending"],
            next_contact_due=NOW + 25 * DAY,
        ),
        row(
            "MVP-GRANTED",
            phase="closed",
            outcome="regularised",
            referred_at=datetime(2025, 1, 5, tzinfo=UTC),
            closed_at=NOW - 5 * DAY,
        ),
        row(
            "MVP-WITHDRAWN",
            phase="closed",
            outcome="withdrawn",
            referred_at=datetime(2025, 6, 1, tzinfo=UTC),
            closed_at=NOW - 50 * DAY,
            crime_type="modern_slavery",
        ),
    ]


URGENCY = [c.case_id for c in cases()]


@pytest.fixture
def listed(engine: Engine, monkeypatch: pytest.MonkeyPatch, api: str, issuer: str, tmp_path: Path) -> None:
    with Session(engine) as session, session.begin():
        for case in reversed(cases()):  # written in the wrong order on purpose
            session.add(case)
    point_cli_at(monkeypatch, api, issuer, tmp_path)


def ids(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    ran = mvp(capsys, "cases", "list", "--json", *args)
    assert ran.code == 0, ran.err
    return [r["case_id"] for r in json.loads(ran.out)]


pytestmark = pytest.mark.usefixtures("listed")


def test_every_case_most_urgent_first(capsys: pytest.CaptureFixture[str]) -> None:
    """Overdue with a decision pending, then overdue (longest first), then decisions pending, then open
    cases by the soonest contact due, then closed cases by the oldest referral."""
    assert ids(capsys) == URGENCY


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--phase", "engagement"], ["MVP-ENGAGED"]),
        (["--phase", "closed"], ["MVP-GRANTED", "MVP-WITHDRAWN"]),
        (["--hold"], URGENCY[:-2]),
        (["--no-hold"], ["MVP-GRANTED", "MVP-WITHDRAWN"]),
        (["--overdue"], ["MVP-BOTH", "MVP-OVERDUE-30", "MVP-OVERDUE-10"]),
        (["--overdue-for", "10"], ["MVP-OVERDUE-30", "MVP-OVERDUE-10"]),
        (["--overdue-for", "11"], ["MVP-OVERDUE-30"]),
        (["--overdue-for", "0"], ["MVP-BOTH", "MVP-OVERDUE-30", "MVP-OVERDUE-10"]),
        (["--pending", "any"], ["MVP-BOTH", "MVP-EXCLUSION", "MVP-RELEASE"]),
        (["--pending", "exclusion"], ["MVP-BOTH", "MVP-EXCLUSION"]),
        (["--pending", "release"], ["MVP-RELEASE"]),
        (["--force", "gmp"], ["MVP-OVERDUE-30", "MVP-DUE-SOON"]),
        (["--crime-type", "modern_slavery"], ["MVP-BOTH", "MVP-WITHDRAWN"]),
        (["--from", "2025-01-01", "--to", "2025-06-01"], ["MVP-OVERDUE-30", "MVP-GRANTED"]),
        (["--from", "2025-06-01"], [c for c in URGENCY if c not in ("MVP-OVERDUE-30", "MVP-GRANTED")]),
        (["--outcome", "withdrawn"], ["MVP-WITHDRAWN"]),
        (["--hold", "--force", "WMP", "--pending", "release"], ["MVP-RELEASE"]),
        (["--outcome", "departed"], []),
    ],
)
def test_each_filter(args: list[str], expected: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert ids(capsys, *args) == expected


def test_json_says_how_long_a_contact_has_been_overdue(capsys: pytest.CaptureFixture[str]) -> None:
    ran = mvp(capsys, "cases", "list", "--json")
    by_id = {r["case_id"]: r for r in json.loads(ran.out)}
    assert by_id["MVP-OVERDUE-30"]["days_overdue"] == 30
    assert by_id["MVP-OVERDUE-10"]["days_overdue"] == 10
    assert by_id["MVP-OVERDUE-10"]["overdue"] is True
    assert by_id["MVP-OVERDUE-10"]["overdue_since"].startswith(
        f"{NOW - 10 * DAY - timedelta(hours=1):%Y-%m-%d}"
    )
    assert by_id["MVP-DUE-SOON"]["days_overdue"] is None
    assert by_id["MVP-BOTH"]["pending"] == ["exclusion"]
    assert by_id["MVP-GRANTED"]["outcome"] == "regularised"


def test_csv_has_a_header_and_a_row_per_case_in_urgency_order(capsys: pytest.CaptureFixture[str]) -> None:
    ran = mvp(capsys, "cases", "list", "--csv")
    assert ran.code == 0, ran.err
    rows = list(csv.DictReader(io.StringIO(ran.out)))
    assert [r["case_id"] for r in rows] == URGENCY
    by_id = {r["case_id"]: r for r in rows}
    assert by_id["MVP-OVERDUE-30"]["days_overdue"] == "30"
    assert by_id["MVP-DUE-SOON"]["days_overdue"] == ""
    assert by_id["MVP-BOTH"]["pending"] == "exclusion"
    assert by_id["MVP-ENGAGED"]["grounds"] == "engagement_notice"


def test_the_table_reads_at_a_glance(capsys: pytest.CaptureFixture[str]) -> None:
    ran = mvp(capsys, "cases", "list", "--overdue")
    assert ran.code == 0, ran.err
    assert "3 case(s)" in ran.out
    lines = [line for line in ran.out.splitlines() if line.startswith("│")]
    assert [line.split("│")[1].strip() for line in lines] == ["MVP-BOTH", "MVP-OVERDUE-30", "MVP-OVERDUE-10"]
    assert "OVERDUE 30d" in lines[1] and "OVERDUE 10d" in lines[2]
    assert "exclusion" in lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--phase", "protected"], "--phase 'protected' is not known: give one of screening, protection"),
        (["--outcome", "granted"], "--outcome 'granted' is not known: give one of regularised"),
        (["--crime-type", "burglary"], "--crime-type 'burglary' is not known: give one of domestic_abuse"),
        (["--pending", "decision"], "--pending 'decision' is not known: give one of any, exclusion, release"),
        (["--overdue-for", "-1"], "--overdue-for takes a number of days"),
        (["--from", "2025-06-01", "--to", "2025-01-01"], "--from must be before --to"),
        (["--from", "June"], "--from 'June' is not a date"),
    ],
)
def test_an_unknown_value_exits_2_and_names_the_choices(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = mvp(capsys, "cases", "list", *args)
    assert ran.code == 2
    assert message in " ".join(ran.err.split())
    assert "Traceback" not in ran.err
