"""Delivery of notices from the outbox, through a channel adapter chosen by `MVP_NOTIFY_CHANNEL`:

- `outbox` (default, for development): each notice is written to `<data dir>/notices/`, as a mailbox
  a developer can read; the address is masked;
- `http`: a GOV.UK Notify-style API (`POST /v2/notifications/{sms,email,letter}`), the outbox key as
  the `reference` and the idempotency key, so a retried send is not delivered twice.

Internal notices (supervisors, the case officer) go to the IE work queue: the outbox row itself.
Each notice is sent in its own transaction with its row locked (`FOR UPDATE SKIP LOCKED`): two
deliveries running at once never send the same notice, and one that was sent is never sent again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import httpx
from sqlalchemy import Engine, select
from sqlmodel import Session
from temporalio import activity

from infra.keys import Keyring
from models.messages import Delivered, DeliverNotices
from models.tables import OutboxRow
from protocol.notices import INTERNAL, render


class NoticeChannel(Protocol):
    def send(self, key: str, channel: str, address: str, language: str, kind: str, text: str) -> str:
        """Send one notice; returns the provider's reference."""
        ...


class MailboxChannel:
    """Development delivery: one JSON file per notice, address masked."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, key: str, channel: str, address: str, language: str, kind: str, text: str) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / (key.replace("/", "_") + ".json")
        masked = "*" * max(len(address) - 3, 0) + address[-3:]
        path.write_text(
            json.dumps(
                {
                    "key": key,
                    "channel": channel,
                    "to": masked,
                    "language": language,
                    "kind": kind,
                    "text": text,
                },
                indent=2,
            )
        )
        return f"mailbox:{path.name}"


class NotifyChannel:
    """A GOV.UK Notify-style HTTP API."""

    PATHS = {"phone": "sms", "email": "email", "post": "letter"}
    FIELDS = {"phone": "phone_number", "email": "email_address", "post": "address_line_1"}

    def __init__(self, client: httpx.Client, base_url: str, api_key: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key

    def send(self, key: str, channel: str, address: str, language: str, kind: str, text: str) -> str:
        response = self.client.post(
            f"{self.base_url}/v2/notifications/{self.PATHS[channel]}",
            headers={"Authorization": f"Bearer {self.api_key}", "Idempotency-Key": key},
            json={
                self.FIELDS[channel]: address,
                "template_id": f"mvp-{kind}-{language}",
                "personalisation": {"body": text},
                "reference": key,
            },
            timeout=10.0,
        )
        response.raise_for_status()
        return str(response.json().get("id", key))


class NoticeActivities:
    def __init__(self, engine: Engine, keyring: Keyring, channel: NoticeChannel) -> None:
        self.engine = engine
        self.keyring = keyring
        self.channel = channel

    @activity.defn
    def deliver_notices(self, request: DeliverNotices) -> Delivered:
        """Send every pending notice of a case. A failure leaves the rest pending and raises, so that
        Temporal retries; what was sent stays sent."""
        sent = 0
        failure: Exception | None = None
        while True:
            with Session(self.engine) as session, session.begin():
                row = session.execute(
                    select(OutboxRow)
                    .where(OutboxRow.case_id == request.case_id, OutboxRow.status == "pending")  # type: ignore[arg-type]
                    .order_by(OutboxRow.created_at, OutboxRow.key)  # type: ignore[arg-type]
                    .with_for_update(skip_locked=True)
                    .limit(1)
                ).scalar_one_or_none()
                if row is None:
                    break
                row.attempts += 1
                try:
                    row.provider_ref = self._send(row)
                except httpx.HTTPError as err:
                    failure = err
                    break
                row.status, row.sent_at = "sent", datetime.now(UTC)
                sent += 1
        if failure is not None:
            raise failure
        with Session(self.engine) as session:
            rows = session.execute(select(OutboxRow.status).where(OutboxRow.case_id == request.case_id)).all()
        statuses = [r[0] for r in rows]
        return Delivered(
            sent=sent, suppressed=statuses.count("suppressed"), pending=statuses.count("pending")
        )

    def _send(self, row: OutboxRow) -> str:
        if row.channel == INTERNAL:
            return "ie-work-queue"
        address = self.keyring.open_text(row.address_sealed) if row.address_sealed else ""
        return self.channel.send(
            row.key, row.channel, address, row.language, row.kind, render(row.kind, row.facts)
        )
