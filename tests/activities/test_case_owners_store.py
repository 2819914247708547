"""The read model's side of finding a case and of case owners (issue 12): cases written before migration 0008
are keyed for `mvp cases find` when the worker starts and get their opening officer as case officer; a
reassignment moves the case's open tasks to the new officer and gives each officer their own task."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Engine, select, update
from sqlmodel import Session, col

from activities.store import CaseStore
from infra.db import alembic_config
from infra.keys import Keys
from models.case import Actor, ActorRole, Reassign
from models.referral import ContactChannel
from models.tables import CaseRow, TaskRow
from protocol import lifecycle
from protocol.policy import policy
from protocol.screening import screen
from tests.support.cases import opened_case_with_notices, write_step
from tests.support.intake import OFFICER, example_referral

SUPERVISOR = Actor(role=ActorRole.supervisor, id="NCCU-SUP-7")


def test_cases_from_before_finding_are_keyed_from_their_sealed_referral_once(
    engine: Engine, keys: Keys
) -> None:
    case_id = opened_case_with_notices(
        engine, keys, "MVP-OWNER-00001", example_referral("referral-domestic-abuse.json"), OFFICER
    )
    with Session(engine) as session, session.begin():
        session.execute(
            update(CaseRow).values(
                referral_id_key=None, officer_key=None, crime_ref_key=None
            )  # as before 0008
        )
    store = CaseStore(engine, keys)

    assert store.key_cases_for_finding() == 1
    assert store.key_cases_for_finding() == 0  # done once

    with Session(engine) as session:
        row = session.get(CaseRow, case_id)
    assert row is not None
    assert row.referral_id_key == keys.referral_id_hash("NCCU-2026-000123")
    assert row.officer_key == keys.officer_hash("wmp 4471")  # typed any way: folded as the hash folds it
    assert row.crime_ref_key == keys.crime_reference_hash("WMP/26/11/00871")


def test_the_migration_makes_the_officer_who_opened_each_existing_case_its_case_officer(
    database_url: str, engine: Engine, keys: Keys
) -> None:
    case_id = opened_case_with_notices(
        engine, keys, "MVP-OWNER-00002", example_referral("referral-domestic-abuse.json"), OFFICER
    )
    engine.dispose()
    command.downgrade(alembic_config(database_url), "0007")
    command.upgrade(alembic_config(database_url), "head")

    with Session(engine) as session:
        row = session.get(CaseRow, case_id)
    assert row is not None and row.case_officer == OFFICER.label()
    assert row.referral_id_key is None  # keyed by the worker, which has the keys
    assert CaseStore(engine, keys).key_cases_for_finding() == 1


def test_a_reassignment_moves_the_open_tasks_and_gives_each_officer_their_own(
    engine: Engine, keys: Keys
) -> None:
    referral = example_referral("referral-domestic-abuse.json")
    via_support_worker = referral.safe_contact.model_copy(
        update={"channel": ContactChannel.via_support_worker}
    )
    referral = referral.model_copy(update={"safe_contact": via_support_worker})
    now = datetime.now(UTC)
    rules = policy()
    state = lifecycle.screened(
        lifecycle.open_case("MVP-OWNER-00003", referral, OFFICER, now, rules).state,
        screen(None, None, now, rules),
        [],
        now,
        rules,
    ).state
    opened_case_with_notices(engine, keys, "MVP-OWNER-00003", referral, OFFICER, now)
    reassign = Reassign(actor=SUPERVISOR, officer_id="NCCU-0077", reason="NCCU-0042 is on long leave")
    step = lifecycle.apply_command(state, reassign, now, rules)

    write_step(CaseStore(engine, keys), "MVP-OWNER-00003", step, now)

    with Session(engine) as session:
        tasks = session.execute(
            select(col(TaskRow.kind), col(TaskRow.owner)).where(col(TaskRow.case_id) == "MVP-OWNER-00003")
        ).all()
        officer = session.get(CaseRow, "MVP-OWNER-00003").case_officer  # type: ignore[union-attr]
    assert officer == "officer:NCCU-0077"
    assert sorted(tasks) == [
        ("case_reassigned", "officer:NCCU-0042"),  # the one leaving is told too
        ("case_reassigned", "officer:NCCU-0077"),
        ("protocol_notice", "officer:NCCU-0077"),  # still to pass on: now the new officer's
    ]
