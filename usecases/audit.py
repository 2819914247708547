"""Verification of the case record (`mvp audit verify`): each case's hash chain and notes, its sealed
referral opening for its own case, and the whole record against the latest signed checkpoint
(`infra.checkpoint`), which shows what the chain alone cannot: entries rewritten with the chain recomputed,
a deleted tail or case, a purge marked by hand."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from activities.checkpoint import cases_now, snapshot
from infra.chain import CHAINED_FIELDS, GENESIS, entry_hash, note_digest, referral_binding
from infra.checkpoint import DirectoryStore, Latest, compare
from infra.errors import CaseKeyDestroyed, SealedElsewhere
from infra.keys import Keys
from models.tables import CaseRow, NoteRow, RecordRow


@dataclass(frozen=True)
class ChainReport:
    case_id: str
    entries: int
    first_broken: int | None = None  # the first broken entry, where it can be named
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class Verification:
    """The latest checkpoint as found (its signature checked first), and a report per case."""

    checkpoint: Latest
    cases: list[ChainReport]

    @property
    def intact(self) -> bool:
        return self.checkpoint.status != "forged" and all(r.intact for r in self.cases)


def verify_record(
    engine: Engine, store: DirectoryStore, keys: Keys | None = None, case_id: str | None = None
) -> Verification:
    """Everything `mvp audit verify` checks, for every case (or one): the latest checkpoint's signature,
    then each case's chain and notes (`verify`), then the record against the checkpoint (a case deleted,
    truncated or rewritten; a purge that is neither in the checkpoint nor in the record since), then,
    with `keys`, that each sealed referral opens for its own case (a swap does not)."""
    latest = store.latest()
    trusted = latest.checkpoint if latest.status == "verified" else None
    by_case = {r.case_id: r for r in verify(engine, case_id)}
    with snapshot(engine) as session:
        findings = compare(trusted, cases_now(session, trusted, case_id), case_id)
        for finding in findings:
            report = by_case.get(finding.case_id)
            if report is None or report.intact:
                entries = report.entries if report else 0
                by_case[finding.case_id] = ChainReport(
                    finding.case_id, entries, finding.first_broken, finding.problem
                )
        if keys is not None:
            for report in list(by_case.values()):
                if report.intact and not _referral_opens(session, keys, report.case_id):
                    by_case[report.case_id] = ChainReport(
                        report.case_id,
                        report.entries,
                        None,
                        "its sealed referral does not open for this case (moved from another case, or altered)",
                    )
    return Verification(latest, [by_case[c] for c in sorted(by_case)])


def _referral_opens(session: Session, keys: Keys, case_id: str) -> bool:
    sealed = session.execute(
        select(col(CaseRow.referral_sealed)).where(col(CaseRow.case_id) == case_id)
    ).scalar_one_or_none()
    if sealed is None:
        return True  # purged (the checkpoint and the record say whether rightly), or no case row
    try:
        keys.sealer.open_text(case_id, sealed, referral_binding(case_id))
    except (InvalidTag, SealedElsewhere):
        return False
    except CaseKeyDestroyed:
        return True  # purged: its data key is gone (the checkpoint and the record say whether rightly)
    return True


def verify(engine: Engine, case_id: str | None = None) -> list[ChainReport]:
    """Recompute every case's chain (or one case's), and check each sealed note against the digest the
    chain carries; name the first broken entry of each case."""
    query = select(RecordRow).order_by(col(RecordRow.case_id), col(RecordRow.seq))
    if case_id is not None:
        query = query.where(col(RecordRow.case_id) == case_id)
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
        for n in session.execute(select(NoteRow).where(col(NoteRow.case_id) == case_id)).scalars()
    }
    purged = session.execute(
        select(col(CaseRow.purged_at)).where(col(CaseRow.case_id) == case_id)
    ).scalar_one_or_none()
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
