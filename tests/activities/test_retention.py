"""Retention: closed cases lose their personal data after the policy's period; open cases never do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session, col

from activities.retention import due_for_purge, purge_case
from infra.errors import Refused
from models.case import Withdrawal
from models.tables import CaseRow, HoldRow, OutboxRow
from protocol.policy import policy
from tests.conftest import Running
from tests.support.intake import OFFICER, example_referral, load_example_records, open_case
from usecases import cases
from usecases.audit import verify


async def test_purge_removes_personal_data_of_long_closed_cases_only(running: Running) -> None:
    load_example_records(running)
    queue = running.settings.task_queue
    closed = await cases.start_referral(
        running.client, running.keys, queue, example_referral("referral-domestic-abuse.json"), OFFICER
    )
    still_open = await cases.start_referral(
        running.client,
        running.keys,
        queue,
        example_referral("referral-domestic-abuse.json").model_copy(
            update={"crime_reference": "WMP/26/11/99999", "referral_id": "NCCU-2026-099999"}
        ),
        OFFICER,
    )
    for case_id in (closed, still_open):
        assert await cases.wait_until_open(running.client, case_id) is not None
    await cases.send(
        running.client,
        closed,
        Withdrawal(actor=OFFICER, reason="Referral made in error.", made_in_error=True),
    )
    handle = running.client.get_workflow_handle(closed)
    await running.env.fast_forward(handle, policy().reopen_window)  # a closed case may be reopened till then
    await handle.result()

    with Session(running.engine) as session:
        row = session.get(CaseRow, closed)
        assert row is not None and row.closed_at is not None and row.referral_sealed is not None
        closed_at = row.closed_at
    retention = policy(row.policy_version).retention_after_closure

    assert due_for_purge(running.engine, closed_at + retention - timedelta(seconds=1)) == []
    later = closed_at + retention + timedelta(days=1)
    due = due_for_purge(running.engine, later)
    assert [r.case_id for r in due] == [closed]

    purged = purge_case(running.engine, running.keys, due[0], later, "supervisor:SUP-7")
    assert purged.holds_removed == 2  # the person and her dependant
    await cases.delete_histories(running.client, [closed])  # accepted; the server deletes in its own time

    with Session(running.engine) as session:
        gone = session.get(CaseRow, closed)
        kept = session.get(CaseRow, still_open)
        assert gone is not None and gone.referral_sealed is None and gone.purged_at == later
        assert gone.outcome == "withdrawn" and gone.status_at_referral == "no_status"  # statistics stay
        assert kept is not None and kept.referral_sealed is not None and kept.purged_at is None
        assert session.execute(select(HoldRow).where(col(HoldRow.case_id) == closed)).first() is None
        assert session.execute(select(HoldRow).where(col(HoldRow.case_id) == still_open)).first() is not None
        addresses = session.execute(
            select(col(OutboxRow.address_sealed)).where(col(OutboxRow.case_id) == closed)
        )
        assert all(a is None for (a,) in addresses)
    report = verify(running.engine, closed)[0]
    assert report.intact  # the purge is itself recorded, in the chain
    assert due_for_purge(running.engine, later) == []  # purged once


async def test_an_open_case_history_is_never_deleted(running: Running) -> None:
    case_id = await open_case(running)

    with pytest.raises(Refused, match="still running"):
        await cases.delete_histories(running.client, [case_id])


def test_only_a_supervisor_runs_the_purge() -> None:
    from cli import run

    assert run(["retention", "purge", "--as", "officer:NCCU-1"]) == 3
