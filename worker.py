"""The worker: wires a Temporal client, the activities and the workflow together; nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
from notifications_python_client.notifications import NotificationsAPIClient
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.checkpoint import Checkpointer
from activities.delivery import DeliveryPolicy, Dispatcher, HandedToDispatcher, TeamContact
from activities.enforcement import EnforcementActivities
from activities.notify import MailboxChannel, NoticeChannel, NotifyChannel, load_templates
from activities.records import HttpRecords, PostgresRecords, RecordsActivities, RecordsSource
from activities.retention import RetentionActivities
from activities.store import CaseStore
from activities.watch import Watcher, WatchPolicy
from infra.checkpoint import signing_key, store_for
from infra.codec import worker_client
from infra.db import make_engine
from infra.errors import Unavailable
from infra.keyguard import worker_keys
from infra.keys import Keys
from infra.settings import Settings
from infra.temporal import connect
from usecases.retention import ensure_schedule
from workflows.case import ProtocolCaseWorkflow
from workflows.enforcement import EnforcementActionWorkflow, EnforcementCheckWorkflow
from workflows.retention import RetentionWorkflow

log = logging.getLogger("mvp.worker")

KEY_FILE_POLL_SECONDS = 2.0


def build_activities(settings: Settings, engine: Engine, keys: Keys, http: httpx.Client) -> list[object]:
    """Every activity, with the adapters the settings choose."""
    records: RecordsSource = (
        HttpRecords(http, settings.records_url or "")
        if settings.records_source == "http"
        else PostgresRecords(engine)
    )
    enforcement = EnforcementActivities(engine, keys)
    retention = RetentionActivities(engine, keys)
    return [
        CaseStore(engine, keys).persist_step,
        RecordsActivities(records).look_up_person,
        HandedToDispatcher(engine).deliver_notices,  # for histories from before delivery left the workflow
        enforcement.find_holds,
        enforcement.record_check,
        enforcement.load_check,
        enforcement.record_action,
        retention.find_due,
        retention.purge_one,
        retention.record_run,
    ]


def make_worker(
    client: Client, task_queue: str, activities: list[object], executor: ThreadPoolExecutor
) -> Worker:
    """The case worker: the case workflow, the enforcement workflows, the retention workflow and every
    activity, on one task queue."""
    return Worker(
        worker_client(client),  # a refused (unencrypted) payload refuses its message, never wedges a case
        task_queue=task_queue,
        workflows=[
            ProtocolCaseWorkflow,
            EnforcementCheckWorkflow,
            EnforcementActionWorkflow,
            RetentionWorkflow,
        ],
        activities=activities,  # type: ignore[arg-type]
        activity_executor=executor,
    )


def build_channel(settings: Settings) -> NoticeChannel:
    """GOV.UK Notify through its own client, or the development mailbox."""
    if settings.notify_channel == "http" and settings.notify_api_key and settings.notify_templates:
        client = NotificationsAPIClient(
            settings.notify_api_key.get_secret_value(),
            base_url=settings.notify_url,
            timeout=settings.notify_timeout,
        )
        try:
            templates = load_templates(settings.notify_templates)
        except ValueError as err:
            raise Unavailable(str(err)) from None
        return NotifyChannel(client, templates)
    return MailboxChannel(settings.data_dir / "notices")


def build_checkpointer(settings: Settings, engine: Engine) -> Checkpointer:
    """The checkpoint writer: signs the record's chain heads every MVP_CHECKPOINT_INTERVAL seconds, outside
    the database (development creates its signing key under the data dir; production must be given one)."""
    interval = timedelta(seconds=settings.checkpoint_interval)
    return Checkpointer(engine, store_for(settings), signing_key(settings), interval)


def build_dispatcher(settings: Settings, engine: Engine, keys: Keys) -> Dispatcher:
    """The delivery dispatcher, its lease well beyond the HTTP timeout."""
    policy = DeliveryPolicy(lease=timedelta(seconds=settings.notify_timeout * 12))
    team = TeamContact(phone=settings.contact_team_phone, email=settings.contact_team_email)
    return Dispatcher(engine, keys, build_channel(settings), policy, team=team)


def build_watcher(settings: Settings, client: Client, engine: Engine, keys: Keys) -> Watcher:
    """The watcher of case workflows ended or deleted outside the service."""
    policy = WatchPolicy(
        interval=timedelta(seconds=settings.watch_interval), grace=timedelta(seconds=settings.watch_grace)
    )
    return Watcher(client, engine, keys, ProtocolCaseWorkflow.__name__, policy)


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Poll the task queue, deliver notices and watch for case workflows lost outside the service until
    `stop` is set, then finish in-flight work and return."""
    engine = make_engine(settings)
    try:
        keys = worker_keys(settings, engine)  # refuses to run with keys that do not match the database
        store = CaseStore(engine, keys)
        # rows written by earlier versions, brought up to date once (each step is idempotent and cheap after):
        rebound = (
            store.bind_old_seals()
        )  # referrals and addresses sealed before they were bound to their rows
        if rebound:
            log.info("bound %d sealed value(s) written before binding to their rows", rebound)
        rekeyed = store.rekey_old_holds()  # rows from before identity matching (0004)
        if rekeyed:
            log.info("re-keyed %d hold row(s) written before identity matching", rekeyed)
        checkpointer = build_checkpointer(settings, engine)  # refuses to start without its signing key
        client = await connect(settings, keys.keyring, keys.case_keys)
        await ensure_schedule(client, settings)  # retention runs by itself (workflows/retention.py)
        keyed = store.key_cases_for_finding()  # cases from before `cases find` (0008)
        if keyed:
            log.info("keyed %d case(s) written before `mvp cases find`", keyed)
        with httpx.Client() as http, ThreadPoolExecutor(max_workers=16) as executor:
            worker = make_worker(
                client, settings.task_queue, build_activities(settings, engine, keys, http), executor
            )
            thread, stop_delivery = build_dispatcher(settings, engine, keys).start()
            watching = asyncio.create_task(build_watcher(settings, client, engine, keys).run(stop))
            checkpoints, stop_checkpoints = checkpointer.start()
            try:
                async with worker:
                    log.info("worker polling %s on %s", settings.task_queue, settings.temporal_address)
                    await _follow_key_file(settings, keys, stop)
            finally:
                stop_delivery.set()
                watching.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watching
                stop_checkpoints.set()
                await asyncio.to_thread(thread.join)
                await asyncio.to_thread(checkpoints.join)
    finally:
        engine.dispose()


async def _follow_key_file(settings: Settings, keys: Keys, stop: asyncio.Event) -> None:
    """Until `stop`, reload the keyring when the key file changes (`mvp keys rotate`), so the worker seals
    with the new current key without a restart. (It also reloads at once when a payload names a key it
    does not hold.)"""
    path = settings.resolved_key_file
    seen = _mtime(path)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), KEY_FILE_POLL_SECONDS)
        now = _mtime(path)
        if now != seen and keys.keyring.refresh is not None:
            seen = now
            try:
                if await asyncio.to_thread(keys.keyring.reload):
                    log.info("worker now seals with key %s", keys.keyring.current_id)
            except Exception as error:  # a key file mid-edit or that no longer matches: keep the keys held
                log.warning("key file not reloaded: %s", error)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


async def run_until_signalled(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await serve(settings, stop)
