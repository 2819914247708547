"""Verification of the case record's hash chain (`mvp audit verify`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlmodel import Session

from infra.chain import CHAINED_FIELDS, GENESIS, entry_hash, note_digest
from models.tables import CaseRow, NoteRow, RecordRow


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
    """Recompute every case's chain (or one case's), and check each sealed note against the digest the
    chain carries; name the first broken entry of each case."""
    query = select(RecordRow).order_by(RecordRow.case_id, RecordRow.seq)
    if case_id is not None:
        query = query.where(RecordRow.case_id == case_id)
    reports: list[ChainReport] = []
    with Session(engine) as session:
        by_case: dict[str, list[RecordRow]] = {}
        for row in session.execute(query).scalars():
            by_case.setdefault(row.case_id, []).append(row)
        for case, rows in by_case.items():
            report = _check(rows)
            if report.intact:
                report = _check_notes(session, case, rows)
            reports.append(report)
    return reports


def _check_notes(session: Session, case_id: str, rows: list[RecordRow]) -> ChainReport:
    notes = {
        n.seq: n.note_sealed
        for n in session.execute(select(NoteRow).where(NoteRow.case_id == case_id)).scalars()
    }
    purged = session.execute(select(CaseRow.purged_at).where(CaseRow.case_id == case_id)).scalar_one_or_none()
    for row in rows:
        if row.note_digest is None:
            continue
        sealed = notes.get(row.seq)
        if sealed is None and purged is None:
            return ChainReport(case_id, len(rows), row.seq, f"the note of entry {row.seq} was removed")
        if sealed is not None and note_digest(sealed) != row.note_digest:
            return ChainReport(case_id, len(rows), row.seq, f"the note of entry {row.seq} was replaced")
    return ChainReport(case_id, len(rows))


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
