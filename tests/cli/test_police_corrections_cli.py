"""`mvp police correct`, `mvp police note` and what `mvp case show` gives a call (issue 12), through the case API
on a real stack: a correction is recorded, never a rewrite, and never lifts the hold by itself; only the
referring force may; the case officer gets a task; `case show` reads at 80 columns, in words, JSON in codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from cli import render
from tests.conftest import Running
from tests.support.inprocess import amvp, point_cli_at
from tests.support.inprocess import start_example_case as start_case

OFFICER = "officer:NCCU-0042"
POLICE = "police:WMP-4471:WMP"  # the force that referred the example case
OTHER_FORCE = "police:MPS-22019:MPS"
REASON = "Our system showed the wrong case; no charge yet"


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, running: Running, tmp_path: Path) -> None:
    point_cli_at(monkeypatch, running.api_url, running.issuer_url, tmp_path, actor=OFFICER)


async def shown(capsys: pytest.CaptureFixture[str], case_id: str) -> dict:  # type: ignore[type-arg]
    result = await amvp(capsys, "case", "show", case_id, "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)  # type: ignore[no-any-return]


async def test_police_correct_a_status_reported_wrongly_as_a_new_entry_and_the_case_officer_gets_a_task(
    cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = await start_case(capsys)
    charged = await amvp(capsys, "police", "update", case_id, "--status", "charged", "--as", POLICE)
    assert charged.code == 0, charged.err

    corrected = await amvp(
        capsys,
        "police",
        "correct",
        case_id,
        "--status",
        "under_investigation",
        "--reason",
        REASON,
        "--as",
        POLICE,
    )

    assert corrected.code == 0, corrected.err
    case = await shown(capsys, case_id)
    assert case["investigation"] == "under_investigation" and case["hold"]["active"]
    [update] = [r for r in case["record"] if r["action"] == "police_update"]
    [entry] = [r for r in case["record"] if r["action"] == "police_status_corrected"]
    assert entry["seq"] > update["seq"]  # appended: the wrong report stays as it was
    assert entry["summary"].startswith(f"corrects entry {update['seq']}: investigation charged")
    assert entry["note"] == REASON and entry["actor"] == POLICE
    assert [t["kind"] for t in case["open_tasks"] if t["owner"] == OFFICER].count("police_correction") == 1

    note = await amvp(capsys, "police", "note", case_id, "--text", "Victim moved to a refuge", "--as", POLICE)
    assert note.code == 0, note.err
    case = await shown(capsys, case_id)
    [noted] = [r for r in case["record"] if r["action"] == "police_note"]
    assert noted["note"] == "Victim moved to a refuge" and "refuge" not in noted["summary"]
    assert "police_note" in [t["kind"] for t in case["open_tasks"]]


async def test_a_correction_that_ends_the_police_ground_leaves_the_hold_in_force(
    cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = await start_case(capsys)
    corrected = await amvp(
        capsys, "police", "correct", case_id, "--status", "no_further_action", "--reason", REASON,
        "--as", POLICE, "--json",
    )  # fmt: skip
    assert corrected.code == 0, corrected.err
    view = json.loads(corrected.out)["view"]
    assert view["hold"] == {"active": True} and view["outcome"] is None  # police see whether, not on what
    case = await shown(capsys, case_id)
    assert case["hold"]["active"] and case["phase"] in ("protection", "engagement")
    assert "investigation_live" not in case["hold"]["grounds"]
    assert "hold_lifted" not in [r["action"] for r in case["record"]]


async def test_only_the_referring_force_corrects_and_bad_input_is_a_sentence(
    cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = await start_case(capsys)

    other = await amvp(
        capsys, "police", "correct", case_id, "--status", "charged", "--reason", REASON, "--as", OTHER_FORCE
    )
    assert other.code == 3 and "another force" in other.err
    officer = await amvp(capsys, "police", "note", case_id, "--text", "An officer's note")
    assert officer.code == 3 and "only police may do this" in officer.err
    same = await amvp(
        capsys, "police", "correct", case_id, "--status", "reported", "--reason", REASON, "--as", POLICE
    )
    assert same.code == 3 and "already reported" in same.err
    unknown = await amvp(
        capsys,
        "police",
        "correct",
        case_id,
        "--status",
        "sort_of_charged",
        "--reason",
        REASON,
        "--as",
        POLICE,
    )
    assert unknown.code == 2 and "investigation" in unknown.err
    short = await amvp(
        capsys, "police", "correct", case_id, "--status", "charged", "--reason", "oops", "--as", POLICE
    )
    assert short.code == 2 and "reason" in short.err
    for result in (other, officer, same, unknown, short):
        assert "Traceback" not in result.err
    case = await shown(capsys, case_id)
    assert "police_status_corrected" not in [r["action"] for r in case["record"]]  # nothing half-written


async def test_case_show_gives_what_a_call_needs_at_80_columns_in_words_and_json_keeps_codes(
    cli_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = await start_case(capsys)
    trial = (datetime.now(UTC) + timedelta(days=60)).date()
    update = await amvp(
        capsys, "police", "update", case_id, "--status", "awaiting_trial", "--trial-date", trial.isoformat(),
        "--as", POLICE,
    )  # fmt: skip
    assert update.code == 0, update.err
    checked = await amvp(
        capsys, "enforcement", "check", "--person", "HO-7781203", "--reason", "Planned visit to the address",
        "--as", "enforcement:ENF-3",
    )  # fmt: skip
    assert checked.code == 3, checked.err

    monkeypatch.setattr(render, "out", Console(width=80))
    text = await amvp(capsys, "case", "show", case_id)

    assert text.code == 0, text.err
    lines = [line.rstrip() for line in text.out.splitlines()]
    assert all(len(line) <= 80 for line in lines)
    assert f"  police     investigation awaiting trial; trial date {trial.isoformat()}" in lines
    ends = (trial + timedelta(days=14)).isoformat()
    assert any(
        line.startswith("  clock      foreign witness from ") and f"until {ends}" in line for line in lines
    )
    assert "  calendar   England and Wales bank holidays; contact counted in calendar days" in lines
    assert any(line.startswith("  task       #") and "enforcement check refused for officer:NCCU-0042" in line
               for line in lines)  # fmt: skip
    assert any(line.startswith("  check      ") for line in lines)
    flat = " ".join(text.out.split())  # a long reason wraps under itself
    assert "refused for enforcement:ENF-3: Planned visit to the address" in flat
    assert any(line.startswith("  referrer   ") for line in lines)
    assert any(line.startswith("  crime ref  ") for line in lines)

    case = await shown(capsys, case_id)
    assert case["investigation"] == "awaiting_trial" and case["trial_date"] == trial.isoformat()
    assert [c["route"] for c in case["route_clocks"]] == ["foreign_witness"]
    assert case["route_clocks"][0]["ends_at"].startswith(ends)
    assert (case["division"], case["working_days"]) == ("england-and-wales", False)
    assert "enforcement_check_refused" in [t["kind"] for t in case["open_tasks"]]
    [check] = case["enforcement_checks"]
    assert (check["verdict"], check["why"], check["actor"]) == (
        "refused",
        "Planned visit to the address",
        "enforcement:ENF-3",
    )

    police = await amvp(capsys, "case", "show", case_id, "--json", "--as", POLICE)
    seen = json.loads(police.out)
    assert seen["trial_date"] == trial.isoformat()  # police gave it
    assert "enforcement_checks" not in seen and "open_tasks" not in seen
