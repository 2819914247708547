"""Cases written straight to Postgres as the workflow writes them, for tests of what reads or drains them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from activities.store import CaseStore
from infra.keys import Keys
from models.case import Actor
from models.messages import PersistStep
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
    for step, opening in ((opened, referral), (screened, None)):
        store.persist_step(
            PersistStep(
                case_id=case_id,
                at=now,
                view=lifecycle.view(step.state, now, rules),
                records=step.records,
                notices=step.notices,
                referral=opening,
            )
        )
    return case_id
