"""Long-life benchmark (issue 14): one case through two simulated years, and the worker's memory for open cases.

    .venv/bin/python bench/lifetime.py [--years 2] [--police-updates 50] [--open-cases 1000]
                                       [--suggest-continue-as-new-after EVENTS]

Starts its own Postgres (migrated) and a Temporal dev server with time skipping (as the scenario tests do), and the
worker in this process. One referral (examples/referral-domestic-abuse.json) is opened through the use case the
API calls; the case then lives `--years` of its own virtual time: a contact recorded at each policy interval
(28 days), and `--police-updates` police updates (protective measures reviewed) spread over the period. Measured:
events and bytes of each run of the case's workflow, where continue-as-new fell, the time to replay each run, beside
a trivial workflow's replay; then the worker's resident memory for `--open-cases` open cases cached, beside as many
open trivial workflows. Prints the figures and writes them under bench/results/.

Continue-as-new falls where the server suggests it (`is_continue_as_new_suggested`: by default after 4,096 events
or 4 MiB of history in a production server; `--suggest-continue-as-new-after` lowers the event count, as the
scenario test does, to see it fall within two years).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import secrets
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import psutil  # noqa: E402
from sqlalchemy import text  # noqa: E402
from temporalio import workflow  # noqa: E402
from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.client import Client, WorkflowHistory  # noqa: E402
from temporalio.testing import TimeSkippingConfig, WorkflowEnvironment  # noqa: E402
from temporalio.worker import Replayer, Worker  # noqa: E402

from activities.records import load_records  # noqa: E402
from bench.common import BIN, EXAMPLES, postgres, tmpdir, write_results  # noqa: E402
from infra.casekeys import FileCaseKeys  # noqa: E402
from infra.codec import data_converter  # noqa: E402
from infra.db import engine_for  # noqa: E402
from infra.keys import Keyring, Keys  # noqa: E402
from infra.settings import Settings  # noqa: E402
from models import search_attributes as attrs  # noqa: E402
from models.case import Actor, ActorRole, ContactRecord, ContactResult, PoliceUpdate  # noqa: E402
from protocol.intake import parse_records, parse_referral  # noqa: E402
from protocol.policy import policy  # noqa: E402

OFFICER = Actor(role=ActorRole.officer, id="NCCU-0042")
POLICE = Actor(role=ActorRole.police, id="WMP-4471", force="WMP")
MiB = 2**20


@workflow.defn(name="BenchOpen", sandboxed=False)  # defined in __main__: the sandbox cannot re-import it
class OpenBaseline:
    """The trivial baseline: a workflow that stays open until told to finish."""

    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self, arg: str) -> str:
        await workflow.wait_condition(lambda: self._done)
        return arg

    @workflow.signal
    def finish(self) -> None:
        self._done = True


def example_referral(n: int) -> Any:
    """The example referral made distinct (its own referral id, crime reference and synthetic name)."""
    body = json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text())
    body["referral_id"] = f"NCCU-2026-L{n:06d}"
    body["crime_reference"] = f"WMP/26/L/{n:06d}"
    body["person"]["home_office_ref"] = f"HO-{8000000 + n}"
    body["person"]["family_name"] = "Life" + "".join(chr(ord("a") + int(d)) for d in f"{n:06d}")
    referral, problems = parse_referral(body, datetime.now(UTC))
    assert referral is not None, problems
    return referral


def runs_figures(histories: list[WorkflowHistory]) -> list[dict[str, Any]]:
    """Events and bytes of each run; where a run continued-as-new (its last event)."""
    figures = []
    for n, history in enumerate(histories, start=1):
        events = history.events
        kinds: dict[str, int] = {}
        payload_bytes: dict[str, int] = {}
        for event in events:
            kind = str(event.WhichOneof("attributes") or "?").removesuffix("_event_attributes")
            kinds[kind] = kinds.get(kind, 0) + 1
            payload_bytes[kind] = payload_bytes.get(kind, 0) + event.ByteSize()
        last = events[-1]
        figures.append(
            {
                "run": n,
                "events": len(events),
                "bytes": sum(e.ByteSize() for e in events),
                "json_bytes": len(history.to_json()),
                "continued_as_new": last.event_type
                == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
                "first_event_at": events[0].event_time.ToDatetime(UTC).isoformat(),
                "last_event_at": last.event_time.ToDatetime(UTC).isoformat(),
                "events_by_kind": dict(sorted(kinds.items(), key=lambda kv: -kv[1])),
                "bytes_by_kind": dict(sorted(payload_bytes.items(), key=lambda kv: -kv[1])),
            }
        )
    return figures


async def replay_seconds(replayer: Replayer, history: WorkflowHistory, times: int = 3) -> float:
    """The fastest of `times` replays of one history, in seconds."""
    best = float("inf")
    for _ in range(times):
        began = time.perf_counter()
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        best = min(best, time.perf_counter() - began)
        assert result.replay_failure is None, result.replay_failure
    return best


def rss_mib() -> float:
    gc.collect()
    return float(psutil.Process().memory_info().rss) / MiB


async def bench(
    years: int, police_updates: int, open_cases: int, suggest_after: int | None
) -> dict[str, Any]:
    from worker import build_activities, build_dispatcher, make_worker

    keyring = Keyring(current_id="bench-1", keys={"bench-1": secrets.token_bytes(32)})
    with tmpdir("lifetime") as folder, postgres(Path(folder)) as url:
        keys = Keys(
            keyring=keyring,
            identity_key=secrets.token_bytes(32),
            codec_token="bench-token",
            case_keys=FileCaseKeys(Path(folder) / "case-keys", keyring),
        )
        settings = Settings(
            env="test",
            data_dir=Path(folder),
            database_url=url,
            task_queue="lifetime-" + uuid.uuid4().hex[:8],
            encryption_keys=f"bench-1:{base64.b64encode(keyring.keys['bench-1']).decode()}",
            identity_key=base64.b64encode(keys.identity_key).decode(),
        )
        extra = ["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"]
        if suggest_after is not None:
            extra += ["--dynamic-config-value", f"limit.historyCount.suggestContinueAsNew={suggest_after}"]
        env = await WorkflowEnvironment.start_time_skipping_v2(
            ts_config=TimeSkippingConfig(enabled=False),
            dev_server_existing_path=str(BIN / "temporal"),
            dev_server_extra_args=extra,
            search_attributes=attrs.ALL,
        )
        engine = engine_for(url)
        try:
            config = env.client.config()
            config["data_converter"] = data_converter(keys.keyring, keys.case_keys)
            client = Client(**config)
            records, problems = parse_records(
                json.loads((EXAMPLES / "records.json").read_text()), datetime.now(UTC)
            )
            assert records is not None, problems
            load_records(engine, records)
            with httpx.Client() as http, ThreadPoolExecutor(max_workers=8) as executor:
                worker = make_worker(
                    client, settings.task_queue, build_activities(settings, engine, keys, http), executor
                )
                baseline_queue = "baseline-" + uuid.uuid4().hex[:8]
                baseline_worker = Worker(
                    env.client,
                    task_queue=baseline_queue,
                    workflows=[OpenBaseline],
                    max_cached_workflows=20_000,
                )
                thread, stop = build_dispatcher(settings, engine, keys).start()
                try:
                    async with worker, baseline_worker:
                        life = await one_life(env, client, settings, keys, engine, years, police_updates)
                        replay = await replays(client, env, baseline_queue, life["histories"], keys)
                        early = runs_figures(life["histories"])
                        print("runs (events, bytes):", [(r["events"], r["bytes"]) for r in early], replay)
                        memory = await memory_per_open(
                            client, env, settings, keys, engine, baseline_queue, open_cases
                        )
                finally:
                    stop.set()
                    thread.join()
        finally:
            engine.dispose()
            await env.shutdown()
    runs = runs_figures(life.pop("histories"))
    total_events = sum(r["events"] for r in runs)
    total_bytes = sum(r["bytes"] for r in runs)
    print(f"one case, {years} years: {life['contacts']} contacts, {life['police_updates']} police updates")
    for r in runs:
        print(
            f"  run {r['run']}: {r['events']:>5} events {r['bytes'] / 1024:>8.1f} KiB"
            f"  {'continued-as-new' if r['continued_as_new'] else 'open'}"
            f"  ({r['first_event_at'][:10]} .. {r['last_event_at'][:10]})"
        )
    print(f"  all runs: {total_events} events, {total_bytes / 1024:.1f} KiB")
    print(
        f"replay: case runs {', '.join(f'{s * 1000:.1f} ms' for s in replay['case_runs_s'])}"
        f" (longest {max(replay['case_runs_s']) * 1000:.1f} ms); trivial workflow {replay['baseline_s'] * 1000:.1f} ms"
    )
    print(
        f"worker memory per {open_cases} open cases cached: +{memory['cases_mib']:.1f} MiB;"
        f" per {open_cases} open trivial workflows: +{memory['baseline_mib']:.1f} MiB"
        f" (ratio {memory['cases_mib'] / max(memory['baseline_mib'], 0.1):.2f})"
    )
    return {
        "benchmark": "lifetime",
        "years": years,
        "suggest_continue_as_new_after_events": suggest_after,
        "contacts": life["contacts"],
        "police_updates": life["police_updates"],
        "simulated_days": life["simulated_days"],
        "runs": runs,
        "total_events": total_events,
        "total_bytes": total_bytes,
        "replay": replay,
        "memory": memory,
    }


async def one_life(
    env: WorkflowEnvironment,
    client: Client,
    settings: Settings,
    keys: Keys,
    engine: Any,
    years: int,
    police_updates: int,
) -> dict[str, Any]:
    from usecases import cases

    case_id, view = await cases.start_and_acknowledge(
        client, keys, settings.task_queue, example_referral(0), OFFICER, engine=engine
    )
    assert view is not None, "the worker did not acknowledge the case"
    handle = client.get_workflow_handle(case_id)
    interval = policy(view.policy_version).contact_interval
    await cases.send(
        client, case_id, ContactRecord(actor=OFFICER, result=ContactResult.reached, support_active=True)
    )
    contacts, updates = 1, 0
    intervals = int(timedelta(days=365 * years) / interval)
    per_interval = [
        police_updates * (i + 1) // intervals - police_updates * i // intervals for i in range(intervals)
    ]
    for i in range(intervals):
        # police updates in between contacts, then the next contact
        for _ in range(per_interval[i]):
            updates += 1
            await cases.send(
                client,
                case_id,
                PoliceUpdate(
                    actor=POLICE, protective_measures=f"Protective measures reviewed (review {updates})."
                ),
            )
        assert await asyncio.wait_for(env.fast_forward(handle, interval), timeout=120)
        await cases.send(client, case_id, ContactRecord(actor=OFFICER, result=ContactResult.reached))
        contacts += 1
    runs = [wf async for wf in client.list_workflows(f'WorkflowId="{case_id}"')]
    for _ in range(40):  # visibility settles
        if len(runs) >= 1:
            break
        await asyncio.sleep(0.25)
        runs = [wf async for wf in client.list_workflows(f'WorkflowId="{case_id}"')]
    runs.sort(key=lambda wf: wf.start_time)
    histories = [await client.get_workflow_handle(case_id, run_id=wf.run_id).fetch_history() for wf in runs]
    now = await env.get_current_time(handle)
    return {
        "case_id": case_id,
        "contacts": contacts,
        "police_updates": updates,
        "simulated_days": (now - view.opened_at).days,
        "histories": histories,
    }


async def replays(
    client: Client,
    env: WorkflowEnvironment,
    baseline_queue: str,
    histories: list[WorkflowHistory],
    keys: Keys,
) -> dict[str, Any]:
    from workflows.case import ProtocolCaseWorkflow

    replayer = Replayer(
        workflows=[ProtocolCaseWorkflow], data_converter=data_converter(keys.keyring, keys.case_keys)
    )
    case_runs = [await replay_seconds(replayer, h) for h in histories]
    trivial = env.client.get_workflow_handle(
        (
            await env.client.start_workflow(
                OpenBaseline.run, "x", id=f"trivial-{uuid.uuid4().hex}", task_queue=baseline_queue
            )
        ).id
    )
    await trivial.signal(OpenBaseline.finish)
    await trivial.result()
    baseline = await replay_seconds(Replayer(workflows=[OpenBaseline]), await trivial.fetch_history())
    return {"case_runs_s": [round(s, 4) for s in case_runs], "baseline_s": round(baseline, 4)}


async def memory_per_open(
    client: Client,
    env: WorkflowEnvironment,
    settings: Settings,
    keys: Keys,
    engine: Any,
    baseline_queue: str,
    n: int,
) -> dict[str, Any]:
    """Resident memory of this process (the worker's cache) before and after `n` open trivial workflows, then
    before and after `n` open cases (opened and acknowledged, each left cached by the worker)."""
    from usecases import cases

    before = rss_mib()
    gate = asyncio.Semaphore(10)

    async def trivial(i: int) -> None:
        async with gate:
            handle = await env.client.start_workflow(
                OpenBaseline.run, str(i), id=f"open-{i}-{uuid.uuid4().hex[:6]}", task_queue=baseline_queue
            )
            await handle.query("__stack_trace")  # answered only once the worker holds it

    await asyncio.gather(*(trivial(i) for i in range(n)))
    baseline = rss_mib() - before

    before = rss_mib()
    began = time.perf_counter()

    async def case(i: int) -> None:
        async with gate:  # an acknowledgement past the API's wait leaves the case opening: counted below
            await cases.start_and_acknowledge(
                client, keys, settings.task_queue, example_referral(i + 1), OFFICER, engine=engine
            )

    await asyncio.gather(*(case(i) for i in range(n)))
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:  # every case opened and screened, so cached with its whole state
        with engine.connect() as conn:
            opened, screening = conn.execute(
                text("SELECT count(*), count(*) FILTER (WHERE phase = 'screening') FROM cases")
            ).one()
        if opened >= n + 1 and screening == 0:
            break
        await asyncio.sleep(0.5)
    opened_in = time.perf_counter() - began
    cases_mib = rss_mib() - before
    return {
        "open": n,
        "baseline_mib": round(baseline, 1),
        "cases_mib": round(cases_mib, 1),
        "ratio": round(cases_mib / max(baseline, 0.1), 2),
        "cases_opened_in_s": round(opened_in, 1),
        "note": "resident memory of the worker process (API not in it), gc.collect() before each reading",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=2, help="simulated years the case lives")
    parser.add_argument("--police-updates", type=int, default=50, help="police updates over the period")
    parser.add_argument(
        "--open-cases", type=int, default=1000, help="open cases cached for the memory figure"
    )
    parser.add_argument(
        "--suggest-continue-as-new-after",
        type=int,
        default=None,
        help="events after which the server suggests continue-as-new (default: the server's own)",
    )
    args = parser.parse_args()
    if args.years < 1 or args.police_updates < 0 or args.open_cases < 1:
        parser.error("--years and --open-cases must be at least 1, --police-updates at least 0.")
    figures = asyncio.run(
        bench(args.years, args.police_updates, args.open_cases, args.suggest_continue_as_new_after)
    )
    print("written:", write_results("lifetime", figures))


if __name__ == "__main__":
    main()
