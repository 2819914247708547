"""Reads for supervisors and officers, from the Postgres read model (never by replaying workflows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, case, select
from sqlmodel import Session

from models.tables import CaseRow, OutboxRow, RecordRow
from service.errors import NotFound


@dataclass(frozen=True)
class CaseFilter:
    phase: str | None = None
    hold_active: bool | None = None
    overdue: bool | None = None
    decision_pending: bool | None = None
    force: str | None = None
    crime_type: str | None = None
    referred_from: datetime | None = None
    referred_to: datetime | None = None
    outcome: str | None = None


def list_cases(engine: Engine, where: CaseFilter = CaseFilter()) -> list[CaseRow]:
    """Cases matching the filter, most urgent first: overdue contact and pending decisions, then the
    soonest contact due, then the oldest referral."""
    query = select(CaseRow)
    if where.phase:
        query = query.where(CaseRow.phase == where.phase)
    if where.hold_active is not None:
        query = query.where(CaseRow.hold_active == where.hold_active)
    if where.overdue is not None:
        query = query.where(CaseRow.contact_overdue == where.overdue)
    if where.decision_pending is not None:
        pending = CaseRow.pending_decisions != []  # type: ignore[comparison-overlap]
        query = query.where(pending if where.decision_pending else ~pending)
    if where.force:
        query = query.where(CaseRow.force_code == where.force.upper())
    if where.crime_type:
        query = query.where(CaseRow.crime_type == where.crime_type)
    if where.referred_from:
        query = query.where(CaseRow.referred_at >= where.referred_from)
    if where.referred_to:
        query = query.where(CaseRow.referred_at < where.referred_to)
    if where.outcome:
        query = query.where(CaseRow.outcome == where.outcome)
    urgency = case(
        (CaseRow.contact_overdue, 0),
        (CaseRow.pending_decisions != [], 1),  # type: ignore[comparison-overlap]
        (CaseRow.hold_active, 2),
        else_=3,
    )
    query = query.order_by(urgency, CaseRow.overdue_since, CaseRow.next_contact_due, CaseRow.referred_at)
    with Session(engine) as session:
        return list(session.execute(query).scalars().all())


def get_case(engine: Engine, case_id: str) -> CaseRow:
    with Session(engine) as session:
        row = session.get(CaseRow, case_id)
    if row is None:
        raise NotFound(f"No case {case_id} in the case list. (Just referred? The worker writes it within seconds.)")
    return row


def case_record(engine: Engine, case_id: str) -> list[RecordRow]:
    with Session(engine) as session:
        rows = session.execute(select(RecordRow).where(RecordRow.case_id == case_id).order_by(RecordRow.seq))
        return list(rows.scalars().all())


def case_notices(engine: Engine, case_id: str) -> list[OutboxRow]:
    with Session(engine) as session:
        rows = session.execute(
            select(OutboxRow).where(OutboxRow.case_id == case_id).order_by(OutboxRow.created_at, OutboxRow.key)
        )
        return list(rows.scalars().all())
