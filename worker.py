"""The worker: wires a Temporal client, the activities and the workflow together; nothing else."""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine

from activities.enforcement import EnforcementActivities
from activities.notify import MailboxChannel, NoticeActivities, NoticeChannel, NotifyChannel
from activities.records import HttpRecords, PostgresRecords, RecordsActivities, RecordsSource
from activities.store import CaseStore
from infra.db import make_engine
from infra.keys import Keys, load_keys
from infra.settings import Settings
from infra.temporal import connect, make_worker

log = logging.getLogger("mvp.worker")


def build_activities(settings: Settings, engine: Engine, keys: Keys, http: httpx.Client) -> list[object]:
    """Every activity, with the adapters the settings choose."""
    records: RecordsSource = (
        HttpRecords(http, settings.records_url or "")
        if settings.records_source == "http"
        else PostgresRecords(engine)
    )
    channel: NoticeChannel = (
        NotifyChannel(http, settings.notify_url or "", settings.notify_api_key.get_secret_value())
        if settings.notify_channel == "http" and settings.notify_api_key
        else MailboxChannel(settings.data_dir / "notices")
    )
    enforcement = EnforcementActivities(engine, keys)
    return [
        CaseStore(engine, keys).persist_step,
        RecordsActivities(records).look_up_person,
        NoticeActivities(engine, keys.keyring, channel).deliver_notices,
        enforcement.find_holds,
        enforcement.record_check,
        enforcement.load_check,
        enforcement.record_action,
    ]


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Poll the task queue until `stop` is set, then finish in-flight work and return."""
    keys = load_keys(settings)
    engine = make_engine(settings)
    rekeyed = CaseStore(engine, keys).rekey_old_holds()  # rows from before identity matching (0004)
    if rekeyed:
        log.info("re-keyed %d hold row(s) written before identity matching", rekeyed)
    client = await connect(settings, keys.keyring)
    with httpx.Client() as http, ThreadPoolExecutor(max_workers=16) as executor:
        worker = make_worker(
            client, settings.task_queue, build_activities(settings, engine, keys, http), executor
        )
        async with worker:
            log.info("worker polling %s on %s", settings.task_queue, settings.temporal_address)
            await stop.wait()
    engine.dispose()


async def run_until_signalled(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await serve(settings, stop)
