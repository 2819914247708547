"""Reads for supervisors and officers, from the Postgres read model (never by replaying workflows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Engine, and_, case, select
from sqlmodel import Session, col

from infra.errors import InputError, NotFound
from models.case import DecisionKind, Outcome, Phase
from models.referral import CrimeType
from models.tables import AccessRow, CaseRow, NoteRow, OutboxRow, RecordRow


@dataclass(frozen=True)
class CaseFilter:
    phase: str | None = None
    hold_active: bool | None = None
    overdue: bool | None = None
    decision_pending: bool | None = None
    pending_kind: str | None = None  # exclusion or release: only cases awaiting that decision
    overdue_for: timedelta | None = None  # contact overdue for at least this long (at `now`)
    force: str | None = None
    crime_type: str | None = None
    referred_from: datetime | None = None
    referred_to: datetime | None = None
    outcome: str | None = None
    case_officer: str | None = None  # actor label: only the cases this officer owns


def _one_of(option: str, value: str | None, allowed: type[StrEnum], *also: str) -> None:
    choices = [*also, *(v.value for v in allowed)]
    if value is not None and value not in choices:
        listed = ", ".join(choices)
        raise InputError(f"{option} {value!r} is not known: give one of {listed}.")


def check_filter(where: CaseFilter) -> None:
    """Refuse a filter value that can match nothing because it is misspelt (exit 2), naming the choices."""
    _one_of("--phase", where.phase, Phase)
    _one_of("--outcome", where.outcome, Outcome)
    _one_of("--crime-type", where.crime_type, CrimeType)
    _one_of("--pending", where.pending_kind, DecisionKind, "any")
    if where.overdue_for is not None and where.overdue_for < timedelta(0):
        raise InputError("--overdue-for takes a number of days, 0 or more.")
    if where.referred_from and where.referred_to and where.referred_from >= where.referred_to:
        raise InputError("--from must be before --to (cases referred on or after --from and before --to).")


def days_overdue(row: CaseRow, now: datetime) -> int | None:
    """Whole days since the contact became overdue (0 on its first day), or None when it is not."""
    if not row.contact_overdue or row.overdue_since is None:
        return None
    return max((now - row.overdue_since) // timedelta(days=1), 0)


def list_cases(
    engine: Engine, where: CaseFilter = CaseFilter(), now: datetime | None = None
) -> list[CaseRow]:
    """Cases matching the filter, most urgent first: a case whose workflow was lost outside the service
    (`activities.watch`), then contact overdue with a supervisor's decision pending, then contact
    overdue, then a decision pending, then the other open cases, then closed ones; within each, the
    longest overdue first, then the soonest contact due, then the oldest referral. `now` (default: the
    clock) is what `overdue_for` is measured from."""
    check_filter(where)
    query = select(CaseRow)
    if where.phase:
        query = query.where(col(CaseRow.phase) == where.phase)
    if where.hold_active is not None:
        query = query.where(col(CaseRow.hold_active) == where.hold_active)
    if where.overdue is not None:
        query = query.where(col(CaseRow.contact_overdue) == where.overdue)
    if where.decision_pending is not None:
        pending = col(CaseRow.pending_decisions) != []
        query = query.where(pending if where.decision_pending else ~pending)
    if where.pending_kind:
        query = query.where(col(CaseRow.pending_decisions).contains([where.pending_kind]))
    if where.overdue_for is not None:
        since = (now or datetime.now(UTC)) - where.overdue_for
        query = query.where(and_(col(CaseRow.contact_overdue), col(CaseRow.overdue_since) <= since))
    if where.force:
        query = query.where(col(CaseRow.force_code) == where.force.upper())
    if where.crime_type:
        query = query.where(col(CaseRow.crime_type) == where.crime_type)
    if where.referred_from:
        query = query.where(col(CaseRow.referred_at) >= where.referred_from)
    if where.referred_to:
        query = query.where(col(CaseRow.referred_at) < where.referred_to)
    if where.outcome:
        query = query.where(col(CaseRow.outcome) == where.outcome)
    if where.case_officer:
        query = query.where(col(CaseRow.case_officer) == where.case_officer)
    pending_any = col(CaseRow.pending_decisions) != []
    urgency = case(
        (and_(col(CaseRow.phase) != "closed", col(CaseRow.engine_alert).is_not(None)), 0),
        (and_(col(CaseRow.contact_overdue), pending_any), 1),
        (col(CaseRow.contact_overdue), 2),
        (pending_any, 3),
        (col(CaseRow.phase) != "closed", 4),
        else_=5,
    )
    query = query.order_by(
        urgency, col(CaseRow.overdue_since), col(CaseRow.next_contact_due), col(CaseRow.referred_at)
    )
    with Session(engine) as session:
        return list(session.execute(query).scalars().all())


def case_exists(engine: Engine, case_id: str) -> bool:
    with Session(engine) as session:
        return session.get(CaseRow, case_id) is not None


def get_case(engine: Engine, case_id: str) -> CaseRow:
    with Session(engine) as session:
        row = session.get(CaseRow, case_id)
    if row is None:
        raise NotFound(
            f"No case {case_id} in the case list. (Just referred? The worker writes it within seconds.)"
        )
    return row


def case_record(engine: Engine, case_id: str) -> list[RecordRow]:
    with Session(engine) as session:
        rows = session.execute(
            select(RecordRow).where(col(RecordRow.case_id) == case_id).order_by(col(RecordRow.seq))
        )
        return list(rows.scalars().all())


def case_notices(engine: Engine, case_id: str) -> list[OutboxRow]:
    with Session(engine) as session:
        rows = session.execute(
            select(OutboxRow)
            .where(col(OutboxRow.case_id) == case_id)
            .order_by(col(OutboxRow.created_at), col(OutboxRow.key))
        )
        return list(rows.scalars().all())


def record_access(
    engine: Engine, actor: str, action: str, case_id: str | None, detail: dict[str, object]
) -> None:
    """Append a read to the access log (PROTOCOL.md §10): who read what, when. Written before the data is
    shown, so an unrecorded read cannot happen."""
    with Session(engine) as session, session.begin():
        session.add(
            AccessRow(at=datetime.now(UTC), actor=actor, action=action, case_id=case_id, detail=detail)
        )


def case_notes(engine: Engine, case_id: str) -> dict[int, str]:
    """Sealed notes by record entry."""
    with Session(engine) as session:
        rows = session.execute(select(NoteRow).where(col(NoteRow.case_id) == case_id)).scalars().all()
        return {row.seq: row.note_sealed for row in rows}
