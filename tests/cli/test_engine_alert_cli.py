"""A case whose workflow was ended outside the service is an alert to supervisors in `mvp cases list` and
`mvp case show`, not a protected case that quietly no longer runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from activities.watch import Lost
from tests.conftest import Running
from tests.support.inprocess import amvp, point_cli_at
from tests.support.intake import open_case
from worker import build_watcher

TERMINATED = "the case's workflow was terminated outside the service"


async def test_cases_list_shows_a_lost_workflow_as_an_alert_before_the_other_open_cases(
    running: Running, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fine = await open_case(running)
    lost = await open_case(
        running, "referral-trafficking.json"
    )  # referred after `fine`: listed after it today
    await running.client.get_workflow_handle(lost).terminate(reason="test")
    watcher = build_watcher(
        running.settings.model_copy(update={"watch_grace": 0}), running.client, running.engine, running.keys
    )
    assert await watcher.check_once() == [Lost(lost, TERMINATED)]
    point_cli_at(monkeypatch, running.api_url, running.issuer_url, tmp_path)

    listed = await amvp(capsys, "cases", "list")
    assert listed.code == 0, listed.err
    lines = [line for line in listed.out.splitlines() if fine in line or lost in line]
    assert len(lines) == 2
    assert lost in lines[0] and "ALERT: workflow lost" in lines[0] and "in force" in lines[0]
    assert fine in lines[1] and "ALERT" not in lines[1]

    as_json = await amvp(capsys, "cases", "list", "--json")
    rows = {r["case_id"]: r for r in json.loads(as_json.out)}
    assert rows[lost]["engine_alert"] == TERMINATED and rows[lost]["phase"] != "closed"  # codes, not words
    assert rows[lost]["hold"] is True
    assert rows[fine]["engine_alert"] is None

    shown = await amvp(capsys, "case", "show", lost)
    assert shown.code == 0, shown.err
    assert "ALERT" in shown.out and TERMINATED in shown.out and "hold stays in force" in shown.out
    detail = json.loads((await amvp(capsys, "case", "show", lost, "--json")).out)
    assert detail["engine_alert"] == TERMINATED and detail["engine_alert_at"]
