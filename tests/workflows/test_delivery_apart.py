"""Commands answer when the step is saved: delivery runs apart from the workflow (the worker's dispatcher), so
a slow provider never delays a command, and a closed case's workflow ends at once while its notices still
wait in the outbox. Real Temporal, real Postgres, the real dispatcher and the Notify double."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from models.case import ContactRecord, ContactResult, Withdrawal
from models.tables import OutboxRow
from protocol.policy import policy
from tests.conftest import Running
from tests.support.intake import OFFICER, example_referral
from tests.support.notify import dispatcher
from tests.support.notify_double import NotifyDouble
from usecases import cases


async def test_a_commands_latency_is_unaffected_by_a_slow_provider_and_a_closed_case_ends_at_once(
    running: Running,
) -> None:
    with NotifyDouble() as notify:
        notify.delay = 3.0  # every send takes 3 s, longer than the 1 s timeout
        delivery = dispatcher(running.engine, running.keys, notify, timeout=1.0, lease=timedelta(seconds=5))
        thread, stop = delivery.start()
        try:
            case_id = await cases.start_referral(
                running.client,
                running.keys,
                running.settings.task_queue,
                example_referral("referral-domestic-abuse.json"),
                OFFICER,
            )
            assert await cases.wait_until_open(running.client, case_id) is not None

            started = time.monotonic()
            await cases.send(
                running.client, case_id, ContactRecord(actor=OFFICER, result=ContactResult.reached)
            )
            latency = time.monotonic() - started
            print(f"\n`officer contact` answered in {latency:.3f} s with a provider taking 3 s per notice")
            assert latency < 2.0

            notify.outage = True  # the outcome notices cannot go out now
            await cases.send(
                running.client,
                case_id,
                Withdrawal(actor=OFFICER, reason="Referral made in error.", made_in_error=True),
            )
            handle = running.client.get_workflow_handle(case_id)
            # closed, the run waits only for the reopen window (no notice keeps it), then ends
            await running.env.fast_forward(handle, policy().reopen_window)
            view = await asyncio.wait_for(handle.result(), timeout=10)
            assert view["phase"] == "closed"
            with Session(running.engine) as session:
                outcome = (
                    session.execute(
                        select(OutboxRow).where(
                            col(OutboxRow.case_id) == case_id, col(OutboxRow.kind) == "outcome"
                        )
                    )
                    .scalars()
                    .all()
                )
            # the outcome notices were queued; the case's run ended whatever their delivery (the dispatcher,
            # not the workflow, delivers them, even while the provider is down)
            assert outcome and notify.outage
        finally:
            stop.set()
            await asyncio.to_thread(thread.join)
