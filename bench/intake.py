"""Intake benchmark (issue 14): referrals through the case API, beside a baseline workflow on the same server.

    .venv/bin/python bench/intake.py [--n 1000] [--rate 10] [--in-flight 20 50]

Starts its own Postgres, Temporal dev server, worker (in this process), development issuer and API on free
loopback ports; sends N distinct referrals (built from examples/referral-domestic-abuse.json) to
`POST /referrals` with a development token, at full speed with each `--in-flight` number in flight and at a
steady `--rate` per second; then N baseline workflows (one no-op activity) on the same server, the same way.
Latency is from request to acknowledgement (the API answers once the case is opened, screened, the hold placed
and the notices in the outbox). Prints the figures and writes them under bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import math
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import psutil  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402
from temporalio import activity, workflow  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from bench.common import (  # noqa: E402
    EXAMPLES,
    ROOT,
    Stack,
    cpu_seconds,
    percentiles,
    processes_named,
    stack,
    tmpdir,
    write_results,
)
from infra.codec import data_converter  # noqa: E402
from infra.db import engine_for  # noqa: E402
from infra.settings import Settings  # noqa: E402
from tests.support.api import free_port  # noqa: E402


@activity.defn(name="bench_noop")
def noop(_: str) -> str:
    return "ok"


@workflow.defn(name="BenchBaseline", sandboxed=False)  # defined in __main__: the sandbox cannot re-import it
class Baseline:
    @workflow.run
    async def run(self, arg: str) -> str:
        return str(await workflow.execute_activity(noop, arg, start_to_close_timeout=timedelta(seconds=30)))


API_PROCESS = """
import sys, uvicorn
from api.app import create_app
from infra.settings import Settings
uvicorn.run(create_app(Settings()), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@contextmanager
def api_process(settings: Settings) -> Iterator[tuple[str, psutil.Process]]:
    """The case API in a process of its own, as deployed (`mvp api`), with the stack's settings as MVP_ variables;
    yields its URL and the process (for its CPU). Nothing of the shell's own settings reaches it (a developer's
    DATABASE_URL or MVP_TRAINING would point it elsewhere), as `tests/support/worker_process.worker_env` keeps them
    from a worker."""
    shell_settings = ("DATABASE_URL", "TEMPORAL_ADDRESS")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MVP_") and k not in shell_settings}
    for name, value in settings.model_dump(exclude_unset=True).items():
        if value is None:
            continue
        plain = value.get_secret_value() if isinstance(value, SecretStr) else value
        simple = isinstance(plain, (str, Path, int, float))
        env[f"MVP_{name.upper()}"] = str(plain) if simple else json.dumps(plain, default=str)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", API_PROCESS, str(port)], env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the API process did not start")
            time.sleep(0.2)
        yield url, psutil.Process(proc.pid)
    finally:
        proc.terminate()
        proc.wait(20)


def referral(n: int, run: str) -> dict[str, Any]:
    """The example referral made distinct: its own referral id, crime reference, Home Office reference and
    (synthetic) name, so no two are duplicates or possible duplicates."""
    body = copy.deepcopy(json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text()))
    body["referral_id"] = f"NCCU-2026-{run}{n:05d}"
    body["crime_reference"] = f"WMP/26/{run}/{n:05d}"
    person = body["person"]
    person["home_office_ref"] = f"HO-{9000000 + n}"
    letters = "".join(chr(ord("a") + int(d)) for d in f"{n:05d}")
    person["family_name"] = f"Bench{letters}"
    person["given_names"] = f"Test{run}"
    return {"referral": body}


async def bearer(http: httpx.AsyncClient, issuer: str, actor: str) -> dict[str, str]:
    """A development token from the issuer, as a header."""
    minted = await http.post(f"{issuer}/dev/token", json={"actor": actor})
    minted.raise_for_status()
    return {"Authorization": f"Bearer {minted.json()['access_token']}"}


async def send(http: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict[str, Any]) -> float:
    """Seconds from request to acknowledgement; NaN when the API answered without one (screening still
    pending when its wait ran out, or an error), so a phase that cannot keep up is counted, not aborted."""
    began = time.perf_counter()
    try:
        answer = await http.post(f"{url}/referrals", json=body, headers=headers)
    except httpx.HTTPError:
        return math.nan
    took = time.perf_counter() - began
    if answer.status_code != 201 or answer.json().get("screening_pending"):
        return math.nan
    return took


async def full_speed(n: int, in_flight: int, one: Any) -> tuple[list[float], float]:
    """n calls of `one(i)` with at most `in_flight` at once; latencies and wall time."""
    gate = asyncio.Semaphore(in_flight)

    async def guarded(i: int) -> float:
        async with gate:
            return float(await one(i))

    began = time.perf_counter()
    latencies = await asyncio.gather(*(guarded(i) for i in range(n)))
    return list(latencies), time.perf_counter() - began


async def steady(n: int, rate: float, one: Any) -> tuple[list[float], float]:
    """n calls of `one(i)` started at a steady `rate` per second, whatever is still in flight."""
    began = time.perf_counter()

    async def at(i: int) -> float:
        await asyncio.sleep(max(0.0, began + i / rate - time.perf_counter()))
        return float(await one(i))

    latencies = await asyncio.gather(*(at(i) for i in range(n)))
    return list(latencies), time.perf_counter() - began


async def drained(engine: Engine, cases: int, within: float = 600.0) -> None:
    """Wait until every referral sent so far is a case past screening (the worker has caught up), so that one
    phase's backlog is not counted in the next."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            opened, screening = conn.execute(
                text("SELECT count(*), count(*) FILTER (WHERE phase = 'screening') FROM cases")
            ).one()
        if opened >= cases and screening == 0:
            return
        await asyncio.sleep(0.5)
    print(
        f"(the worker had not caught up within {within:.0f} s: {opened} of {cases} cases, {screening} screening)"
    )


def phase(name: str, n: int, latencies: list[float], wall: float, cpu: dict[str, float]) -> dict[str, Any]:
    acknowledged = [x for x in latencies if not math.isnan(x)]
    figures: dict[str, Any] = {
        "name": name,
        "n": n,
        "not_acknowledged": n - len(acknowledged),
        "wall_s": round(wall, 2),
        "per_s": round(n / wall, 2),
        "latency": percentiles(acknowledged),
        "cpu_ms_per_item": {who: round(seconds * 1000 / n, 1) for who, seconds in cpu.items()},
    }
    lat = figures["latency"]
    print(
        f"{name:<34} {figures['per_s']:>7.2f}/s  p50 {lat['p50_ms']:>8.1f} ms  p95 {lat['p95_ms']:>8.1f} ms"
        f"  p99 {lat['p99_ms']:>8.1f} ms  cpu/item "
        + ", ".join(f"{k} {v} ms" for k, v in figures["cpu_ms_per_item"].items())
        + (f"  NOT acknowledged: {figures['not_acknowledged']}" if figures["not_acknowledged"] else "")
    )
    return figures


class CpuMeter:
    """CPU seconds of this process (API, worker and issuer threads), the Temporal dev server and Postgres."""

    def __init__(self, s: Stack, api: psutil.Process | None = None) -> None:
        self.this = psutil.Process()
        self.api = api
        self.temporal = processes_named(str(Path(sys.executable).parent / "temporal"))
        self.postmaster = processes_named(str(s.data_dir / "pg"))

    def snapshot(self) -> dict[str, float]:
        # Postgres backends come and go with connections: the postmaster's children at this moment
        backends = [child for proc in self.postmaster for child in proc.children(recursive=True)]
        figures = {
            "this process (api+worker)" if self.api is None else "this process (worker+load)": cpu_seconds(
                [self.this]
            ),
            "temporal server": cpu_seconds(self.temporal),
            "postgres": cpu_seconds(self.postmaster + backends),
        }
        if self.api is not None:
            figures["api process"] = cpu_seconds([self.api])
        return figures

    async def measure(self, run: Any) -> tuple[Any, dict[str, float]]:
        before = self.snapshot()
        result = await run
        after = self.snapshot()
        return result, {who: after[who] - before[who] for who in before}


async def bench(n: int, rate: float, in_flight: list[int], own_api_process: bool) -> dict[str, Any]:
    from worker import build_activities, build_dispatcher, make_worker

    with tmpdir("intake") as folder, ExitStack() as apart:
        async with stack(Path(folder), with_api=not own_api_process) as s:
            api: psutil.Process | None = None
            if own_api_process:
                url, api = apart.enter_context(api_process(s.settings))
                s.api_url = url
            engine = engine_for(str(s.settings.database_url))
            config = s.env.client.config()
            config["data_converter"] = data_converter(s.keys.keyring, s.keys.case_keys)
            case_client = Client(**config)
            meter = CpuMeter(s, api)
            with httpx.Client() as sync_http, ThreadPoolExecutor(max_workers=8) as executor:
                activities = build_activities(s.settings, engine, s.keys, sync_http)
                case_worker = make_worker(case_client, s.settings.task_queue, activities, executor)
                baseline_queue = "baseline-" + uuid.uuid4().hex[:8]
                baseline_worker = Worker(
                    s.env.client,
                    task_queue=baseline_queue,
                    workflows=[Baseline],
                    activities=[noop],
                    activity_executor=executor,
                )
                thread, stop = build_dispatcher(s.settings, engine, s.keys).start()
                try:
                    async with case_worker, baseline_worker, httpx.AsyncClient(timeout=120) as http:
                        officer = await bearer(http, s.issuer_url, "officer:NCCU-0042")
                        admin = await bearer(http, s.issuer_url, "records_admin:HO-DATA-1")
                        records = json.loads((EXAMPLES / "records.json").read_text())
                        (
                            await http.post(f"{s.api_url}/records", json=records, headers=admin)
                        ).raise_for_status()
                        await send(
                            http, s.api_url, officer, referral(0, "W")
                        )  # warm-up: imports, pools, caches

                        def referrals(run: str) -> Any:
                            return lambda i: send(http, s.api_url, officer, referral(i + 1, run))

                        async def baseline(i: int) -> float:
                            began = time.perf_counter()
                            await s.env.client.execute_workflow(
                                Baseline.run,
                                str(i),
                                id=f"baseline-{uuid.uuid4().hex}",
                                task_queue=baseline_queue,
                            )
                            return time.perf_counter() - began

                        await baseline(-1)  # warm-up
                        print(
                            f"intake benchmark: {n} referrals a phase, {in_flight} in flight, steady {rate}/s"
                        )
                        intake: dict[str, dict[str, Any]] = {}
                        base: dict[str, dict[str, Any]] = {}
                        # the baseline first: a referral phase that cannot keep up leaves cases still opening
                        # after the API has stopped waiting, and they would run on in the baseline's phases
                        for width in in_flight:
                            (lat, wall), cpu = await meter.measure(full_speed(n, width, baseline))
                            base[f"{width} in flight"] = phase(
                                f"baseline, {width} in flight", n, lat, wall, cpu
                            )
                        (lat, wall), cpu = await meter.measure(steady(n, rate, baseline))
                        base["steady"] = phase(f"baseline, steady {rate}/s", n, lat, wall, cpu)
                        sent = 1
                        for width in in_flight:
                            (lat, wall), cpu = await meter.measure(
                                full_speed(n, width, referrals(f"F{width}"))
                            )
                            intake[f"{width} in flight"] = phase(
                                f"intake, {width} in flight", n, lat, wall, cpu
                            )
                            sent += n
                            await drained(engine, sent)
                        (lat, wall), cpu = await meter.measure(steady(n, rate, referrals("S")))
                        intake["steady"] = phase(f"intake, steady {rate}/s", n, lat, wall, cpu)
                finally:
                    stop.set()
                    thread.join()
                    engine.dispose()
    ratios: dict[str, Any] = {}
    for width in in_flight:
        ours, theirs = intake[f"{width} in flight"], base[f"{width} in flight"]
        ratios[f"{width} in flight"] = {
            "throughput_intake_over_baseline": round(ours["per_s"] / theirs["per_s"], 3),
            "cpu_per_item_intake_over_baseline": {
                who: round(ours["cpu_ms_per_item"][who] / theirs["cpu_ms_per_item"][who], 2)
                for who in ours["cpu_ms_per_item"]
                if theirs["cpu_ms_per_item"][who] > 0
            },
        }
    ratios["steady"] = {
        "p95_intake_over_baseline": round(
            intake["steady"]["latency"]["p95_ms"] / base["steady"]["latency"]["p95_ms"], 1
        ),
        "cpu_per_item_intake_over_baseline": {
            who: round(intake["steady"]["cpu_ms_per_item"][who] / base["steady"]["cpu_ms_per_item"][who], 2)
            for who in intake["steady"]["cpu_ms_per_item"]
            if base["steady"]["cpu_ms_per_item"][who] > 0
        },
    }
    phases = list(intake.values()) + list(base.values())
    print("ratios:", json.dumps(ratios))
    return {
        "benchmark": "intake",
        "n": n,
        "rate": rate,
        "in_flight": in_flight,
        "api": "own process" if own_api_process else "threads of the benchmark process",
        "phases": phases,
        "ratios": ratios,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="referrals (and baseline workflows) a phase")
    parser.add_argument("--rate", type=float, default=10.0, help="steady arrival rate a second")
    parser.add_argument(
        "--in-flight",
        type=int,
        nargs="+",
        default=[20, 50],
        help="requests in flight at full speed, each a phase",
    )
    parser.add_argument(
        "--api-process",
        action="store_true",
        help="run the API in a process of its own, as deployed (default: in threads of this process)",
    )
    args = parser.parse_args()
    if args.n < 1 or args.rate <= 0 or min(args.in_flight) < 1:
        parser.error("--n and --in-flight must be at least 1 and --rate above 0.")
    figures = asyncio.run(bench(args.n, args.rate, args.in_flight, args.api_process))
    print("written:", write_results("intake", figures))


if __name__ == "__main__":
    main()
