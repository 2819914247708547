"""The `mvp` command line as a person uses it: a subprocess against a real Temporal server and a real
Postgres, with a worker running. Exit codes: 0 success, 2 bad input, 3 refused, 4 not found."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session, col

from tests.conftest import EXAMPLES, Running
from tests.support.cli import cases_in_postgres, mvp, start_example_case


async def test_a_referral_with_many_problems_exits_2_names_each_and_starts_nothing(
    running: Running, tmp_path: Path
) -> None:
    referral = json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text())
    referral["crime_type"] = "burglary"
    referral["purposes"] = []
    referral["person"]["date_of_birth"] = "2999-01-01"
    referral["additional_information"]["person_views"] = None
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(referral))

    result = await mvp(running, "referral", "start", str(bad))

    assert result.returncode == 2
    for field in ("crime_type", "purposes", "person.date_of_birth", "additional_information"):
        assert field in result.stderr
    assert "Traceback" not in result.stderr
    assert "2999" not in result.stderr  # the message names the problem without echoing the data
    assert cases_in_postgres(running) == 0
    listed = [w async for w in running.client.list_workflows(f"TaskQueue = '{running.settings.task_queue}'")]
    assert listed == []


async def test_a_file_that_is_not_json_exits_2(running: Running, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = await mvp(running, "referral", "start", str(bad))
    assert result.returncode == 2
    assert "not valid JSON" in result.stderr


async def test_referral_start_without_an_identity_exits_3_and_says_how_to_sign_in(running: Running) -> None:
    result = await mvp(running, "referral", "start", str(EXAMPLES / "referral-domestic-abuse.json"), actor="")
    assert result.returncode == 3
    assert "mvp login" in result.stderr and "--as" in result.stderr
    assert cases_in_postgres(running) == 0


async def test_start_show_and_list_a_case(running: Running) -> None:
    case_id = await start_example_case(running)

    shown = await mvp(running, "case", "show", case_id, "--json")
    assert shown.returncode == 0, shown.stderr
    case = json.loads(shown.stdout)
    assert case["case_id"] == case_id
    assert case["phase"] == "protection"
    assert case["hold"]["active"] is True
    assert "investigation_live" in case["hold"]["grounds"]
    assert case["outcome"] is None
    assert case["next_contact_due"]
    assert any(entry["action"] == "information_received" for entry in case["record"])
    to_her = [n for n in case["notices"] if n["to"] == "person"]
    assert [(n["kind"], n["channel"], n["language"]) for n in to_her] == [("protocol_notice", "phone", "bn")]

    table = await mvp(running, "case", "show", case_id)
    assert table.returncode == 0
    assert case_id in table.stdout and "IN FORCE" in table.stdout

    listed = await mvp(running, "cases", "list", "--json")
    assert listed.returncode == 0
    rows = json.loads(listed.stdout)
    assert [(r["case_id"], r["phase"], r["hold"]) for r in rows] == [(case_id, "protection", True)]

    as_csv = await mvp(running, "cases", "list", "--csv")
    assert list(csv.DictReader(io.StringIO(as_csv.stdout)))[0]["case_id"] == case_id


async def test_a_duplicate_referral_exits_3_with_the_existing_case_id(
    running: Running, tmp_path: Path
) -> None:
    case_id = await start_example_case(running)
    resubmitted = await mvp(running, "referral", "start", str(EXAMPLES / "referral-domestic-abuse.json"))
    assert resubmitted.returncode == 0 and case_id in resubmitted.stdout  # the same referral: the same case
    referral = json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text())
    referral["referral_id"] = "NCCU-2026-000777"  # the same person and crime, referred again
    again_file = tmp_path / "again.json"
    again_file.write_text(json.dumps(referral))
    again = await mvp(running, "referral", "start", str(again_file))
    assert again.returncode == 3
    assert case_id in again.stderr
    assert cases_in_postgres(running) == 1


async def test_a_possible_duplicate_exits_3_unless_started_with_a_reason(
    running: Running, tmp_path: Path
) -> None:
    case_id = await start_example_case(running)
    referral = json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text())
    referral["referral_id"] = "NCCU-2026-000778"
    referral["person"].update({"given_names": "Ami", "home_office_ref": None})  # shortened, no reference
    again_file = tmp_path / "again.json"
    again_file.write_text(json.dumps(referral))

    refused = await mvp(running, "referral", "start", str(again_file))
    assert refused.returncode == 3 and "possible duplicate" in refused.stderr and case_id in refused.stderr
    assert "Traceback" not in refused.stderr
    started = await mvp(
        running,
        "referral",
        "start",
        str(again_file),
        "--possible-duplicate-reason",
        "Another woman: the refuge confirmed two residents of that name",
        "--json",
    )
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout)["case_id"] != case_id
    assert cases_in_postgres(running) == 2


async def test_an_unknown_case_exits_4(running: Running) -> None:
    result = await mvp(running, "case", "show", "MVP-00000-00000")
    assert result.returncode == 4
    assert "No case MVP-00000-00000" in result.stderr


async def test_a_refused_command_exits_3_with_the_reason(running: Running) -> None:
    case_id = await start_example_case(running)
    result = await mvp(
        running,
        "supervisor",
        "release",
        case_id,
        "--reason",
        "No grounds remain at all.",
        actor="supervisor:SUP-7",
    )
    assert result.returncode == 3
    assert "pre-decision engagement" in result.stderr


async def test_police_of_another_force_are_refused(running: Running) -> None:
    case_id = await start_example_case(running)
    result = await mvp(running, "police", "update", case_id, "--status", "charged", actor="police:MPS-1:MPS")
    assert result.returncode == 3
    assert "own force" in result.stderr
    ok = await mvp(running, "police", "update", case_id, "--status", "charged", actor="police:WMP-4471:WMP")
    assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize("args", [["case", "show"], ["cases", "list", "--json"]])
async def test_commands_that_use_temporal_or_postgres_exit_0_every_time(
    running: Running, args: list[str]
) -> None:
    """The Temporal client's runtime can crash at interpreter exit (sdk-python#300): a command that
    succeeded must exit 0 and print no fatal error, every time."""
    case_id = await start_example_case(running)
    argv = [*args, case_id] if args == ["case", "show"] else args
    for _ in range(5):
        result = await mvp(running, *argv)
        assert result.returncode == 0, result.stderr
        assert "Fatal Python error" not in result.stderr
    for _ in range(5):
        result = await mvp(running, "officer", "contact", case_id, "--result", "no_answer")
        assert result.returncode == 0, result.stderr
        assert "Fatal Python error" not in result.stderr


async def test_every_read_is_recorded_and_authorised_readers_see_the_circumstances(running: Running) -> None:
    from models.tables import AccessRow, NoteRow

    case_id = await start_example_case(running)
    note = "Spoke via refuge worker; prefers afternoon calls"
    contact = await mvp(running, "officer", "contact", case_id, "--result", "reached", "--note", note)
    assert contact.returncode == 0, contact.stderr

    shown = await mvp(running, "case", "show", case_id, "--json", actor="supervisor:SUP-7")
    assert shown.returncode == 0, shown.stderr
    case = json.loads(shown.stdout)
    assert case["circumstances"]["person"]["family_name"] == "Rahman"
    assert any(entry["note"] == note for entry in case["record"])
    listed = await mvp(running, "cases", "list", "--overdue", actor="supervisor:SUP-7")
    assert listed.returncode == 0, listed.stderr
    reported = await mvp(
        running, "report", "--from", "2026-01-01", "--to", "2027-01-01", "--json", actor="supervisor:SUP-7"
    )
    assert reported.returncode == 0, reported.stderr

    refused = await mvp(running, "case", "show", case_id, actor="enforcement:ENF-1")
    assert refused.returncode == 3

    with Session(running.engine) as session:
        reads = session.execute(select(AccessRow).order_by(AccessRow.id)).scalars().all()  # type: ignore[arg-type]
        sealed = session.execute(select(col(NoteRow.note_sealed))).scalars().all()
    assert [(r.actor, r.action, r.case_id) for r in reads if r.actor.startswith("supervisor")] == [
        ("supervisor:SUP-7", "case_show", case_id),
        ("supervisor:SUP-7", "cases_list", None),
        ("supervisor:SUP-7", "report", None),
    ]
    assert next(r for r in reads if r.action == "cases_list").detail == {"filters": {"overdue": "True"}}
    refusal = reads[-1]  # the enforcement officer's attempt to read the case is recorded as refused
    assert (refusal.actor, refusal.case_id) == ("enforcement:ENF-1", case_id) and "refused" in refusal.detail
    assert sealed and all(note not in s for s in sealed)  # kept, but not in clear
