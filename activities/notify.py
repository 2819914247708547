"""Notice channels: how one notice reaches a provider, and how to ask the provider about it afterwards.

- `NotifyChannel`: GOV.UK Notify through its own client (`notifications-python-client`): SMS, email and
  letters from templates made in Notify, one per notice kind and language (`MVP_NOTIFY_TEMPLATES`, see
  README "Notices through GOV.UK Notify"). Each send carries the notice's opaque `reference`, so that a send
  whose outcome is unknown can be found again (`get_all_notifications(reference=...)`) before any resend.
- `MailboxChannel` (development): one JSON file per notice under `<data dir>/notices/`, address masked,
  readable by its owner only (0600).

A channel answers `send` with the provider's id, or raises one of the three errors below; the dispatcher
(`activities.delivery`) decides what each means for the outbox row.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient


class Rejected(Exception):
    """The provider refused the notice for good (a 4xx): retrying cannot help; the reason is the provider's."""


class Transient(Exception):
    """The provider did not accept the notice this time (a 5xx, a rate limit): try again later."""


class OutcomeUnknown(Exception):
    """No answer (a timeout, a dropped connection): the notice may have been accepted. Check by reference."""


@dataclass(frozen=True)
class Outgoing:
    """One notice ready to go: the address is open only for as long as the send takes."""

    reference: str
    case_id: str
    channel: str  # phone, email, post
    address: str
    language: str
    kind: str
    text: str
    subject: str = ""


class NoticeChannel(Protocol):
    name: str

    def send(self, notice: Outgoing) -> str:
        """Send one notice; returns the provider's id."""
        ...

    def find(self, reference: str) -> str | None:
        """The provider's id of a notice sent with this reference, if the provider has one."""
        ...

    def status(self, provider_id: str) -> str | None:
        """The provider's delivery status of a notice it accepted (None when it no longer knows)."""
        ...


class MailboxChannel:
    """Development delivery: one JSON file per notice, address masked, readable by its owner only."""

    name = "mailbox"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, reference: str) -> Path:
        return self.folder / f"{reference}.json"

    def send(self, notice: Outgoing) -> str:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self._path(notice.reference)
        masked = "*" * max(len(notice.address) - 3, 0) + notice.address[-3:]
        body = json.dumps(
            {
                "reference": notice.reference,
                "case_id": notice.case_id,
                "channel": notice.channel,
                "to": masked,
                "language": notice.language,
                "kind": notice.kind,
                "text": notice.text,
            },
            indent=2,
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(body)
        return f"mailbox:{path.name}"

    def find(self, reference: str) -> str | None:
        path = self._path(reference)
        return f"mailbox:{path.name}" if path.exists() else None

    def status(self, provider_id: str) -> str | None:
        return "delivered"


# A UK postcode, as Notify checks the last line of a letter's address (a country name is not offered here:
# the person's safe address is in the UK).
POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$", re.IGNORECASE)


def address_lines(address: str) -> dict[str, str]:
    """Notify's letter address: `address_line_1`..`address_line_7`, at least three lines, the last a UK
    postcode. Lines are taken from the address as written (new lines or commas). Raises `Rejected`, naming
    the problem without the address, when Notify would refuse it."""
    lines = [part.strip() for part in re.split(r"[\n,]", address) if part.strip()]
    if len(lines) < 3 or len(lines) > 7:
        raise Rejected(f"a letter address needs 3 to 7 lines; the safe address has {len(lines)}")
    if not POSTCODE.match(lines[-1]):
        raise Rejected("the last line of a letter address must be a UK postcode")
    return {f"address_line_{n}": line for n, line in enumerate(lines, start=1)}


class NotifyChannel:
    """GOV.UK Notify, through the official client. Personalisation fields of every template: `body` (the
    notice's full text) and `case_id`; letters add `address_line_1`..`address_line_7`."""

    name = "notify"
    METHODS = {"phone": "sms", "email": "email", "post": "letter"}

    def __init__(self, client: NotificationsAPIClient, templates: dict[str, str]) -> None:
        self.client = client
        self.templates = templates

    def template(self, kind: str, language: str, channel: str) -> str:
        method = self.METHODS[channel]
        for key in (f"{kind}.{language}.{method}", f"{kind}.{language}", f"{kind}.en.{method}", f"{kind}.en"):
            if key in self.templates:
                return self.templates[key]
        raise Rejected(
            f"no Notify template is configured for {kind}.{language} (nor English): see MVP_NOTIFY_TEMPLATES"
        )

    def send(self, notice: Outgoing) -> str:
        template_id = self.template(notice.kind, notice.language, notice.channel)
        personalisation: dict[str, Any] = {
            "subject": notice.subject,
            "body": notice.text,
            "case_id": notice.case_id,
        }
        method = self.METHODS[notice.channel]
        try:
            if method == "sms":
                answer = self.client.send_sms_notification(
                    notice.address, template_id, personalisation, reference=notice.reference
                )
            elif method == "email":
                answer = self.client.send_email_notification(
                    notice.address, template_id, personalisation, reference=notice.reference
                )
            else:
                personalisation |= address_lines(notice.address)
                answer = self.client.send_letter_notification(
                    template_id, personalisation, reference=notice.reference
                )
        except APIError as err:
            raise _classify(err) from None
        return str(answer["id"])

    def find(self, reference: str) -> str | None:
        try:
            answer = self.client.get_all_notifications(reference=reference)
        except APIError as err:
            raise _classify(err, asking=True) from None
        found = answer.get("notifications") or []
        return str(found[0]["id"]) if found else None

    def status(self, provider_id: str) -> str | None:
        try:
            answer = self.client.get_notification_by_id(provider_id)
        except APIError as err:
            if err.response is not None and err.status_code == 404:
                return None
            raise _classify(err, asking=True) from None
        return str(answer["status"])


def _classify(err: APIError, asking: bool = False) -> Exception:
    """Notify's errors as the dispatcher needs them. Its messages name the problem (a template, a field),
    never the recipient, so they are kept as the reason."""
    if err.response is None:  # no answer at all: a timeout or a dropped connection
        return Transient("no answer from Notify") if asking else OutcomeUnknown("no answer from Notify")
    status = err.status_code
    reason = _reason(err)
    if status >= 500 or status == 429 or asking:
        return Transient(f"Notify answered {status}: {reason}")
    return Rejected(f"Notify refused it ({status}): {reason}")


def _reason(err: APIError) -> str:
    message = err.message
    if isinstance(message, list):
        return "; ".join(
            f"{e.get('error', '')}: {e.get('message', '')}" for e in message if isinstance(e, dict)
        )
    return str(message)


def load_templates(path: Path) -> dict[str, str]:
    """The template table: a JSON object mapping `kind.language` (or `kind.language.sms|email|letter`) to the
    id (a UUID) of a template made in Notify. Every problem is named at once, in one sentence each."""
    try:
        table = json.loads(path.read_text())
    except OSError as err:
        raise ValueError(f"MVP_NOTIFY_TEMPLATES: {path} cannot be read ({err.strerror}).") from None
    except ValueError as err:
        raise ValueError(f"MVP_NOTIFY_TEMPLATES: {path} is not JSON ({err}).") from None
    if not isinstance(table, dict):
        raise ValueError(
            f'MVP_NOTIFY_TEMPLATES: {path} must be a JSON object of "kind.language": "template id".'
        )
    problems = []
    for key, value in table.items():
        if len(str(key).split(".")) not in (2, 3):
            problems.append(f'"{key}" is not "kind.language" or "kind.language.sms|email|letter"')
        try:
            uuid.UUID(str(value))
        except ValueError:
            problems.append(f'"{key}": "{value}" is not a Notify template id (a UUID)')
    if problems:
        raise ValueError(f"MVP_NOTIFY_TEMPLATES ({path}): " + "; ".join(problems) + ".")
    return {str(k): str(v) for k, v in table.items()}
