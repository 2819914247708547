"""Personal data never reaches Temporal in clear, keys rotate under running cases, and the codec
server decrypts only for holders of its token."""

from __future__ import annotations

import base64
import json
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import History
from temporalio.client import Client

from infra.casekeys import FileCaseKeys
from infra.codec import ENCODING, KEY_ID, EncryptionCodec, data_converter
from infra.errors import Refused
from infra.keys import Keyring, Keys
from models.case import Actor, ActorRole, ContactRecord, ContactResult, PoliceUpdate
from models.referral import Referral
from tests.conftest import Running
from tests.support.intake import OFFICER, example_referral
from usecases import cases
from worker import build_activities, make_worker

POLICE = Actor(role=ActorRole.police, id="WMP-4471", force="WMP")
SECRET_NOTE = "Zq-note: she hides in the blue flat above the launderette"


def distinctive_referral() -> Referral:
    referral = example_referral("referral-domestic-abuse.json")
    person = referral.person.model_copy(
        update={
            "given_names": "Zephyrine Odalys",
            "family_name": "Quillfeather",
            "home_office_ref": "HO-9911223",
            "address": "14 Larkspur Mews, Wolverhampton WV1 4QQ",
            "location": "Larkspur refuge",
        }
    )
    person = person.model_copy(
        update={"date_of_birth": person.date_of_birth.replace(year=1990, month=7, day=13)}
    )
    dependant = referral.dependants[0].model_copy(
        update={"given_names": "Ottoline", "family_name": "Quillfeather"}
    )
    contact = referral.safe_contact.model_copy(update={"phone": "+44 7700 900777"})
    return referral.model_copy(
        update={
            "person": person,
            "dependants": [dependant],
            "safe_contact": contact,
            "suspected_offence_reason": "Says her husband Bartholomew Quillfeather kept her papers.",
        }
    )


PERSONAL = [
    "Zephyrine",
    "Quillfeather",
    "Ottoline",
    "Bartholomew",
    "1990-07-13",
    "13/07/1990",
    "Larkspur",
    "WV1 4QQ",
    "7700 900777",
    "+447700900777",
    "HO-9911223",
    "blue flat",
    "launderette",
]


def leaks(text: str) -> list[str]:
    return [value for value in PERSONAL if value.lower() in text.lower()]


async def test_history_visibility_failures_and_logs_hold_no_personal_data_in_clear(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    referral = distinctive_referral()
    case_id = await cases.start_referral(
        running.client, running.keys, running.settings.task_queue, referral, OFFICER
    )
    assert await cases.wait_until_open(running.client, case_id) is not None
    await cases.send(
        running.client, case_id, PoliceUpdate(actor=POLICE, investigation="charged", note=SECRET_NOTE)
    )
    await cases.send(
        running.client, case_id, ContactRecord(actor=OFFICER, result=ContactResult.reached, note=SECRET_NOTE)
    )
    other_force = Actor(role=ActorRole.police, id="MPS-1", force="MPS")
    with pytest.raises(Refused):  # refused in the handler: recorded, and its failure stored in the history
        await cases.send(
            running.client,
            case_id,
            PoliceUpdate(actor=other_force, investigation="charged", note=SECRET_NOTE),
        )
    with pytest.raises(Refused):  # refused by the validator, before history
        await cases.send(
            running.client, case_id, PoliceUpdate(actor=POLICE, investigation="reported", note=SECRET_NOTE)
        )

    # Read everything back with a client that has no codec, as anyone with access to the server could.
    raw = await Client.connect(
        running.client.service_client.config.target_host, namespace=running.client.namespace
    )
    handle = raw.get_workflow_handle(case_id)
    history = await handle.fetch_history()
    history_json = json_format.MessageToJson(History(events=history.events))
    history_bytes = History(events=history.events).SerializeToString().decode("latin-1")
    description = await handle.describe()
    visibility = json_format.MessageToJson(description.raw_description)
    listed = [
        json_format.MessageToJson(w.raw_info) async for w in raw.list_workflows(f"WorkflowId = '{case_id}'")
    ]

    assert "binary/encrypted" in history_json or base64.b64encode(ENCODING).decode() in history_json
    assert "workflowExecutionUpdateCompletedEventAttributes" in history_json
    assert '"failure"' in history_json  # the not-permitted update's failure is there…
    assert "own force" not in history_json  # …with its message encrypted
    for where, text in [
        ("history", history_json),
        ("history bytes", history_bytes),
        ("visibility", visibility),
        ("listing", " ".join(listed)),
        ("worker and client logs", caplog.text),
    ]:
        assert leaks(text) == [], f"personal data in clear in the {where}"


async def test_a_rotated_key_keeps_running_cases_readable(running: Running) -> None:
    old = running.keys.keyring
    case_id = await cases.start_referral(
        running.client,
        running.keys,
        running.settings.task_queue,
        example_referral("referral-domestic-abuse.json"),
        OFFICER,
    )
    assert await cases.wait_until_open(running.client, case_id) is not None

    new_id = "test-2"
    rotated = Keyring(current_id=new_id, keys={new_id: secrets.token_bytes(32), **old.keys})
    assert isinstance(running.keys.case_keys, FileCaseKeys)
    folder = running.keys.case_keys.folder
    keys = Keys(
        keyring=rotated,
        identity_key=running.keys.identity_key,
        codec_token=running.keys.codec_token,
        case_keys=FileCaseKeys(folder, rotated),
    )
    config = running.client.config()
    config["data_converter"] = data_converter(rotated, keys.case_keys)
    client = Client(**config)
    queue = running.settings.task_queue + "-rotated"
    # the running case moves to a worker that has the new key current and the old one still held
    with httpx.Client() as http, ThreadPoolExecutor(max_workers=4) as executor:
        settings = running.settings.model_copy(update={"task_queue": queue})
        async with make_worker(
            client, queue, build_activities(settings, running.engine, keys, http), executor
        ):
            # a new case on the new key, and a command to the old case on the new key
            second = await cases.start_referral(
                client, keys, queue, example_referral("referral-trafficking.json"), OFFICER
            )
            assert await cases.wait_until_open(client, second) is not None
            view = await cases.state(client, second)
            assert view.case_id == second

    old_case = await cases.state(client, case_id)  # payloads under the old key still open
    assert old_case.case_id == case_id

    raw = await Client.connect(client.service_client.config.target_host, namespace=client.namespace)
    # each case's payloads are under its own data key; the new case's key is wrapped by the new key
    new_case = encrypted_payloads(await raw.get_workflow_handle(second).fetch_history())
    assert {base64.b64decode(p["metadata"][KEY_ID]).decode() for p in new_case} == {f"case:{second}"}  # type: ignore[index]
    assert json.loads((folder / f"{second}.json").read_text())["key_id"] == new_id
    old_payloads = encrypted_payloads(await raw.get_workflow_handle(case_id).fetch_history())
    old_ids = {base64.b64decode(p["metadata"][KEY_ID]).decode() for p in old_payloads}  # type: ignore[index]
    assert old_ids == {f"case:{case_id}"}
    assert json.loads((folder / f"{case_id}.json").read_text())["key_id"] == old.current_id
    # without the old key, the old case's data key, and so its payloads, cannot be read
    new_only = Keyring(current_id=new_id, keys={new_id: rotated.keys[new_id]})
    only_new = EncryptionCodec(new_only, FileCaseKeys(folder, new_only))
    with pytest.raises(Exception, match="No key"):
        await only_new.decode([json_format.ParseDict(p, Payload()) for p in old_payloads])


def encrypted_payloads(history: object) -> list[dict[str, object]]:
    """Every encrypted payload in a history (as proto JSON dicts)."""
    found: list[dict[str, object]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            metadata = node.get("metadata")
            if isinstance(metadata, dict) and KEY_ID in metadata:
                found.append(node)
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json_format.MessageToDict(History(events=history.events)))  # type: ignore[attr-defined]
    return found
