"""Retention (PROTOCOL.md §10): personal data of cases closed longer than their policy's retention
period is removed; the anonymised facts the statistics need (the read model's codes and dates, the
case record) are kept. An open case is never touched."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, select, update
from sqlmodel import Session, col

from infra.keys import Keys
from models.case import RecordEntry
from models.tables import (
    CaseRow,
    EnforcementCheckReasonRow,
    EnforcementCheckRow,
    HoldRow,
    NoteRow,
    OutboxRow,
    TaskRow,
)
from protocol.policy import policy


@dataclass(frozen=True)
class Purged:
    case_id: str
    outcome: str | None
    closed_at: datetime
    holds_removed: int
    addresses_removed: int
    data_key_destroyed: bool = False


def due_for_purge(engine: Engine, now: datetime) -> list[CaseRow]:
    """Closed, not yet purged cases whose policy's retention period has run out."""
    with Session(engine) as session:
        closed = session.execute(
            select(CaseRow).where(col(CaseRow.phase) == "closed", col(CaseRow.purged_at).is_(None))
        ).scalars()
        return [
            row
            for row in closed
            if row.closed_at is not None
            and row.closed_at + policy(row.policy_version).retention_after_closure <= now
        ]


def destroy_case_key(keys: Keys, case_id: str) -> bool:
    """Crypto-shredding: destroy the case's data key, so every copy of its personal data anywhere (every
    Temporal run and archived history, database dumps and WAL) can no longer be opened. Idempotent: True
    only when there was a key to destroy. Only for a case whose purge is committed (`purge_case`)."""
    if keys.case_keys is None:
        return False
    return keys.case_keys.destroy(case_id)


def purge_case(engine: Engine, keys: Keys, row: CaseRow, now: datetime, actor: str) -> Purged:
    """Remove one closed case's personal data in one transaction, and say so in its record; then destroy
    the case's data key (`destroy_case_key`), which also shreds every copy kept outside this database."""
    from activities.store import CaseStore

    assert row.phase == "closed" and row.closed_at is not None, "only a closed case is purged"
    with Session(engine) as session, session.begin():
        locked = session.execute(
            select(CaseRow).where(CaseRow.case_id == row.case_id).with_for_update()  # type: ignore[arg-type]
        ).scalar_one()
        if locked.phase != "closed" or locked.purged_at is not None:
            already = locked.purged_at is not None and destroy_case_key(keys, row.case_id)
            return Purged(row.case_id, row.outcome, row.closed_at, 0, 0, already)
        holds = session.execute(delete(HoldRow).where(HoldRow.case_id == row.case_id))  # type: ignore[arg-type]
        addresses = session.execute(
            update(OutboxRow)
            .where(OutboxRow.case_id == row.case_id, OutboxRow.address_sealed.is_not(None))  # type: ignore[arg-type,union-attr]
            .values(address_sealed=None)
        )
        session.execute(delete(NoteRow).where(NoteRow.case_id == row.case_id))  # type: ignore[arg-type]
        # tasks keep who did what and when; their texts (the person's circumstances) go
        task_keys = select(col(TaskRow.key)).where(col(TaskRow.case_id) == row.case_id)
        for task_key in session.execute(task_keys).scalars():
            session.execute(
                update(TaskRow)
                .where(col(TaskRow.key) == task_key)
                .values(
                    text_sealed=keys.keyring.seal_text(
                        "(removed: retention period ended)", f"task:{task_key}"
                    )
                )
            )
        # why enforcement checked the person, for every check on this case (refused, or permitted after
        # a supervisor lifted the hold)
        checked = select(col(EnforcementCheckRow.check_id)).where(
            col(EnforcementCheckRow.case_ids).contains([row.case_id])
        )
        session.execute(
            delete(EnforcementCheckReasonRow).where(col(EnforcementCheckReasonRow.check_id).in_(checked))
        )
        locked.referral_sealed = None
        locked.crime_ref_key = None
        locked.purged_at = now
        seq = CaseStore.last_seq(session, row.case_id) + 1
        CaseStore.append_entry(
            session,
            row.case_id,
            RecordEntry(
                seq=seq,
                at=now,
                actor=actor,
                action="personal_data_purged",
                summary=(
                    "retention period ended: referral, notes, hold identities, notice addresses, task texts "
                    "and enforcement check reasons removed, and the case's data key destroyed"
                ),
            ),
        )
    # after the commit: a purge that failed leaves the key, and the data it still has, readable
    destroyed = destroy_case_key(keys, row.case_id)
    return Purged(row.case_id, row.outcome, row.closed_at, holds.rowcount, addresses.rowcount, destroyed)  # type: ignore[attr-defined]
