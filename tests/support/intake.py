"""Opening cases for tests as an officer would: the example referrals and records, started through the use
case the API calls."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy.sql.expression import Executable
from sqlmodel import Session

from models.case import Actor, ActorRole
from models.referral import Referral
from protocol.intake import parse_records, parse_referral
from tests.conftest import EXAMPLES, Running
from usecases import cases

OFFICER = Actor(role=ActorRole.officer, id="NCCU-0042")


def example_referral(name: str) -> Referral:
    referral, problems = parse_referral(json.loads((EXAMPLES / name).read_text()), datetime.now(UTC))
    assert referral is not None, problems
    return referral


def load_example_records(running: Running) -> None:
    from activities.records import load_records

    records, problems = parse_records(json.loads((EXAMPLES / "records.json").read_text()), datetime.now(UTC))
    assert records is not None, problems
    load_records(running.engine, records)


def count(running: Running, query: Executable) -> int:
    with Session(running.engine) as session:
        return int(session.execute(query).scalar_one())


async def open_case(running: Running, name: str = "referral-domestic-abuse.json") -> str:
    case_id = await cases.start_referral(
        running.client, running.keys, running.settings.task_queue, example_referral(name), OFFICER
    )
    view = await cases.wait_until_open(running.client, case_id)
    assert view is not None, "the worker did not open the case"
    return case_id


def screening_notes(running: Running, case_id: str) -> list[str]:
    """The sealed notes of a case's `screened` entries, opened, in order: what prompted each screening
    (`trigger: …`) and the exclusion indicators it found, which the record's summaries do not carry."""
    from infra.chain import note_binding
    from usecases.readmodel import case_notes, case_record

    sealed = case_notes(running.engine, case_id)
    return [
        running.keys.sealer.open_text(case_id, sealed[e.seq], note_binding(case_id, e.seq))
        for e in case_record(running.engine, case_id)
        if e.action == "screened"
    ]


def screening_triggers(running: Running, case_id: str) -> list[str]:
    return [note.split(";")[0].removeprefix("trigger: ") for note in screening_notes(running, case_id)]
