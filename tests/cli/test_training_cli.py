"""`mvp training advance` through the case API on a stack in training mode (issue 12, "A training clock"): a
supervisor moves one case's clock forward to rehearse overdue escalation, pre-decision engagement and release;
every screen says TRAINING; a stack not in training mode has no such route, and a case not started in training
mode refuses it itself."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session, col
from temporalio.client import WorkflowUpdateFailedError

from infra.settings import Settings
from models.case import Actor, ActorRole, TrainingAdvance
from models.tables import AccessRow
from tests.conftest import Running
from tests.support.inprocess import amvp, point_cli_at
from tests.support.inprocess import start_example_case as start_case
from usecases.readmodel import case_record

OFFICER = "officer:NCCU-0042"
SUPERVISOR = "supervisor:NCCU-SUP-7"
POLICE = "police:WMP-4471:WMP"
BANNER = "TRAINING"


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The test's stack in training mode (a test parametrized with False: the normal stack)."""
    return settings.model_copy(update={"training": getattr(request, "param", True)})


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, running: Running, tmp_path: Path) -> None:
    point_cli_at(monkeypatch, running.api_url, running.issuer_url, tmp_path, actor=OFFICER)


def actions(running: Running, case_id: str) -> list[str]:
    return [row.action for row in case_record(running.engine, case_id)]


async def test_advancing_a_training_case_30_days_makes_its_contact_overdue_and_a_supervisors_task(
    cli_env: None, running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = await start_case(capsys)
    before = json.loads((await amvp(capsys, "case", "show", case_id, "--json")).out)
    assert before["mode"] == "training" and before["contact_overdue"] is False

    moved = await amvp(capsys, "training", "advance", case_id, "30d", "--as", SUPERVISOR)
    assert moved.code == 0, moved.err
    assert moved.out.splitlines()[0].strip().startswith(BANNER)
    assert "clock moved forward 30 days (training)" in moved.out

    shown = await amvp(capsys, "case", "show", case_id)
    assert shown.out.splitlines()[0].strip().startswith(BANNER) and "overdue" in shown.out
    tasks = await amvp(capsys, "tasks", "--json", "--as", SUPERVISOR)
    assert tasks.code == 0, tasks.err
    assert BANNER in tasks.err  # JSON: the line goes to stderr, stdout stays one document
    assert any(t["case_id"] == case_id and t["kind"] == "contact_overdue" for t in json.loads(tasks.out))
    trail = actions(running, case_id)
    assert trail.index("training_clock_advanced") < trail.index("contact_overdue_escalated")


async def test_advancing_past_the_last_ground_engages_the_person_and_past_the_notice_asks_for_release(
    cli_env: None, running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = await start_case(capsys)
    leave = await amvp(
        capsys, "officer", "route", case_id, "--route", "domestic_abuse_concession", "--days", "91"
    )
    assert leave.code == 0, leave.err
    ended = await amvp(capsys, "police", "update", case_id, "--status", "no_further_action", "--as", POLICE)
    assert ended.code == 0, ended.err
    held = json.loads((await amvp(capsys, "case", "show", case_id, "--json")).out)
    assert held["phase"] == "protection"  # the concession's clock is the last ground

    ran_out = await amvp(capsys, "training", "advance", case_id, "13w", "--json", "--as", SUPERVISOR)
    assert ran_out.code == 0, ran_out.err
    assert json.loads(ran_out.out)["view"]["phase"] == "engagement"
    trail = actions(running, case_id)
    assert trail[trail.index("training_clock_advanced") :][1:3] == ["route_clock_ended", "engagement_started"]

    early = await amvp(capsys, "training", "advance", case_id, "27d", "--json", "--as", SUPERVISOR)
    assert early.code == 0, early.err
    assert json.loads(early.out)["view"]["phase"] == "engagement"  # the 28-day notice period still runs
    past = await amvp(capsys, "training", "advance", case_id, "2d", "--json", "--as", SUPERVISOR)
    answer = json.loads(past.out)
    assert answer["mode"] == "training" and answer["view"]["phase"] == "awaiting_release"
    assert answer["view"]["pending_decisions"] == ["release"]

    released = await amvp(
        capsys, "supervisor", "release", case_id, "--reason", "rehearsal: no new grounds", "--as", SUPERVISOR
    )
    assert released.code == 0, released.err
    assert released.out.splitlines()[0].strip().startswith(BANNER) and "hold released" in released.out
    closed = await amvp(capsys, "training", "advance", case_id, "1d", "--as", SUPERVISOR)
    assert closed.code == 3 and "the case is closed" in closed.err


async def test_only_a_supervisor_moves_the_clock_and_bad_durations_are_refused_with_a_sentence(
    cli_env: None, running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = await start_case(capsys)
    for actor in (OFFICER, POLICE):
        refused = await amvp(capsys, "training", "advance", case_id, "30d", "--as", actor)
        assert refused.code == 3 and "only a supervisor moves a training case's clock" in refused.err
        assert refused.err.lstrip().startswith(BANNER)  # errors are screens too
    for duration, sentence in [
        ("30x", "is not a duration: give a whole number and a unit"),
        ("-3d", "is not a duration"),
        ("thirty days", "is not a duration"),
        ("0d", "must move the clock forward"),
        ("401d", "at most 400 days at a time"),
        ("60w", "at most 400 days at a time (60w is 420 days)"),
    ]:
        bad = await amvp(capsys, "training", "advance", "--as", SUPERVISOR, "--", case_id, duration)
        assert bad.code == 2, (duration, bad.err)
        assert sentence in bad.err and "Traceback" not in bad.err + bad.out
    assert "training_clock_advanced" not in actions(running, case_id)
    with Session(running.engine) as session:
        refusals = session.execute(
            select(col(AccessRow.actor)).where(
                col(AccessRow.action) == "advance", col(AccessRow.case_id) == case_id
            )
        ).scalars()
        assert sorted(refusals) == sorted([OFFICER, POLICE])  # each refusal recorded under who asked
    view = json.loads((await amvp(capsys, "case", "show", case_id, "--json")).out)
    assert view["contact_overdue"] is False  # nothing moved


@pytest.mark.parametrize("settings", [False], indirect=True)
async def test_a_stack_not_in_training_mode_has_no_training_clock_and_no_banner(
    cli_env: None, running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = await start_case(capsys)
    refused = await amvp(capsys, "training", "advance", case_id, "30d", "--as", SUPERVISOR)
    assert refused.code == 4 and "Training mode is off on this service" in refused.err
    shown = await amvp(capsys, "case", "show", case_id, "--json")
    assert BANNER not in shown.out + shown.err and "mode" not in json.loads(shown.out)

    # and the case itself refuses, whoever reaches its workflow: it was not started in training mode
    supervisor = Actor(role=ActorRole.supervisor, id="NCCU-SUP-7")
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await running.client.get_workflow_handle(case_id).execute_update(
            "training_advance", TrainingAdvance(actor=supervisor, by=timedelta(days=30))
        )
    assert "not started in training mode" in str(failed.value.cause)
    assert "training_clock_advanced" not in actions(running, case_id)
