"""`GET /cases` and `mvp cases list` a page at a time: keyset paging in the urgency order, on its indexes.

Read-side tests, like tests/cli/test_cases_list.py: the read model's rows are written directly, then the API
and the CLI run against a real Postgres migrated to head.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event, update
from sqlmodel import Session, col

from models.tables import CaseRow
from tests.support.inprocess import mvp, point_cli_at
from usecases import readmodel
from usecases.readmodel import CaseFilter

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)
FORCES = ("WMP", "GMP", "MPS")


def row(n: int, **kwargs: Any) -> CaseRow:
    """Case n of a spread: every fifth overdue, every seventh awaiting a decision, every sixth closed; many
    share their dates, so that the case id has to break ties."""
    closed = n % 6 == 5
    overdue = not closed and n % 5 == 0
    values: dict[str, Any] = {
        "case_id": f"MVP-P{n:04d}",
        "revision": 3,
        "policy_version": "2026.1",
        "phase": "closed" if closed else "protection",
        "hold_active": not closed,
        "hold_grounds": [] if closed else ["investigation_live"],
        "outcome": "regularised" if closed else None,
        "force_code": FORCES[n % 3],
        "crime_type": "domestic_abuse",
        "role": "victim",
        "referral_channel": "phone",
        "status_at_referral": "no_status",
        "exclusion_indicators": [],
        "pending_decisions": ["exclusion"] if n % 7 == 3 and not closed else [],
        "contact_overdue": overdue,
        "overdue_since": NOW - (n % 4) * DAY if overdue else None,
        "referred_at": NOW - (100 + n % 3) * DAY,
        "opened_at": NOW - 100 * DAY,
        "closed_at": NOW - DAY if closed else None,
        "next_contact_due": None if closed else NOW + (n % 4) * DAY,
        "updated_at": NOW,
        "case_officer": "officer:NCCU-0042" if n % 2 else "officer:NCCU-0043",
        "view": {},
    }
    values.update(kwargs)
    return CaseRow(**values)


CASES = 40


@pytest.fixture
def paged(engine: Engine, monkeypatch: pytest.MonkeyPatch, api: str, issuer: str, tmp_path: Path) -> str:
    with Session(engine) as session, session.begin():
        session.add_all(row(n) for n in range(CASES))
    point_cli_at(monkeypatch, api, issuer, tmp_path)
    return api


def token(issuer: str, actor: str = "supervisor:NCCU-SUP-7") -> dict[str, str]:
    minted = httpx.post(f"{issuer}/dev/token", json={"actor": actor}, timeout=10)
    minted.raise_for_status()
    return {"Authorization": f"Bearer {minted.json()['access_token']}"}


def every_page(url: str, headers: dict[str, str], between: Any = None) -> list[list[str]]:
    """The case ids of each page, following `Link: rel="next"`; `between(n)` runs after page n."""
    pages: list[list[str]] = []
    while url:
        answer = httpx.get(url, headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        pages.append([r["case_id"] for r in answer.json()])
        url = answer.links.get("next", {}).get("url", "")
        if between is not None and url:
            between(len(pages))
    return pages


def test_pages_of_the_default_list_are_the_whole_list_in_order_without_repeats(
    paged: str, issuer: str
) -> None:
    headers = token(issuer)
    whole = every_page(f"{paged}/cases?page_size=1000", headers)
    assert len(whole) == 1 and len(whole[0]) == CASES
    pages = every_page(f"{paged}/cases?page_size=7", headers)
    assert [len(p) for p in pages] == [7, 7, 7, 7, 7, 5]
    assert [c for p in pages for c in p] == whole[0]
    default = httpx.get(f"{paged}/cases", headers=headers, timeout=30)
    assert len(default.json()) == CASES  # the default page (50) holds them all: no next page
    assert "next" not in default.links


def test_cases_added_and_changed_between_pages_never_repeat_or_hide_an_unchanged_case(
    paged: str, issuer: str, engine: Engine
) -> None:
    """While a supervisor pages, new cases arrive (some more urgent than the page they are on) and other
    cases close: every case that did not change is still shown exactly once, in its order."""
    headers = token(issuer)
    before = every_page(f"{paged}/cases?page_size=1000", headers)[0]
    changed = {"MVP-P0001", "MVP-P0020", "MVP-P0033"}

    def meanwhile(page: int) -> None:
        with Session(engine) as session, session.begin():
            session.add(row(100 + page, case_id=f"MVP-NEW{page}A", contact_overdue=True, overdue_since=NOW))
            session.add(row(200 + page, case_id=f"MVP-NEW{page}B"))
            if page == 2:
                session.execute(
                    update(CaseRow)
                    .where(col(CaseRow.case_id).in_(changed))
                    .values(phase="closed", outcome="departed", hold_active=False, next_contact_due=None)
                )

    pages = every_page(f"{paged}/cases?page_size=6", headers, meanwhile)
    seen = [c for p in pages for c in p]
    unchanged = [c for c in before if c not in changed]
    assert [c for c in seen if c in unchanged] == unchanged  # each once, in order
    new = [c for c in seen if c.startswith("MVP-NEW")]
    assert new and len(new) == len(set(new))  # a new case is shown where it sorts, if after the cursor, once


def test_each_filter_pages_on_its_own_index_with_no_sort(engine: Engine, paged: str) -> None:
    """The default order, `--overdue`, `--force` and `--mine` are each read from an index whose key is the
    urgency order (migration 0009), with the position of the cursor as the start of an index range."""
    plans = {}
    for name, where in {
        "ix_cases_urgency": CaseFilter(),
        "ix_cases_overdue_urgency": CaseFilter(overdue=True),
        "ix_cases_force_urgency": CaseFilter(force="GMP"),
        "ix_cases_officer_urgency": CaseFilter(case_officer="officer:NCCU-0042"),
    }.items():
        after = readmodel.list_page(engine, where, size=2).next
        assert after is not None
        plans[name] = explain(
            engine, lambda where=where, after=after: readmodel.list_page(engine, where, after=after)
        )
    for index, plan in plans.items():
        assert f"Index Scan using {index} " in plan, plan
        assert "Sort" not in plan and "Seq Scan" not in plan, plan
        assert "Index Cond" in plan, plan


def explain(engine: Engine, run: Any) -> str:
    """The plan of the one SELECT `run` makes, with sequential scans and sorts priced out (a 40-row table
    would otherwise be read whole): if an index fits the query, Postgres uses it."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    ((statement, parameters),) = seen
    assert "referral_sealed" not in statement and "view" not in statement  # a list row never reads them
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        conn.exec_driver_sql("SET enable_sort = off")
        return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("after=bm90IGEgY3Vyc29y", "--after: the cursor is not one this service gave out"),
        ("after=%25%25%25", "--after: the cursor is not one this service gave out"),
        ("page_size=0", "page_size"),
        ("page_size=1001", "page_size"),
    ],
)
def test_a_bad_cursor_or_page_size_is_refused_with_a_sentence(
    paged: str, issuer: str, query: str, message: str
) -> None:
    answer = httpx.get(f"{paged}/cases?{query}", headers=token(issuer), timeout=30)
    assert answer.status_code == 422
    assert message in answer.json()["error"]["message"]


def test_a_cursor_is_good_only_for_the_filters_it_was_given_for(
    paged: str, issuer: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first = mvp(capsys, "cases", "list", "--json", "--page-size", "4", "--force", "WMP")
    assert first.code == 0, first.err
    assert len(json.loads(first.out)) == 4
    cursor = first.err.split("--after")[-1].strip()
    following = mvp(
        capsys, "cases", "list", "--json", "--page-size", "4", "--force", "WMP", "--after", cursor
    )
    assert following.code == 0, following.err
    shown = [r["case_id"] for r in json.loads(first.out) + json.loads(following.out)]
    assert len(set(shown)) == 8 and all(int(c[-4:]) % 3 == 0 for c in shown)  # WMP: n % 3 == 0
    elsewhere = mvp(capsys, "cases", "list", "--json", "--force", "GMP", "--after", cursor)
    assert elsewhere.code == 2
    assert "the cursor was given for a list with other filters" in " ".join(elsewhere.err.split())
    assert "Traceback" not in elsewhere.err
    too_big = mvp(capsys, "cases", "list", "--page-size", "5000")
    assert too_big.code == 2 and "--page-size takes a number of cases from 1 to 1000" in too_big.err


def test_all_streams_every_page_as_json_lines_or_one_csv(
    paged: str, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = mvp(capsys, "cases", "list", "--json", "--page-size", "1000")
    expected = [r["case_id"] for r in json.loads(whole.out)]
    lines = mvp(capsys, "cases", "list", "--all", "--json", "--page-size", "6")
    assert lines.code == 0, lines.err
    assert [json.loads(line)["case_id"] for line in lines.out.splitlines()] == expected
    as_csv = mvp(capsys, "cases", "list", "--all", "--csv", "--page-size", "9")
    assert [r["case_id"] for r in csv.DictReader(io.StringIO(as_csv.out))] == expected  # one header
    table = mvp(capsys, "cases", "list", "--all")
    assert table.code == 2 and "--all is for exports" in table.err
