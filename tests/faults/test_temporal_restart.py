"""Temporal killed (SIGKILL) and started again on the same SQLite store and ports, as the development stack runs
it: open cases continue, a timer that fell due while it was down fires exactly once, and every update accepted
before the kill is in the record. The server is this module's own `temporal server start-dev --db-filename`
(with per-workflow time skipping, so a case's clock can be brought to a few seconds before a due moment); the
worker is `mvp worker` in its own process; Postgres is the test's database."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.testing import TimeSkipper, TimeSkippingConfig

from infra.codec import data_converter
from infra.keys import Keys
from infra.settings import Settings
from models.case import CommandResult, ContactRecord, ContactResult, Phase
from models.registry import COMMANDS
from models.search_attributes import CLI_TYPES
from models.tables import RecordRow
from protocol.policy import policy
from tests.conftest import BIN
from tests.support.api import free_port
from tests.support.intake import OFFICER, example_referral
from tests.support.worker_process import worker_process
from usecases import cases

DOWN_FOR = 8.0  # seconds Temporal is down; the case's escalation falls due in the middle of it
DUE_IN = 4.0  # seconds after the kill at which the escalation falls due
READY_SECONDS = 30.0
FIRES_WITHIN = 60.0
ESCALATED = "contact_overdue_escalated"
CONTACT = COMMANDS["contact"].update


class TemporalServer:
    """`temporal server start-dev` on a SQLite file and fixed loopback ports, killable and restartable."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.store = folder / "temporal.sqlite"
        self.log = folder / "temporal.log"
        self.ui_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            str(BIN / "temporal"),
            *("server", "start-dev", "--headless", "--ip", "127.0.0.1", "--log-level", "warn"),
            *("--db-filename", str(self.store), "--port", str(self.port), "--ui-port", str(self.ui_port)),
            *("--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"),
        ]
        for name, kind in CLI_TYPES.items():
            command += ["--search-attribute", f"{name}={kind}"]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)

    async def ready(self, keys: Keys) -> Client:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            try:
                return await Client.connect(
                    self.address, data_converter=data_converter(keys.keyring, keys.case_keys)
                )
            except RuntimeError:
                assert self.process is not None and self.process.poll() is None, self.log.read_text()
                assert time.monotonic() < deadline, f"Temporal did not start:\n{self.log.read_text()}"
                await asyncio.sleep(0.2)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture
def temporal_server(tmp_path: Path) -> Iterator[TemporalServer]:
    server = TemporalServer(tmp_path)
    server.start()
    yield server
    server.stop()


def _actions(engine: Engine, case_id: str) -> Counter[str]:
    with Session(engine) as session:
        query = select(col(RecordRow.action)).where(col(RecordRow.case_id) == case_id)
        return Counter(session.execute(query).scalars())


async def _until(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {within:.0f} s"
        await asyncio.sleep(0.2)


async def test_temporal_killed_and_restarted_on_its_store_keeps_cases_updates_and_fires_a_missed_timer_once(
    temporal_server: TemporalServer, keys: Keys, settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    skipper = TimeSkipper(await temporal_server.ready(keys), config=TimeSkippingConfig(enabled=False))
    client = skipper.client
    base = example_referral("referral-domestic-abuse.json")
    referrals = [base.model_copy(update={"referral_id": f"NCCU-2026-7{i:05d}"}) for i in range(3)]
    with worker_process(settings, temporal_server.address, tmp_path / "worker.log") as worker:
        case_ids = [
            await cases.start_referral(client, keys, settings.task_queue, r, OFFICER) for r in referrals
        ]
        for case_id in case_ids:  # the workflow's own word: its row is written before screening has finished
            assert await cases.wait_until_open(client, case_id, timedelta(seconds=30)), case_id
        timed, *contacted = case_ids

        async def contact(case_id: str, n: int) -> None:
            """An officer's contact, as an update with its own id (as test_worker_crash.py sends them)."""
            command = ContactRecord(actor=OFFICER, result=ContactResult.no_answer)
            deadline = time.monotonic() + FIRES_WITHIN
            while True:  # the same update id again until it is answered (a restarted worker reconnects)
                try:
                    await client.get_workflow_handle(case_id).execute_update(
                        CONTACT, command, id=f"{case_id}-contact-{n}", result_type=CommandResult
                    )
                    return
                except WorkflowUpdateRPCTimeoutOrCancelledError:
                    assert time.monotonic() < deadline, f"contact {n} on {case_id} was not answered"

        await asyncio.gather(*(contact(c, n) for c in contacted for n in range(3)))
        accepted = {c: _actions(engine, c)["contact_recorded"] for c in contacted}
        assert accepted == dict.fromkeys(contacted, 3)

        # bring the timed case's own clock to DUE_IN seconds before its first overdue contact is escalated
        view = await cases.state(client, timed)
        assert view.next_contact_due is not None and _actions(engine, timed)[ESCALATED] == 0
        escalation = view.next_contact_due + policy(view.policy_version).contact_grace
        handle = client.get_workflow_handle(timed)
        now = await skipper.get_current_time(handle)
        assert await asyncio.wait_for(
            skipper.fast_forward(handle, escalation - now - timedelta(seconds=DUE_IN)), 30
        )

        temporal_server.kill()
        killed_at = time.monotonic()
        await asyncio.sleep(DOWN_FOR)
        assert _actions(engine, timed)[ESCALATED] == 0, "the timer fired with Temporal down"
        temporal_server.start()
        client = TimeSkipper(
            await temporal_server.ready(keys), config=TimeSkippingConfig(enabled=False)
        ).client
        assert time.monotonic() - killed_at > DUE_IN

        await _until(lambda: _actions(engine, timed)[ESCALATED] >= 1, FIRES_WITHIN, "the missed timer firing")
        # every open case goes on: a new contact on each is accepted and recorded once
        await asyncio.gather(*(contact(c, 3) for c in case_ids))
        assert worker.process.poll() is None, "the worker died with Temporal"
        phases = [(await cases.state(client, case_id)).phase for case_id in case_ids]

    assert phases == [Phase.protection] * len(case_ids)
    for case_id in contacted:
        assert _actions(engine, case_id)["contact_recorded"] == 4
    actions = _actions(engine, timed)
    assert actions[ESCALATED] == 1
    assert actions["contact_recorded"] == 1
    for case_id in case_ids:
        assert _actions(engine, case_id)["information_received"] == 1
