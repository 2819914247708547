"""The HTTP adapters, against real HTTP servers on loopback: the Home Office records service. (Notices through
GOV.UK Notify are tested in test_delivery.py against the Notify double.)"""

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
from sqlalchemy import Engine

from activities.records import HttpRecords, PostgresRecords, load_records
from models.messages import LookUpPerson
from protocol.intake import parse_records
from tests.conftest import EXAMPLES


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
