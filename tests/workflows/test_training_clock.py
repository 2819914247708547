"""The case workflow's training clock (README "Training mode"): a case started in training mode reads its time as
`workflow.now()` plus an offset that `training_advance` moves forward; everything it records carries that time,
and the offset is part of what a continued run starts from.

MVP_RECORD_HISTORIES=1 records the rehearsal's history for tests/workflows/test_replay.py, so that the update and
the moved clock are replayed with every later change to the workflow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.case import (
    Actor,
    ActorRole,
    InvestigationStatus,
    OpenCase,
    Phase,
    PoliceUpdate,
    ReleaseDecision,
    TrainingAdvance,
)
from protocol import lifecycle
from protocol.policy import CURRENT_VERSION, policy
from protocol.screening import screen
from tests.conftest import Running
from tests.support.cases import opened_case_with_notices
from tests.support.intake import OFFICER, example_referral, load_example_records
from usecases import cases
from usecases.readmodel import case_record
from workflows.case import ProtocolCaseWorkflow

pytestmark = pytest.mark.record_history

POLICE = Actor(role=ActorRole.police, id="WMP-4471", force="WMP")
SUPERVISOR = Actor(role=ActorRole.supervisor, id="SUP-7")


def advance(by: timedelta) -> TrainingAdvance:
    return TrainingAdvance(actor=SUPERVISOR, by=by)


def recorded_at(running: Running, case_id: str) -> dict[str, datetime]:
    """When each action of the case's record was last taken, as the record says."""
    return {row.action: row.at for row in case_record(running.engine, case_id)}


async def test_a_training_case_rehearses_overdue_contact_engagement_and_release_on_its_own_clock(
    running: Running,
) -> None:
    load_example_records(running)
    real_start = datetime.now(UTC)
    case_id, opened = await cases.start_and_acknowledge(
        running.client,
        running.keys,
        running.settings.task_queue,
        example_referral("referral-domestic-abuse.json"),
        OFFICER,
        engine=running.engine,
        training=True,
    )
    assert opened is not None and not opened.contact_overdue

    overdue = await cases.update(running.client, case_id, "training_advance", advance(timedelta(days=30)))
    assert overdue.view.contact_overdue and overdue.view.overdue_since is not None
    ended = await cases.send(
        running.client,
        case_id,
        PoliceUpdate(actor=POLICE, investigation=InvestigationStatus.no_further_action),
    )
    assert ended.view.phase is Phase.engagement
    waited = await cases.update(running.client, case_id, "training_advance", advance(timedelta(days=29)))
    assert waited.view.phase is Phase.awaiting_release
    released = await cases.send(
        running.client, case_id, ReleaseDecision(actor=SUPERVISOR, reason="rehearsal: no new grounds came")
    )
    assert released.view.phase is Phase.closed and released.view.closed_at is not None

    # what the case recorded carries its training time: 59 days on, not the few seconds this test took
    assert released.view.closed_at - real_start > timedelta(days=59)
    at = recorded_at(running, case_id)
    assert at["contact_overdue_escalated"] - at["hold_placed"] >= timedelta(days=30)
    assert at["release_decision_required"] - at["engagement_started"] >= timedelta(days=28)


async def test_a_continued_run_keeps_the_training_flag_and_the_moved_clock(running: Running) -> None:
    """What `continue_as_new` hands on: the state, the training flag and the offset (an offset of 30 days makes
    the first contact overdue at once; the flag lets the clock move again)."""
    now, referral = datetime.now(UTC), example_referral("referral-domestic-abuse.json")
    case_id = opened_case_with_notices(
        running.engine, running.keys, "MVP-TRAIN-CAN01", referral, OFFICER, now
    )
    rules = policy(CURRENT_VERSION)
    opened = lifecycle.open_case(case_id, referral, OFFICER, now, rules)
    state = lifecycle.screened(
        opened.state, screen(None, None, now, rules), [], now, rules
    ).state  # as stored
    continued = OpenCase(case_id=state.case_id, state=state, training=True, clock_offset=timedelta(days=30))
    handle = await running.client.start_workflow(
        ProtocolCaseWorkflow.run, continued, id=state.case_id, task_queue=running.settings.task_queue
    )
    view = await handle.query(ProtocolCaseWorkflow.state)
    assert view.contact_overdue
    moved = await cases.update(running.client, state.case_id, "training_advance", advance(timedelta(days=1)))
    assert moved.accepted == "clock moved forward 1 day (training)"
