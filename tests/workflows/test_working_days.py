"""Contact counted in working days (issue 12), through the real workflow with time skipping: under a policy that
counts working days, a contact due date and its grace period skip weekends and the bank holidays the case
recorded at intake, and the overdue escalation waits for them."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from models.case import Actor, ActorRole, CaseCalendar, ContactRecord, ContactResult, OpenCase
from protocol import workdays
from protocol.policy import policy
from tests.conftest import Running
from tests.support.intake import example_referral, load_example_records
from usecases import cases, readmodel
from workflows.case import ProtocolCaseWorkflow

# MVP_RECORD_HISTORIES=1 records this scenario's history for tests/workflows/test_replay.py.
pytestmark = pytest.mark.record_history

OFFICER = Actor(role=ActorRole.officer, id="NCCU-0042")
WORKING_DAYS = policy("2026.2")


def two_bank_holidays_after(day: date) -> list[date]:
    """Two working days soon after `day` made bank holidays (as Christmas Day and Boxing Day are), so that the
    scenario crosses them whatever day the test runs."""
    first = workdays.add_working_days(day, 3, ())
    return [first, workdays.add_working_days(first, 1, ())]


async def test_a_contact_due_in_working_days_skips_the_bank_holidays_and_is_escalated_only_after_them(
    running: Running,
) -> None:
    load_example_records(running)
    referral = example_referral("referral-domestic-abuse.json")
    case_id = cases.case_id_for(running.keys, referral)
    today = datetime.now(UTC).date()  # each case's virtual clock starts now
    holidays = two_bank_holidays_after(today)
    start = OpenCase(
        case_id=case_id,
        referral=referral,
        opened_by=OFFICER,
        policy_version=WORKING_DAYS.version,
        calendar=CaseCalendar(division=workdays.division_of(referral.force_code), holidays=holidays),
    )
    await running.client.start_workflow(
        ProtocolCaseWorkflow.run, start, id=case_id, task_queue=running.settings.task_queue
    )
    opened = await cases.wait_until_open(running.client, case_id)
    assert opened is not None and (opened.division, opened.working_days) == ("england-and-wales", True)

    sent = await cases.send(
        running.client, case_id, ContactRecord(actor=OFFICER, result=ContactResult.reached)
    )
    [contact] = [e for e in readmodel.case_record(running.engine, case_id) if e.action == "contact_recorded"]
    reached_at = contact.at
    due = sent.view.next_contact_due
    assert due is not None
    assert due == workdays.after(reached_at, WORKING_DAYS.contact_interval, holidays)
    assert due.date() not in holidays and due.weekday() < 5
    assert due - reached_at >= timedelta(days=20 + 2)  # twenty working days, and the two holidays skipped
    overdue_at = workdays.after(due, WORKING_DAYS.contact_grace, holidays)

    handle = running.client.get_workflow_handle(case_id)
    # by calendar days it would be overdue 25 days after the contact; in working days it is not
    assert await asyncio.wait_for(running.env.fast_forward(handle, timedelta(days=26)), timeout=60)
    assert not readmodel.get_case(running.engine, case_id).contact_overdue
    escalations = [
        e for e in readmodel.case_record(running.engine, case_id) if e.action == "contact_overdue_escalated"
    ]
    assert escalations == []

    remaining = overdue_at - await running.env.get_current_time(handle) + timedelta(hours=1)
    assert await asyncio.wait_for(running.env.fast_forward(handle, remaining), timeout=60)
    row = readmodel.get_case(running.engine, case_id)
    assert row.contact_overdue and row.overdue_since == overdue_at and row.hold_active
    [escalated] = [
        e for e in readmodel.case_record(running.engine, case_id) if e.action == "contact_overdue_escalated"
    ]
    # the timer waited for the working days, bank holidays skipped (it fires a moment after it is due)
    assert overdue_at <= escalated.at < overdue_at + timedelta(minutes=1)
