"""`mvp retention purge`: a supervisor runs the retention workflow now, through the API, and reads its report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session, col

from models.case import Withdrawal
from models.tables import CaseRow, RetentionRunRow
from protocol.policy import policy
from tests.conftest import Running
from tests.support.cli import mvp, start_example_case
from tests.support.intake import OFFICER
from usecases import cases

SUPERVISOR = "supervisor:SUP-7"


async def test_a_supervisor_purges_now_through_the_api_and_reads_what_was_done(running: Running) -> None:
    case_id = await start_example_case(running)
    assert await cases.wait_until_open(running.client, case_id) is not None
    await cases.send(
        running.client,
        case_id,
        Withdrawal(actor=OFFICER, reason="Referral made in error.", made_in_error=True),
    )
    handle = running.client.get_workflow_handle(case_id)
    await running.env.fast_forward(handle, policy().reopen_window)
    await handle.result()
    with Session(running.engine) as session, session.begin():  # as if it had closed three years ago
        session.execute(
            update(CaseRow)
            .where(col(CaseRow.case_id) == case_id)
            .values(closed_at=datetime.now(UTC) - timedelta(days=3 * 365))
        )

    dry = await mvp(running, "retention", "purge", "--dry-run", "--json", actor=SUPERVISOR)
    assert dry.returncode == 0, dry.stderr
    assert [c["case_id"] for c in json.loads(dry.stdout)["due"]] == [case_id]
    with Session(running.engine) as session:
        assert session.execute(select(RetentionRunRow)).first() is None  # a dry run changes nothing

    purged = await mvp(running, "retention", "purge", actor=SUPERVISOR)

    assert purged.returncode == 0, purged.stderr
    assert "Purged 1 case(s)" in purged.stdout and case_id in purged.stdout
    with Session(running.engine) as session:
        row = session.get(CaseRow, case_id)
        assert row is not None and row.purged_at is not None and row.referral_sealed is None
        [run] = session.execute(select(RetentionRunRow)).scalars().all()
        assert (run.trigger, run.actor, run.purged) == ("supervisor", SUPERVISOR, 1)
