"""The HTTP adapters, against real HTTP servers on loopback: the Home Office records service and a GOV.UK
Notify-style API. Delivery is retried after a failure and never sends a notice twice."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from activities.notify import NoticeActivities, NotifyChannel
from activities.records import HttpRecords, PostgresRecords, load_records
from activities.store import CaseStore
from infra.keys import Keys
from models.case import Recipient
from models.messages import DeliverNotices, LookUpPerson, PersistStep
from models.tables import OutboxRow
from protocol import lifecycle
from protocol.intake import parse_records
from protocol.policy import policy
from tests.conftest import EXAMPLES
from tests.workflows.test_intake import OFFICER, example_referral


@dataclass
class Recorder:
    """What a fake-free, real HTTP server on loopback received, and how it should answer."""

    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    fail_next: int = 0
    answer: Any = None


@pytest.fixture
def server() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            recorder.requests.append((self.path, dict(self.headers), body))
            if recorder.fail_next:
                recorder.fail_next -= 1
                self.send_response(503)
                self.end_headers()
                return
            answer = (
                recorder.answer(self.path, body)
                if callable(recorder.answer)
                else {"id": f"n-{len(recorder.requests)}"}
            )
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", recorder
    httpd.shutdown()
    httpd.server_close()


def test_the_http_records_adapter_looks_a_person_up(server: tuple[str, Recorder], engine: Engine) -> None:
    """The HTTP records service answers as the Postgres source does (here backed by the same records)."""
    url, recorder = server
    records, problems = parse_records(json.loads((EXAMPLES / "records.json").read_text()), datetime.now(UTC))
    assert records is not None, problems
    load_records(engine, records)
    postgres = PostgresRecords(engine)
    recorder.answer = lambda path, body: postgres.look_up(LookUpPerson.model_validate(body)).model_dump(
        mode="json"
    )
    person = LookUpPerson(
        home_office_ref=None, family_name="Kowal", given_names="Dariusz", date_of_birth=date(1989, 9, 2)
    )

    with httpx.Client() as http:
        found = HttpRecords(http, url).look_up(person)

    assert found.immigration_status is not None and found.immigration_status.home_office_ref == "HO-5550912"
    assert found.criminal_record is not None and found.criminal_record.convictions == []
    assert [path for path, _, _ in recorder.requests] == ["/lookup"]


def opened_case_with_notices(engine: Engine, keys: Keys) -> str:
    """A case as the workflow writes it, step by step: opened, then screened (no record), which queues the
    acknowledgement to police and the protocol notice to the person."""
    from protocol.screening import screen

    case_id, now, rules = "MVP-TEST0-00001", datetime.now(UTC), policy()
    referral = example_referral("referral-domestic-abuse.json")
    opened = lifecycle.open_case(case_id, referral, OFFICER, now, rules)
    screened = lifecycle.screened(opened.state, screen(None, None, now, rules), [], now, rules)
    store = CaseStore(engine, keys)
    for step, opening in ((opened, referral), (screened, None)):
        view = lifecycle.view(step.state, now, rules)
        store.persist_step(
            PersistStep(
                case_id=case_id,
                at=now,
                view=view,
                records=step.records,
                notices=step.notices,
                referral=opening,
            )
        )
    return case_id


def test_delivery_through_notify_is_retried_after_a_failure_and_never_duplicated(
    server: tuple[str, Recorder], engine: Engine, keys: Keys
) -> None:
    url, recorder = server
    case_id = opened_case_with_notices(engine, keys)
    with Session(engine) as session:
        queued = session.execute(select(OutboxRow).where(OutboxRow.case_id == case_id)).scalars().all()
    external = [
        row for row in queued if row.recipient in (Recipient.person.value, Recipient.referring_officer.value)
    ]
    assert len(external) == 2 and all(row.status == "pending" for row in external)

    recorder.fail_next = 1  # the provider is down for the first request
    with httpx.Client() as http:
        activities = NoticeActivities(engine, keys.keyring, NotifyChannel(http, url, "notify-key"))
        with pytest.raises(httpx.HTTPStatusError):
            activities.deliver_notices(DeliverNotices(case_id=case_id))  # Temporal would retry this
        delivered = activities.deliver_notices(DeliverNotices(case_id=case_id))
        again = activities.deliver_notices(DeliverNotices(case_id=case_id))  # a retry after success

    assert delivered.sent == 2 and delivered.pending == 0
    assert again.sent == 0
    succeeded = [headers["Idempotency-Key"] for _, headers, _ in recorder.requests[1:]]
    assert sorted(succeeded) == sorted(row.key for row in external)  # each notice sent once
    person = next(body for path, _, body in recorder.requests[1:] if path == "/v2/notifications/sms")
    assert person["phone_number"] == "+44 7700 900123"  # her safe channel: her own phone
    assert person["template_id"].endswith("-bn")  # in her language
    assert all(headers["Authorization"] == "Bearer notify-key" for _, headers, _ in recorder.requests)
    with Session(engine) as session:
        statuses = session.execute(
            select(OutboxRow.status, OutboxRow.attempts).where(OutboxRow.case_id == case_id)
        )
        assert {status for status, _ in statuses} <= {"sent"}
