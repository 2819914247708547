"""Notices reach people once and hold nothing up: the delivery dispatcher, the official GOV.UK Notify client
and the Notify double (a real loopback HTTP server), on real Postgres. Nothing here is a mock."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from activities.notify import Rejected, address_lines, load_templates
from infra.keys import Keys
from models.referral import ContactChannel
from models.tables import OutboxRow, TaskRow
from tests.support.cases import opened_case_with_notices
from tests.support.intake import OFFICER, example_referral
from tests.support.notify import dispatcher, run_until, template_table
from tests.support.notify_double import NotifyDouble

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def notify() -> Iterator[NotifyDouble]:
    with NotifyDouble() as double:
        yield double


def outbox(engine: Engine, case_id: str) -> list[OutboxRow]:
    with Session(engine) as session:
        return list(
            session.execute(select(OutboxRow).where(col(OutboxRow.case_id) == case_id)).scalars().all()
        )


def to_send(engine: Engine, case_id: str) -> list[OutboxRow]:
    return [row for row in outbox(engine, case_id) if row.channel in ("phone", "email", "post")]


def tasks(engine: Engine, case_id: str) -> list[TaskRow]:
    with Session(engine) as session:
        return list(session.execute(select(TaskRow).where(col(TaskRow.case_id) == case_id)).scalars().all())


def all_sent(engine: Engine, case_id: str) -> bool:
    return all(row.status == "sent" for row in to_send(engine, case_id))


def a_case(engine: Engine, keys: Keys, n: int = 1) -> str:
    return opened_case_with_notices(
        engine, keys, f"MVP-DELIV-0000{n}", example_referral("referral-domestic-abuse.json"), OFFICER
    )


def test_the_jwt_the_official_client_sends_verifies_in_the_double_and_a_wrong_key_is_refused(
    notify: NotifyDouble,
) -> None:
    template = notify.add_template("sms")
    right = NotificationsAPIClient(notify.api_key, base_url=notify.url, timeout=5)
    sent = right.send_sms_notification("07700900123", template, {"body": "x", "case_id": "c"}, reference="r1")
    assert notify.accepted["r1"] == 1 and sent["reference"] == "r1"

    wrong_secret = notify.api_key[:-36] + "00000000-0000-0000-0000-000000000000"
    with pytest.raises(HTTPError) as refused:
        NotificationsAPIClient(wrong_secret, base_url=notify.url, timeout=5).send_sms_notification(
            "07700900123", template, {"body": "x", "case_id": "c"}, reference="r2"
        )
    assert refused.value.status_code == 403 and "signature" in str(refused.value.message)

    stale = jwt.encode(
        {"iss": notify.service_id, "iat": int(time.time()) - 60}, notify.secret, algorithm="HS256"
    )
    import requests

    answer = requests.get(
        f"{notify.url}/v2/notifications", headers={"Authorization": f"Bearer {stale}"}, timeout=5
    )
    assert answer.status_code == 403 and "expired" in answer.json()["errors"][0]["message"]
    assert notify.accepted["r2"] == 0


def test_the_double_refuses_unknown_templates_and_missing_personalisation_as_notify_does(
    notify: NotifyDouble,
) -> None:
    client = NotificationsAPIClient(notify.api_key, base_url=notify.url, timeout=5)
    template = notify.add_template("email")
    for template_id, personalisation, message in (
        ("5b2c4f8e-0000-4000-8000-000000000000", {"body": "x", "case_id": "c"}, "Template not found"),
        (template, {"body": "x"}, "Missing personalisation: case_id"),
    ):
        with pytest.raises(HTTPError) as refused:
            client.send_email_notification("a@example.org", template_id, personalisation, reference="r")
        assert refused.value.status_code == 400
        assert refused.value.message == [{"error": "BadRequestError", "message": message}]
    assert notify.accepted["r"] == 0


def test_a_letter_carries_notify_address_lines_and_an_address_notify_would_refuse_is_named() -> None:
    lines = address_lines("Flat 2, 10 Station Road, Leeds, LS1 4DY")
    assert lines == {
        "address_line_1": "Flat 2",
        "address_line_2": "10 Station Road",
        "address_line_3": "Leeds",
        "address_line_4": "LS1 4DY",
    }
    with pytest.raises(Rejected, match="3 to 7 lines"):
        address_lines("10 Station Road, LS1 4DY")
    with pytest.raises(Rejected, match="UK postcode"):
        address_lines("10 Station Road, Leeds, Yorkshire")


def test_a_rejected_notice_fails_with_its_reason_and_becomes_a_task_while_the_others_are_delivered(
    engine: Engine, keys: Keys, notify: NotifyDouble
) -> None:
    case_id = a_case(engine, keys)
    notify.refuse_recipients.add("+44 7700 900123")  # the person's phone: a 400 for that one notice
    delivery = dispatcher(engine, keys, notify)

    run_until(
        delivery, lambda: all(r.status in ("sent", "failed") for r in to_send(engine, case_id)), within=15
    )
    for _ in range(5):  # more rounds: a rejected notice is not retried
        delivery.run_once()

    rows = {row.recipient: row for row in to_send(engine, case_id)}
    person, police = rows["person"], rows["referring_officer"]
    assert person.status == "failed" and person.attempts == 1
    assert person.failure_reason is not None and "team-only API key" in person.failure_reason
    assert notify.accepted[person.reference or ""] == 0 and notify.received == 2
    assert police.status == "sent" and notify.accepted[police.reference or ""] == 1
    failed = [t for t in tasks(engine, case_id) if t.kind == "notice_failed"]
    assert len(failed) == 1 and failed[0].owner == OFFICER.label() and failed[0].state == "open"
    assert failed[0].language == "bn"


def test_a_provider_slower_than_the_timeout_accepts_each_notice_exactly_once(
    engine: Engine, keys: Keys, notify: NotifyDouble
) -> None:
    case_id = a_case(engine, keys)
    notify.delay = 1.0  # each send answers after the client has given up at 0.4 s
    delivery = dispatcher(engine, keys, notify, timeout=0.4, lease=timedelta(seconds=2))

    run_until(delivery, lambda: all_sent(engine, case_id), within=30)

    rows = to_send(engine, case_id)
    assert len(rows) == 2
    assert {row.reference: notify.accepted[row.reference or ""] for row in rows} == {
        row.reference: 1 for row in rows
    }
    assert all(row.provider_ref == notify.by_reference(row.reference or "")[0]["id"] for row in rows)


def test_a_dispatcher_killed_mid_delivery_leaves_each_notice_accepted_exactly_once(
    engine: Engine, keys: Keys, notify: NotifyDouble, database_url: str, tmp_path: Path
) -> None:
    case_ids = [a_case(engine, keys, n) for n in (1, 2, 3)]
    notify.delay = 0.5
    templates = tmp_path / "templates.json"
    templates.write_text(json.dumps(template_table(notify)))
    key = keys.keyring.keys[keys.keyring.current_id]
    env = os.environ | {
        "DATABASE_URL": database_url,
        "MVP_ENV": "test",
        "MVP_DATA_DIR": str(tmp_path),
        "MVP_ENCRYPTION_KEYS": f"{keys.keyring.current_id}:{base64.b64encode(key).decode()}",
        "MVP_IDENTITY_KEY": base64.b64encode(keys.identity_key).decode(),
        "MVP_NOTIFY_CHANNEL": "http",
        "MVP_NOTIFY_URL": notify.url,
        "MVP_NOTIFY_API_KEY": notify.api_key,
        "MVP_NOTIFY_TEMPLATES": str(templates),
        "MVP_NOTIFY_TIMEOUT": "0.25",  # the worker's lease is twelve times this: 3 s
    }
    log = tmp_path / "dispatcher.log"
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.run_dispatcher"], cwd=REPO, env=env, stderr=err
        )
    try:
        deadline = time.monotonic() + 20
        while notify.received < 3 and time.monotonic() < deadline:  # mid-delivery: requests in flight
            time.sleep(0.02)
        assert notify.received >= 3, (
            "the dispatcher process never started sending: " + log.read_text()[-2000:]
        )
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    accepted_before_restart = sum(notify.accepted.values())

    notify.delay = 0
    delivery = dispatcher(engine, keys, notify)
    run_until(delivery, lambda: all(all_sent(engine, c) for c in case_ids), within=30)

    rows = [row for c in case_ids for row in to_send(engine, c)]
    assert len(rows) == 6
    assert [notify.accepted[row.reference or ""] for row in rows] == [1] * 6
    print(f"\n{accepted_before_restart} of 6 accepted before the kill; none sent twice after it")


def test_after_an_outage_pending_notices_go_out_within_the_bounded_backoff_without_a_command(
    engine: Engine, keys: Keys, notify: NotifyDouble
) -> None:
    case_id = a_case(engine, keys)
    notify.outage = True
    delivery = dispatcher(engine, keys, notify)  # backoff from 0.2 s, doubling, never above 1 s
    thread, stop = delivery.start()
    try:
        time.sleep(2.5)  # several failed tries: the backoff reaches its bound
        rows = to_send(engine, case_id)
        assert all(row.status == "pending" and row.attempts >= 2 for row in rows)
        assert all(row.last_error and "500" in row.last_error for row in rows)

        notify.outage = False
        recovered = time.monotonic()
        while not all_sent(engine, case_id) and time.monotonic() - recovered < 10:
            time.sleep(0.05)
        took = time.monotonic() - recovered
    finally:
        stop.set()
        thread.join()
    print(f"\ndelivered {took:.2f} s after the provider recovered (bound: 1 s backoff + 0.05 s poll)")
    assert all_sent(engine, case_id) and took < 3
    assert all(notify.accepted[row.reference or ""] == 1 for row in to_send(engine, case_id))


def test_delivery_status_is_stored_and_a_permanent_failure_to_the_person_becomes_a_task(
    engine: Engine, keys: Keys, notify: NotifyDouble
) -> None:
    case_id = a_case(engine, keys)
    delivery = dispatcher(engine, keys, notify)
    run_until(delivery, lambda: all_sent(engine, case_id), within=15)
    rows = {row.recipient: row for row in to_send(engine, case_id)}
    notify.set_status(rows["person"].provider_ref or "", "permanent-failure")
    notify.set_status(rows["referring_officer"].provider_ref or "", "delivered")

    run_until(
        delivery,
        lambda: all(row.delivery_status != "created" for row in to_send(engine, case_id)),
        within=15,
    )

    rows = {row.recipient: row for row in to_send(engine, case_id)}
    assert rows["person"].delivery_status == "permanent-failure"
    assert rows["referring_officer"].delivery_status == "delivered"
    failed = [t for t in tasks(engine, case_id) if t.kind == "notice_failed"]
    assert len(failed) == 1 and failed[0].key == rows["person"].key + "/failed"


def test_a_template_table_with_problems_names_each_of_them(tmp_path: Path) -> None:
    table = tmp_path / "templates.json"
    table.write_text(json.dumps({"outcome.en": "mvp-outcome-en", "outcome": str(uuid.uuid4())}))

    with pytest.raises(ValueError) as problems:
        load_templates(table)

    assert '"outcome.en": "mvp-outcome-en" is not a Notify template id' in str(problems.value)
    assert '"outcome" is not "kind.language"' in str(problems.value)
    with pytest.raises(ValueError, match="cannot be read"):
        load_templates(tmp_path / "missing.json")


def test_a_letter_goes_only_to_a_safe_address_with_notify_address_lines(
    engine: Engine, keys: Keys, notify: NotifyDouble
) -> None:
    referral = example_referral("referral-domestic-abuse.json")
    by_post = referral.model_copy(
        update={
            "safe_contact": referral.safe_contact.model_copy(
                update={"channel": ContactChannel.post, "post_is_safe": True}
            ),
            "person": referral.person.model_copy(
                update={"address": "Flat 2, 10 Station Road, Leeds, LS1 4DY"}
            ),
        }
    )
    case_id = opened_case_with_notices(engine, keys, "MVP-DELIV-00009", by_post, OFFICER)
    delivery = dispatcher(engine, keys, notify)

    run_until(delivery, lambda: all_sent(engine, case_id), within=15)

    [letter] = [row for row in to_send(engine, case_id) if row.channel == "post"]
    [sent] = notify.by_reference(letter.reference or "")
    assert sent["type"] == "letter" and notify.accepted[letter.reference or ""] == 1


def test_a_notice_still_not_accepted_after_the_give_up_period_is_failed_and_a_task(
    engine: Engine, keys: Keys, notify: NotifyDouble
) -> None:
    case_id = a_case(engine, keys)
    notify.outage = True
    delivery = dispatcher(engine, keys, notify, give_up_after=timedelta(seconds=1))

    run_until(delivery, lambda: all(r.status == "failed" for r in to_send(engine, case_id)), within=15)

    rows = to_send(engine, case_id)
    assert all(row.failure_reason and row.failure_reason.startswith("gave up after") for row in rows)
    assert len([t for t in tasks(engine, case_id) if t.kind == "notice_failed"]) == len(rows) == 2


def test_two_dispatchers_at_once_never_send_the_same_notice(
    engine: Engine, keys: Keys, notify: NotifyDouble
) -> None:
    case_ids = [a_case(engine, keys, n) for n in (1, 2, 3, 4)]
    notify.delay = 0.1
    threads = [dispatcher(engine, keys, notify, batch=1).start() for _ in range(2)]
    try:
        deadline = time.monotonic() + 20
        while not all(all_sent(engine, c) for c in case_ids) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        for thread, stop in threads:
            stop.set()
            thread.join()

    rows = [row for c in case_ids for row in to_send(engine, c)]
    assert len(rows) == 8 and all(row.status == "sent" for row in rows)
    assert [notify.accepted[row.reference or ""] for row in rows] == [1] * 8
