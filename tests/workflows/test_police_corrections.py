"""A police correction through the real workflow (issue 12): a correction that ends the last ground never lifts the
hold; the case goes through pre-decision engagement and only a supervisor's release ends it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from models.case import (
    Actor,
    ActorRole,
    Ground,
    InvestigationStatus,
    Outcome,
    Phase,
    PoliceCorrection,
    PoliceNote,
    PoliceUpdate,
    ReleaseDecision,
)
from tests.conftest import Running
from tests.support.intake import example_referral
from usecases import cases, readmodel

# MVP_RECORD_HISTORIES=1 records this scenario's history for tests/workflows/test_replay.py.
pytestmark = pytest.mark.record_history

OFFICER = Actor(role=ActorRole.officer, id="NCCU-0042")
POLICE = Actor(role=ActorRole.police, id="WMP-4471", force="WMP")
SUPERVISOR = Actor(role=ActorRole.supervisor, id="SUP-7")


async def test_a_correction_that_ends_the_last_ground_leads_to_engagement_and_only_a_supervisor_releases(
    running: Running,
) -> None:
    referral = example_referral("referral-domestic-abuse.json")  # no Home Office record: status unknown
    case_id = await cases.start_referral(
        running.client, running.keys, running.settings.task_queue, referral, OFFICER
    )
    opened = await cases.wait_until_open(running.client, case_id)
    assert opened is not None and opened.hold.grounds == [Ground.investigation_live]

    await cases.send(
        running.client, case_id, PoliceUpdate(actor=POLICE, investigation=InvestigationStatus.charged)
    )
    await cases.send(
        running.client, case_id, PoliceNote(actor=POLICE, text="Charge was entered on our system")
    )
    corrected = await cases.send(
        running.client,
        case_id,
        PoliceCorrection(
            actor=POLICE,
            investigation=InvestigationStatus.no_further_action,
            reason="Charged was the wrong case",
        ),
    )

    view = corrected.view
    assert view.phase is Phase.engagement and view.hold.active and view.outcome is None
    assert view.hold.grounds == [Ground.engagement_notice]
    entries = readmodel.case_record(running.engine, case_id)
    [update] = [e for e in entries if e.action == "police_update"]
    [correction] = [e for e in entries if e.action == "police_status_corrected"]
    assert correction.summary.startswith(f"corrects entry {update.seq}: investigation charged")
    kinds = [n.kind for n in readmodel.case_notices(running.engine, case_id) if n.recipient == "case_officer"]
    assert {"police_correction", "police_note"} <= set(kinds)

    handle = running.client.get_workflow_handle(case_id)
    assert await asyncio.wait_for(running.env.fast_forward(handle, timedelta(days=29)), timeout=60)
    waiting = await cases.state(running.client, case_id)
    assert waiting.phase is Phase.awaiting_release and waiting.hold.active

    released = await cases.send(
        running.client, case_id, ReleaseDecision(actor=SUPERVISOR, reason="No ground after the correction")
    )
    assert released.view.outcome is Outcome.hold_released and not released.view.hold.active
