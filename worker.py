"""The worker: wires a Temporal client, the activities and the workflow together; nothing else."""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
from notifications_python_client.notifications import NotificationsAPIClient
from sqlalchemy import Engine

from activities.delivery import DeliveryPolicy, Dispatcher, HandedToDispatcher
from activities.enforcement import EnforcementActivities
from activities.notify import MailboxChannel, NoticeChannel, NotifyChannel, load_templates
from activities.records import HttpRecords, PostgresRecords, RecordsActivities, RecordsSource
from activities.store import CaseStore
from infra.db import make_engine
from infra.errors import Unavailable
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
    enforcement = EnforcementActivities(engine, keys)
    return [
        CaseStore(engine, keys).persist_step,
        RecordsActivities(records).look_up_person,
        HandedToDispatcher(engine).deliver_notices,  # for histories from before delivery left the workflow
        enforcement.find_holds,
        enforcement.record_check,
        enforcement.load_check,
        enforcement.record_action,
    ]


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


def build_dispatcher(settings: Settings, engine: Engine, keys: Keys) -> Dispatcher:
    """The delivery dispatcher, its lease well beyond the HTTP timeout."""
    policy = DeliveryPolicy(lease=timedelta(seconds=settings.notify_timeout * 12))
    return Dispatcher(engine, keys, build_channel(settings), policy)


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Poll the task queue until `stop` is set, then finish in-flight work and return."""
    keys = load_keys(settings)
    engine = make_engine(settings)
    client = await connect(settings, keys.keyring)
    with httpx.Client() as http, ThreadPoolExecutor(max_workers=16) as executor:
        worker = make_worker(
            client, settings.task_queue, build_activities(settings, engine, keys, http), executor
        )
        thread, stop_delivery = build_dispatcher(settings, engine, keys).start()
        try:
            async with worker:
                log.info("worker polling %s on %s", settings.task_queue, settings.temporal_address)
                await stop.wait()
        finally:
            stop_delivery.set()
            await asyncio.to_thread(thread.join)
    engine.dispose()


async def run_until_signalled(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await serve(settings, stop)
