"""`mvp officer amend` through the case workflow (issue 12): a dependant added to a case is protected at once,
and a notice still waiting to go re-routes to the new safe channel."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session, col

from infra.chain import address_binding
from models.case import Actor, ActorRole, Amend, ContactRecord, ContactResult
from models.referral import ContactChannel, Dependant
from models.tables import OutboxRow, RecordRow, TaskRow
from protocol.enforcement import parse_person
from tests.conftest import Running
from tests.support.intake import OFFICER, load_example_records, open_case
from usecases import cases, enforcement

ENFORCER = Actor(role=ActorRole.enforcement, id="ENF-3")
BABY = Dependant(
    family_name="Rahman", given_names="Noor", date_of_birth=date(2026, 10, 1), relationship="child"
)


async def eventually(condition: Callable[[], bool], within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


def person_notices(running: Running, case_id: str) -> list[OutboxRow]:
    with Session(running.engine) as session:
        query = select(OutboxRow).where(
            col(OutboxRow.case_id) == case_id, col(OutboxRow.recipient) == "person"
        )
        return list(session.execute(query).scalars())


async def a_case_with_notices_to_the_person_waiting_to_retry(running: Running) -> str:
    """Amina's case once its first notices to her were tried: their send failed, and they wait a day to retry."""
    load_example_records(running)
    case_id = await open_case(running)
    await eventually(
        lambda: (
            bool(person_notices(running, case_id))
            and all(r.status not in ("pending", "sending") for r in person_notices(running, case_id))
        )
    )
    with Session(running.engine) as session, session.begin():  # its send failed: it waits a day to retry
        session.execute(
            update(OutboxRow)
            .where(col(OutboxRow.case_id) == case_id, col(OutboxRow.recipient) == "person")
            .values(status="pending", next_attempt_at=datetime.now(UTC) + timedelta(days=1))
        )
    return case_id


async def test_a_dependant_added_by_amend_is_refused_by_an_enforcement_check_at_once(
    running: Running,
) -> None:
    load_example_records(running)
    case_id = await open_case(running)
    today = datetime.now(UTC).date()
    before = await enforcement.check(
        running.client,
        running.keys,
        running.settings.task_queue,
        ENFORCER,
        parse_person("Rahman, Noor, 2026-10-01", today),
        "Planned visit to the address",
    )
    assert before.verdict.permitted  # not yet known to be hers

    result = await cases.send(running.client, case_id, Amend(actor=OFFICER, add_dependants=[BABY]))

    assert result.accepted.startswith("amended: dependants")
    after = await enforcement.check(
        running.client,
        running.keys,
        running.settings.task_queue,
        ENFORCER,
        parse_person("Rahman, Noor, 2026-10-01", today),
        "Planned visit to the address",
    )
    assert not after.verdict.permitted
    assert after.verdict.case_ids == [case_id]
    with Session(running.engine) as session:
        actions = list(
            session.execute(select(col(RecordRow.action)).where(col(RecordRow.case_id) == case_id)).scalars()
        )
    assert "details_amended" in actions


async def test_a_notice_waiting_to_go_re_routes_to_the_new_safe_channel(running: Running) -> None:
    case_id = await a_case_with_notices_to_the_person_waiting_to_retry(running)

    amend = Amend(actor=OFFICER, channel=ContactChannel.email, email="safe@example.org", language="pl")
    await cases.send(running.client, case_id, amend)

    waiting = person_notices(running, case_id)
    assert waiting and all((r.status, r.channel, r.language) == ("pending", "email", "pl") for r in waiting)
    for row in waiting:
        assert row.address_sealed is not None
        address = running.keys.sealer.open_text(case_id, row.address_sealed, address_binding(row.key))
        assert address == "safe@example.org"


async def test_an_unsafe_contact_holds_a_notice_waiting_to_go_and_gives_it_to_the_officer(
    running: Running,
) -> None:
    case_id = await a_case_with_notices_to_the_person_waiting_to_retry(running)

    result = await cases.send(
        running.client, case_id, ContactRecord(actor=OFFICER, result=ContactResult.unsafe_to_talk)
    )

    assert "notices to the person are held" in result.accepted
    held = person_notices(running, case_id)
    assert held and all(r.status == "suppressed" for r in held)
    assert all(r.suppressed_reason and "unsafe for the person to talk" in r.suppressed_reason for r in held)
    with Session(running.engine) as session:
        tasks = list(
            session.execute(
                select(TaskRow).where(col(TaskRow.case_id) == case_id, col(TaskRow.kind) == "deliver_by_hand")
            ).scalars()
        )
    assert len(tasks) == len(held)
    assert all(t.owner == OFFICER.label() for t in tasks)
