"""Temporal is closed to anyone without the keys: a command sent straight to a case's workflow with a plain
(unencrypted) payload, as `temporal workflow update execute` would send it, is rejected before it touches the
case, leaves no plain text in Temporal's history, and does not wedge the workflow: the next proper command is
applied. The client here is a plain Temporal client, with no codec at all."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import Session
from temporalio.api.enums.v1 import PendingWorkflowTaskState
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError

from models.case import Actor, ActorRole, ContactRecord, ContactResult
from models.tables import CaseRow
from tests.conftest import Running
from tests.support.boundary import record_rows
from tests.support.intake import OFFICER, load_example_records, open_case
from usecases import cases

NOTE = "Plain note 7c1f: met at the refuge on Tuesday"  # must never be stored in clear
INJECTED = {
    "decide_exclusion": {
        "actor": {"role": "supervisor", "id": "NOBODY"},
        "kind": "exclusion_decision",
        "verdict": "confirm",
        "reason": NOTE,
    },
    "record_contact": {
        "actor": {"role": "officer", "id": "NCCU-0042"},
        "kind": "contact",
        "result": "reached",
        "support_active": True,
        "note": NOTE,
    },
}


def read_model(running: Running, case_id: str) -> dict[str, object]:
    with Session(running.engine) as session:
        row = session.get(CaseRow, case_id)
        assert row is not None
        return dict(row.view)


@pytest.mark.parametrize("update", sorted(INJECTED))
async def test_an_update_with_an_unencrypted_payload_is_rejected_and_leaves_no_plain_text(
    running: Running, update: str
) -> None:
    load_example_records(running)
    case_id = await open_case(running)
    state_before = read_model(running, case_id)
    record_before = [(r.seq, r.action, r.entry_hash) for r in record_rows(running.engine, case_id)]

    target = running.env.client.service_client.config.target_host
    plain = await Client.connect(target, namespace=running.client.namespace)
    handle = plain.get_workflow_handle(case_id)
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await asyncio.wait_for(handle.execute_update(update, INJECTED[update]), 15)
    assert NOTE not in str(rejected.value.cause)

    assert read_model(running, case_id) == state_before
    assert [(r.seq, r.action, r.entry_hash) for r in record_rows(running.engine, case_id)] == record_before
    described = await handle.describe()
    assert described.status == WorkflowExecutionStatus.RUNNING
    pending = described.raw_description.pending_workflow_task
    assert (
        pending.attempt <= 1
        or pending.state == PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_UNSPECIFIED
    )

    # the workflow keeps working: a proper command, encrypted by the service's client, is applied
    officer = Actor(role=ActorRole.officer, id=OFFICER.id)
    done = await cases.send(
        running.client, case_id, ContactRecord(actor=officer, result=ContactResult.no_answer)
    )
    assert done is not None
    assert len(record_rows(running.engine, case_id)) > len(record_before)

    # Temporal's store, read raw (no codec): the injected text is nowhere in the history
    raw = b"".join([event.SerializeToString() async for event in handle.fetch_history_events()])
    assert raw, "the history was read"
    assert NOTE.encode() not in raw
    assert b"refuge on Tuesday" not in raw
