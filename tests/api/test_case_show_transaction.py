"""`GET /cases/{id}` (`mvp case show`): the case, its notes, notices and record, and the access-log row that
records the read, in one connection and one transaction: a read is never shown unrecorded, and never costs a
connection per table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event, func, select
from sqlmodel import Session, col

from infra.keys import Keys
from infra.settings import Settings
from models.case import Actor, ActorRole
from models.tables import AccessRow
from tests.support.cases import opened_case_with_notices
from tests.support.intake import OFFICER, example_referral
from usecases import reads
from usecases.context import Services

SUPERVISOR = Actor(role=ActorRole.supervisor, id="NCCU-SUP-7")


def test_case_show_reads_and_logs_in_one_connection_and_one_transaction(
    engine: Engine, keys: Keys, settings: Settings
) -> None:
    referral = example_referral("referral-domestic-abuse.json")
    case_id = opened_case_with_notices(
        engine, keys, keys.case_id(referral.force_code, referral.referral_id), referral, OFFICER
    )
    services = Services(settings=settings, engine=engine, keys=keys, temporal=None)  # type: ignore[arg-type]
    happened: list[str] = []

    def on(name: str) -> Any:
        return lambda *args: happened.append(name)

    listeners = [
        (target, name, on(name))
        for target, name in [
            (engine.pool, "checkout"),
            (engine, "begin"),
            (engine, "commit"),
            (engine, "rollback"),
        ]
    ]
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    try:
        shown = reads.case_detail(services, SUPERVISOR, case_id)
    finally:
        for target, name, listener in listeners:
            event.remove(target, name, listener)
    assert happened == ["checkout", "begin", "commit"]
    assert shown["circumstances"]["person"] and shown["notices"] and shown["record"]
    with Session(engine) as session:
        logged = session.execute(
            select(func.count()).where(
                col(AccessRow.case_id) == case_id, col(AccessRow.action) == "case_show"
            )
        ).scalar_one()
    assert logged == 1
