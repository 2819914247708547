"""Wiring the real delivery code to the Notify double: the official client, a template table, a dispatcher."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from notifications_python_client.notifications import NotificationsAPIClient
from sqlalchemy import Engine

from activities.delivery import DeliveryPolicy, Dispatcher
from activities.notify import NotifyChannel
from infra.keys import Keys
from models.case import NoticeKind
from tests.support.notify_double import NotifyDouble

LANGUAGES = ("en", "bn", "es")
METHODS = ("sms", "email", "letter")


def template_table(double: NotifyDouble) -> dict[str, str]:
    """A template in the double for every notice kind, language and method, as an operator would make them in
    Notify, and the `kind.language.method` table that MVP_NOTIFY_TEMPLATES points to."""
    return {
        f"{kind.value}.{language}.{method}": double.add_template(method)
        for kind in NoticeKind
        for language in LANGUAGES
        for method in METHODS
    }


def notify_channel(double: NotifyDouble, timeout: float = 5.0) -> NotifyChannel:
    client = NotificationsAPIClient(double.api_key, base_url=double.url, timeout=timeout)
    return NotifyChannel(client, template_table(double))


def fast_policy(**overrides: object) -> DeliveryPolicy:
    """The production policy, scaled down to seconds so that tests can watch it work."""
    values: dict[str, object] = {
        "lease": timedelta(seconds=3),
        "first_backoff": timedelta(seconds=0.2),
        "max_backoff": timedelta(seconds=1),
        "poll": timedelta(seconds=0.05),
        "status_every": timedelta(0),
    }
    values.update(overrides)
    return DeliveryPolicy(**values)  # type: ignore[arg-type]


def dispatcher(
    engine: Engine, keys: Keys, double: NotifyDouble, timeout: float = 5.0, **policy: object
) -> Dispatcher:
    return Dispatcher(engine, keys, notify_channel(double, timeout), fast_policy(**policy))


def run_until(dispatcher: Dispatcher, done: Callable[[], bool], within: float) -> float:
    """Run delivery rounds until `done()`; returns the seconds it took, or fails after `within`."""
    started = time.monotonic()
    while not done():
        if time.monotonic() - started > within:
            raise AssertionError(f"delivery did not finish within {within} s")
        if not dispatcher.run_once():
            time.sleep(dispatcher.policy.poll.total_seconds())
    return time.monotonic() - started
