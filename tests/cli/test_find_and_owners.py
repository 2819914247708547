"""`mvp cases find` and case owners (issue 12), through the CLI and the case API on a real stack: a worker,
Temporal and Postgres. The officer on the phone finds a case by whatever the caller quotes; a supervisor
gives a case to another officer, and from then on the case and its tasks are the new officer's."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session, col

from cli.session import ClientSettings, development_token
from models.tables import AccessRow, CaseRow, TaskRow
from tests.conftest import Running
from tests.support.inprocess import amvp, point_cli_at
from tests.support.inprocess import start_example_case as start_case

OFFICER = "officer:NCCU-0042"
NEW_OFFICER = "officer:NCCU-0077"
SUPERVISOR = "supervisor:NCCU-SUP-7"


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, running: Running, tmp_path: Path) -> None:
    point_cli_at(monkeypatch, running.api_url, running.issuer_url, tmp_path, actor=OFFICER)


async def found(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    ran = await amvp(capsys, "cases", "find", *args, "--json")
    assert ran.code == 0, ran.err
    return list(json.loads(ran.out))


async def test_a_case_is_found_by_each_key_police_or_the_person_quote(
    cli_env: None, running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = await start_case(capsys)
    exact = {"case_id": case_id, "match": "exact"}

    for key in (
        ("--crime-ref", "wmp/26/11/00871"),  # as the caller reads it out: case does not count
        ("--referral-id", "NCCU-2026-000123"),
        ("--ho-ref", "HO7781203"),  # without its hyphen
        ("--officer", "WMP-4471"),
        ("--name", "RAHMAN, Amina", "--born", "1998-03-14"),
        ("--name", "Amina, Rahman", "--born", "1998-03-14"),  # name order does not count
        ("--name", "Rahman, Zara", "--born", "2021-06-30"),  # her daughter, a dependant
        ("--crime-ref", "WMP/26/11/00871", "--officer", "WMP-4471"),  # both must match
    ):
        [row] = await found(capsys, *key)
        assert {k: row[k] for k in exact} == exact, key
        assert row["phase"] == "protection" and row["hold"] is True and row["force"] == "WMP", key
        assert row["crime_type"] == "domestic_abuse" and row["case_officer"] == OFFICER, key

    for key in (
        ("--name", "Rahmen, Amina", "--born", "1998-03-14"),  # misspelt
        ("--name", "Rahman, Amina", "--born", "1998-03-15"),  # a day off
        ("--ho-ref", "HO-7781208"),  # one digit off
    ):
        [row] = await found(capsys, *key)
        assert (row["case_id"], row["match"]) == (case_id, "possible"), key

    assert await found(capsys, "--crime-ref", "WMP/26/11/99999") == []
    assert await found(capsys, "--crime-ref", "WMP/26/11/00871", "--officer", "WMP-9999") == []
    text = await amvp(capsys, "cases", "find", "--name", "Rahmen, Amina", "--born", "1998-03-14")
    assert text.code == 0 and case_id in text.out and "possible" in text.out
    assert "Amina" not in text.out and "Rahman" not in text.out  # ids and codes only


async def test_police_find_only_their_own_forces_cases_and_enforcement_is_refused(
    cli_env: None, running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = await start_case(capsys)

    [row] = await found(capsys, "--crime-ref", "WMP/26/11/00871", "--as", "police:WMP-4471:WMP")
    assert row["case_id"] == case_id
    assert await found(capsys, "--crime-ref", "WMP/26/11/00871", "--as", "police:GMP-1:GMP") == []
    assert await found(capsys, "--ho-ref", "HO-7781203", "--as", "police:GMP-1:GMP") == []

    refused = await amvp(capsys, "cases", "find", "--ho-ref", "HO-7781203", "--as", "enforcement:ENF-3")
    assert refused.code == 3 and "only officers, supervisors and police" in refused.err


async def test_a_search_is_in_the_access_log_with_its_keys_and_cases_never_what_was_typed(
    cli_env: None, running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = await start_case(capsys)

    await found(capsys, "--name", "Rahman, Amina", "--born", "1998-03-14")
    await found(capsys, "--crime-ref", "WMP/26/11/00871", "--as", "police:GMP-1:GMP")

    with Session(running.engine) as session:
        searches = session.execute(
            select(AccessRow).where(col(AccessRow.action) == "cases_find").order_by(col(AccessRow.id))
        ).scalars()
        logged = [(row.actor, row.detail) for row in searches]
    assert logged == [
        (OFFICER, {"by": ["name"], "case_ids": [case_id]}),
        ("police:GMP-1:GMP", {"by": ["crime_ref"], "case_ids": []}),
    ]


async def test_police_systems_can_search_by_query_string_as_the_cli_does_by_body(
    cli_env: None, running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = await start_case(capsys)
    settings = ClientSettings.from_env()
    headers = {"Authorization": f"Bearer {development_token('police:WMP-4471:WMP', settings)}"}
    async with httpx.AsyncClient(base_url=running.api_url, headers=headers) as http:
        answer = await http.get("/cases/find", params={"crime_ref": "WMP/26/11/00871"})
        assert answer.status_code == 200, answer.text
        assert [row["case_id"] for row in answer.json()] == [case_id]
        bad = await http.get("/cases/find", params={"born": "1998-03-14"})
        assert bad.status_code == 422 and "--born needs --name" in bad.text
        unknown = await http.post("/cases/find", json={"surname": "Rahman"})
        assert unknown.status_code == 422


async def test_a_bad_search_exits_2_naming_each_problem(
    cli_env: None, running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = await amvp(capsys, "cases", "find", "--name", "Rahman Amina", "--ho-ref", "HO-ABC")
    assert ran.code == 2
    assert "--name needs a family name and given names" in ran.err and "--name needs --born" in ran.err
    assert "--ho-ref is not a Home Office reference" in ran.err
    assert "Traceback" not in ran.err and "Rahman" not in ran.err
    nothing = await amvp(capsys, "cases", "find")
    assert nothing.code == 2 and "Give at least one of" in nothing.err


async def test_a_supervisor_reassigns_a_case_and_both_officers_get_a_task(
    cli_env: None, running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = await start_case(capsys)
    reason = "NCCU-0042 moves to the Manchester team"

    refused = await amvp(
        capsys, "supervisor", "reassign", case_id, "--officer", "NCCU-0077", "--reason", reason
    )  # as the case officer: not theirs to give away
    assert refused.code == 3 and "only supervisor" in refused.err

    done = await amvp(
        capsys, "supervisor", "reassign", case_id, "--officer", "NCCU-0077", "--reason", reason,
        "--as", SUPERVISOR,
    )  # fmt: skip
    assert done.code == 0, done.err
    assert f"the case officer is now {NEW_OFFICER}" in done.out

    with Session(running.engine) as session:
        assert session.get(CaseRow, case_id).case_officer == NEW_OFFICER  # type: ignore[union-attr]
        tasks = session.execute(
            select(col(TaskRow.owner)).where(
                col(TaskRow.case_id) == case_id, col(TaskRow.kind) == "case_reassigned"
            )
        ).scalars()
        assert sorted(tasks) == [OFFICER, NEW_OFFICER]
    mine = await amvp(capsys, "tasks", "--mine", "--as", NEW_OFFICER)
    assert mine.code == 0 and case_id in mine.out and "case officer is now" in mine.out

    again = await amvp(
        capsys, "supervisor", "reassign", case_id, "--officer", "NCCU-0077", "--reason", reason,
        "--as", SUPERVISOR,
    )  # fmt: skip
    assert again.code == 3 and "already the case officer" in again.err


async def test_after_a_reassignment_the_case_and_what_is_addressed_to_its_officer_are_the_new_officers(
    cli_env: None, running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = await start_case(capsys)
    done = await amvp(
        capsys, "supervisor", "reassign", case_id, "--officer", "NCCU-0077",
        "--reason", "Caseload balanced across the team", "--as", SUPERVISOR,
    )  # fmt: skip
    assert done.code == 0, done.err

    listed = await amvp(capsys, "cases", "list", "--mine", "--json", "--as", NEW_OFFICER)
    assert listed.code == 0, listed.err
    assert [(r["case_id"], r["case_officer"]) for r in json.loads(listed.out)] == [(case_id, NEW_OFFICER)]
    before = await amvp(capsys, "cases", "list", "--mine", "--json", "--as", OFFICER)
    assert json.loads(before.out) == []
    table = await amvp(capsys, "cases", "list", "--as", SUPERVISOR)
    assert "officer" in table.out and NEW_OFFICER in table.out
    shown = await amvp(capsys, "case", "show", case_id, "--as", SUPERVISOR)
    assert f"officer    {NEW_OFFICER} (case officer)" in shown.out

    check = await amvp(
        capsys, "enforcement", "check", "--person", "HO-7781203", "--reason", "Planned visit",
        "--as", "enforcement:ENF-3",
    )  # fmt: skip
    assert check.code == 3, check.err
    assert NEW_OFFICER in check.out  # the officer to contact is the case officer now
    with Session(running.engine) as session:
        owners = session.execute(
            select(col(TaskRow.owner)).where(
                col(TaskRow.case_id) == case_id, col(TaskRow.kind) == "enforcement_check_refused"
            )
        ).scalars()
        assert list(owners) == [NEW_OFFICER]
