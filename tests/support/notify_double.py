"""A stand-in for GOV.UK Notify: a real loopback HTTP server speaking its v2 API as documented
(https://docs.notifications.service.gov.uk/rest-api.html), for tests and local runs. Not a mock of the
client: the official client talks to it over HTTP exactly as it talks to Notify.

- `POST /v2/notifications/sms|email|letter`: the bearer JWT is verified as Notify verifies it (HS256 with
  the API key's secret, `iss` = the service id, `iat` within 30 s; the official client's own
  `decode_jwt_token`), unknown template ids and missing personalisation are refused with Notify's error
  shape, a letter needs 3 to 7 address lines, the last a UK postcode.
- `GET /v2/notifications?reference=...` and `GET /v2/notifications/{id}`.

It counts accepted requests per reference, and can be told to fail: 400 for a template or a recipient,
an outage (500), slow answers (sleep, then accept), and to move a notification's delivery status.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from notifications_python_client.authentication import decode_jwt_token, get_token_issuer
from notifications_python_client.errors import TokenError

POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$", re.IGNORECASE)
RECIPIENT_FIELD = {"sms": "phone_number", "email": "email_address"}


class NotifyDouble:
    def __init__(self) -> None:
        self.service_id = str(uuid.uuid4())
        self.secret = str(uuid.uuid4())
        self.templates: dict[str, tuple[str, tuple[str, ...]]] = {}  # id -> (type, personalisation fields)
        self.notifications: dict[str, dict[str, Any]] = {}
        self.accepted: Counter[str] = Counter()  # accepted requests per reference
        self.received = 0  # send requests that arrived, accepted or not
        self.refuse_templates: set[str] = set()
        self.refuse_recipients: set[str] = set()
        self.outage = False
        self.delay = 0.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- set-up ----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_key(self) -> str:
        """A key in Notify's format: name, service id, secret."""
        return f"mvp_test-{self.service_id}-{self.secret}"

    def add_template(self, kind: str, fields: tuple[str, ...] = ("body", "case_id")) -> str:
        template_id = str(uuid.uuid4())
        self.templates[template_id] = (kind, fields)
        return template_id

    def start(self) -> NotifyDouble:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> NotifyDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_status(self, notification_id: str, status: str) -> None:
        """Move a notification on: delivered, permanent-failure, temporary-failure, ..."""
        with self._lock:
            self.notifications[notification_id]["status"] = status

    def by_reference(self, reference: str) -> list[dict[str, Any]]:
        with self._lock:
            return [n for n in self.notifications.values() if n["reference"] == reference]

    # --- the API ---------------------------------------------------------------------------------

    def _authorise(self, header: str | None) -> tuple[int, dict[str, Any]] | None:
        if not header or not header.startswith("Bearer "):
            return _error(401, "AuthError", "Unauthorized: authentication token must be provided")
        token = header.removeprefix("Bearer ")
        try:
            if get_token_issuer(token) != self.service_id:
                return _error(403, "AuthError", "Invalid token: service not found")
            decode_jwt_token(token, self.secret)
        except TokenError as err:
            return _error(403, "AuthError", err.message)
        return None

    def _send(self, kind: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.received += 1
        if self.outage:
            return _error(500, "Exception", "Internal server error")
        template_id = str(body.get("template_id", ""))
        template = self.templates.get(template_id)
        if template is None or template[0] != kind:
            return _error(400, "BadRequestError", "Template not found")
        personalisation = body.get("personalisation") or {}
        missing = [f for f in template[1] if f not in personalisation]
        if missing:
            return _error(400, "BadRequestError", f"Missing personalisation: {', '.join(missing)}")
        if kind == "letter":
            problem = _letter_address_problem(personalisation)
            if problem:
                return _error(400, "ValidationError", problem)
            recipient = personalisation["address_line_1"]
        else:
            recipient = str(body.get(RECIPIENT_FIELD[kind], ""))
            if not recipient:
                return _error(400, "ValidationError", f"{RECIPIENT_FIELD[kind]} is a required property")
        if template_id in self.refuse_templates or recipient in self.refuse_recipients:
            return _error(400, "BadRequestError", "Can't send to this recipient using a team-only API key")
        if self.delay:
            time.sleep(self.delay)  # slower than the client's timeout: it gives up, we still accept
        notification_id = str(uuid.uuid4())
        reference = body.get("reference")
        record = {
            "id": notification_id,
            "reference": reference,
            "type": kind,
            "status": "accepted" if kind == "letter" else "created",
            "template": {"id": template_id, "version": 1, "uri": f"{self.url}/v2/template/{template_id}"},
            "body": personalisation.get("body", ""),
            "created_at": datetime.now(UTC).isoformat(),
        }
        with self._lock:
            self.notifications[notification_id] = record
            self.accepted[str(reference)] += 1
        return 201, {
            "id": notification_id,
            "reference": reference,
            "content": {"body": record["body"]},
            "uri": f"{self.url}/v2/notifications/{notification_id}",
            "template": record["template"],
            "scheduled_for": None,
        }

    def _get(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        if self.outage:
            return _error(500, "Exception", "Internal server error")
        if path == "/v2/notifications":
            references = query.get("reference")
            reference = references[0] if references else None
            with self._lock:
                found = [
                    n for n in self.notifications.values() if reference is None or n["reference"] == reference
                ]
            return 200, {"notifications": found, "links": {"current": f"{self.url}/v2/notifications"}}
        notification_id = path.removeprefix("/v2/notifications/")
        with self._lock:
            record = self.notifications.get(notification_id)
        if record is None:
            return _error(404, "NoResultFound", "No result found")
        return 200, record

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet: tests read the counters instead
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting; what was accepted stays accepted

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                refused = double._authorise(self.headers.get("Authorization"))
                if refused:
                    return self._answer(*refused)
                match = re.fullmatch(r"/v2/notifications/(sms|email|letter)", urlparse(self.path).path)
                if not match:
                    return self._answer(*_error(404, "NotFound", "Not found"))
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    return self._answer(*_error(400, "BadRequestError", "Invalid JSON supplied in POST data"))
                self._answer(*double._send(match.group(1), body))

            def do_GET(self) -> None:  # noqa: N802
                refused = double._authorise(self.headers.get("Authorization"))
                if refused:
                    return self._answer(*refused)
                parsed = urlparse(self.path)
                self._answer(*double._get(parsed.path, parse_qs(parsed.query)))

        return Handler


def _error(status: int, error: str, message: str) -> tuple[int, dict[str, Any]]:
    """Notify's error shape."""
    return status, {"status_code": status, "errors": [{"error": error, "message": message}]}


def _letter_address_problem(personalisation: dict[str, Any]) -> str | None:
    lines = [str(personalisation.get(f"address_line_{n}") or "").strip() for n in range(1, 8)]
    present = [line for line in lines if line]
    if len(present) < 3:
        return "Address must be at least 3 lines"
    if not POSTCODE.match(present[-1]):
        return "Must be a real UK postcode"
    return None
