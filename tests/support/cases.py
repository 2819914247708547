"""Cases written straight to Postgres as the workflow writes them, for tests of what reads or drains them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from activities.store import CaseStore
from infra.keys import Keys
from models.case import Actor
from models.referral import Referral
from protocol import lifecycle
from protocol.policy import policy
from protocol.screening import screen


def opened_case_with_notices(
    engine: Engine, keys: Keys, case_id: str, referral: Referral, officer: Actor, now: datetime | None = None
) -> str:
    """A case opened, then screened (no record), which queues the acknowledgement to police, the protocol
    notice to the person, and what the case officer must know."""
    now = now or datetime.now(UTC)
    rules = policy()
    opened = lifecycle.open_case(case_id, referral, officer, now, rules)
    screened = lifecycle.screened(opened.state, screen(None, None, now, rules), [], now, rules)
    store = CaseStore(engine, keys)
    write_step(store, case_id, opened, now, opening=True)
    write_step(store, case_id, screened, now)
    return case_id


def write_step(
    store: CaseStore, case_id: str, step: lifecycle.Step, now: datetime, *, opening: bool = False
) -> None:
    """One lifecycle step written as the workflow writes it (`lifecycle.written`, `CaseStore.persist_step`)."""
    assert step.state.case_id == case_id
    store.persist_step(lifecycle.written(step, now, opening=opening))
