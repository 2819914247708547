"""Verification of the case record's hash chain (`mvp audit verify`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlmodel import Session

from models.tables import RecordRow
from service.chain import CHAINED_FIELDS, GENESIS, entry_hash


@dataclass(frozen=True)
class ChainReport:
    case_id: str
    entries: int
    first_broken: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.first_broken is None


def verify(engine: Engine, case_id: str | None = None) -> list[ChainReport]:
    """Recompute every case's chain (or one case's) and name the first broken entry of each."""
    query = select(RecordRow).order_by(RecordRow.case_id, RecordRow.seq)
    if case_id is not None:
        query = query.where(RecordRow.case_id == case_id)
    reports: list[ChainReport] = []
    with Session(engine) as session:
        current: list[RecordRow] = []
        for row in session.execute(query).scalars():
            if current and current[0].case_id != row.case_id:
                reports.append(_check(current))
                current = []
            current.append(row)
        if current:
            reports.append(_check(current))
    return reports


def _check(rows: list[RecordRow]) -> ChainReport:
    case_id = rows[0].case_id
    prev = GENESIS
    for expected_seq, row in enumerate(rows, start=1):
        if row.seq != expected_seq:
            return ChainReport(case_id, len(rows), expected_seq, f"entry {expected_seq} is missing")
        if row.prev_hash != prev:
            return ChainReport(
                case_id, len(rows), row.seq, f"entry {row.seq} does not follow entry {row.seq - 1}"
            )
        fields = {name: getattr(row, name) for name in CHAINED_FIELDS}
        if entry_hash(prev, case_id, row.seq, row.at, fields) != row.entry_hash:
            return ChainReport(
                case_id, len(rows), row.seq, f"entry {row.seq} was altered after it was written"
            )
        prev = row.entry_hash
    return ChainReport(case_id, len(rows))
