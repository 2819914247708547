"""The store's side of `mvp officer amend` (issue 12), on a real Postgres: the sealed referral is replaced, each
new dependant gets a hold row keyed like the others, and the notices still pending re-route to the new safe
channel, while a notice already sent stays as it went."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine, select, update
from sqlmodel import Session, col

from activities.store import CaseStore
from infra.chain import address_binding, referral_binding
from infra.keys import Keys
from models.case import Amend
from models.referral import ContactChannel, Dependant, Referral
from models.tables import CaseRow, HoldRow, OutboxRow, TaskRow
from protocol import lifecycle
from protocol.identity import name_key
from protocol.policy import policy
from protocol.screening import screen
from tests.support.cases import write_step
from tests.support.intake import OFFICER, example_referral

NOW = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
BABY = Dependant(
    family_name="Rahman", given_names="Noor", date_of_birth=date(2026, 10, 1), relationship="child"
)


def amend_a_screened_case(engine: Engine, keys: Keys, case_id: str, amend: Amend) -> None:
    """Amina's case opened and screened as the workflow stores it, then amended."""
    rules = policy()
    referral = example_referral("referral-domestic-abuse.json")
    opened = lifecycle.open_case(case_id, referral, OFFICER, NOW, rules)
    screened = lifecycle.screened(opened.state, screen(None, None, NOW, rules), [], NOW, rules)
    amended = lifecycle.apply_command(screened.state, amend, NOW, rules)
    store = CaseStore(engine, keys)
    write_step(store, case_id, opened, NOW, opening=True)
    write_step(store, case_id, screened, NOW)
    with Session(engine) as session, session.begin():  # police were told already; the person not yet
        session.execute(
            update(OutboxRow)
            .where(col(OutboxRow.case_id) == case_id, col(OutboxRow.recipient) == "referring_officer")
            .values(status="sent")
        )
    for _ in range(2):  # a retried step writes the same rows
        write_step(store, case_id, amended, NOW)  # an amend writes the amended referral


def outbox(engine: Engine, case_id: str, recipient: str) -> list[OutboxRow]:
    with Session(engine) as session:
        query = select(OutboxRow).where(
            col(OutboxRow.case_id) == case_id, col(OutboxRow.recipient) == recipient
        )
        return list(session.execute(query).scalars())


def test_pending_notices_to_the_person_re_route_to_the_new_safe_channel_and_language(
    engine: Engine, keys: Keys
) -> None:
    case_id = "MVP-AMEND-00001"
    amend = Amend(actor=OFFICER, channel=ContactChannel.email, email="safe@example.org", language="pl")
    amend_a_screened_case(engine, keys, case_id, amend)

    to_person = outbox(engine, case_id, "person")
    assert to_person, "screening queues the protocol notice to the person"
    for row in to_person:
        assert (row.status, row.channel, row.language) == ("pending", "email", "pl")
        assert row.address_sealed is not None
        opened = keys.sealer.open_text(case_id, row.address_sealed, address_binding(row.key))
        assert opened == "safe@example.org"
    sent = outbox(engine, case_id, "referring_officer")
    assert sent and all(row.status == "sent" for row in sent)

    with Session(engine) as session:
        sealed = session.execute(
            select(col(CaseRow.referral_sealed)).where(col(CaseRow.case_id) == case_id)
        ).scalar_one()
    referral = Referral.model_validate_json(keys.sealer.open_text(case_id, sealed, referral_binding(case_id)))
    assert (referral.safe_contact.channel, referral.safe_contact.email) == (
        ContactChannel.email,
        "safe@example.org",
    )


def test_a_new_dependant_gets_a_hold_row_keyed_like_the_others(engine: Engine, keys: Keys) -> None:
    case_id = "MVP-AMEND-00002"
    amend_a_screened_case(engine, keys, case_id, Amend(actor=OFFICER, add_dependants=[BABY]))

    with Session(engine) as session:
        holds = {
            h.subject: h
            for h in session.execute(select(HoldRow).where(col(HoldRow.case_id) == case_id)).scalars()
        }
    assert sorted(holds) == ["dependant-1", "dependant-2", "person"]
    baby = holds["dependant-2"]
    assert baby.active and baby.grounds == holds["person"].grounds
    assert baby.identity_key == keys.person_hash("Rahman", "Noor", "2026-10-01")
    assert baby.birth_key == keys.birth_hash("2026-10-01")
    assert keys.sealer.open_text(case_id, baby.name_sealed, f"{case_id}:dependant-2") == name_key(
        "Rahman", "Noor"
    )


def test_a_pending_notice_re_routed_to_a_support_worker_becomes_the_officers_task(
    engine: Engine, keys: Keys
) -> None:
    case_id = "MVP-AMEND-00003"
    amend_a_screened_case(
        engine, keys, case_id, Amend(actor=OFFICER, channel=ContactChannel.via_support_worker)
    )

    to_person = outbox(engine, case_id, "person")
    assert to_person and all(
        (r.status, r.channel, r.address_sealed) == ("task", "internal", None) for r in to_person
    )
    with Session(engine) as session:
        kinds = set(
            session.execute(select(col(TaskRow.kind)).where(col(TaskRow.case_id) == case_id)).scalars()
        )
    assert {r.kind for r in to_person} <= kinds
