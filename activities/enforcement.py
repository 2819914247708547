"""Postgres reads and writes of the enforcement checks: the holds a person matches, and the append-only
record of every check and every enforcement action.

The person arrives as a keyed hash only (`models.enforcement.Subject`), computed at the edge with
`Keys.identity_hash` exactly as `activities.store` keys the holds. Each write is keyed by its id, so a
retried activity writes nothing twice.
"""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col
from temporalio import activity

from models.case import DecisionKind, Outcome, Phase
from models.enforcement import (
    ActionRecorded,
    CheckFound,
    CheckOnRecord,
    EnforcementAction,
    FindHolds,
    HoldMatch,
    HoldMatches,
    LoadCheck,
    RecordAction,
    RecordCheck,
    Subject,
    SubjectKind,
)
from models.tables import CaseRow, EnforcementActionRow, EnforcementCheckRow, HoldRow, RecordRow


class EnforcementActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn
    def find_holds(self, request: FindHolds) -> HoldMatches:
        """Every hold row whose person or dependant matches, with its case as the read model has it.
        The case officer is the actor of the case record's first entry (the officer who opened it)."""
        subject = request.subject
        column = col(HoldRow.ho_ref_key) if subject.kind is SubjectKind.ho_ref else col(HoldRow.identity_key)
        query = (
            select(HoldRow, CaseRow)
            .join(CaseRow, col(CaseRow.case_id) == col(HoldRow.case_id))
            .where(column == subject.key)
            .order_by(col(HoldRow.case_id), col(HoldRow.subject))
        )
        with Session(self.engine) as session:
            rows = session.execute(query).all()
            case_ids = sorted({hold.case_id for hold, _ in rows})
            first_entries = select(col(RecordRow.case_id), col(RecordRow.actor)).where(
                col(RecordRow.case_id).in_(case_ids), col(RecordRow.seq) == 1
            )
            officers: dict[str, str] = dict(session.execute(first_entries).all())
        return HoldMatches(
            matches=[
                HoldMatch(
                    case_id=hold.case_id,
                    subject=hold.subject,
                    hold_active=hold.active or case.hold_active,  # either says in force: in force
                    phase=Phase(case.phase),
                    outcome=Outcome(case.outcome) if case.outcome else None,
                    pending_decisions=[DecisionKind(d) for d in case.pending_decisions],
                    lifted_by=hold.lifted_by,
                    case_officer=officers.get(hold.case_id),
                )
                for hold, case in rows
            ]
        )

    @activity.defn
    def record_check(self, request: RecordCheck) -> None:
        verdict = request.verdict
        with Session(self.engine) as session, session.begin():
            session.execute(
                insert(EnforcementCheckRow)
                .values(
                    check_id=request.check_id,
                    at=request.at,
                    actor=request.actor.label(),
                    reason=request.reason,
                    verdict=verdict.word,
                    verdict_reason=verdict.reason,
                    case_id=verdict.case_ids[0] if verdict.case_ids else None,
                    case_ids=verdict.case_ids,
                    officers=verdict.officers,
                    subject_kind=request.subject.kind.value,
                    subject_key=request.subject.key,
                )
                .on_conflict_do_nothing(index_elements=["check_id"])
            )

    @activity.defn
    def load_check(self, request: LoadCheck) -> CheckFound:
        with Session(self.engine) as session:
            row = session.get(EnforcementCheckRow, request.check_id)
            if row is None:
                return CheckFound(check=None)
            actions = session.execute(
                select(col(EnforcementActionRow.action)).where(
                    col(EnforcementActionRow.check_id) == request.check_id
                )
            ).scalars()
            return CheckFound(
                check=CheckOnRecord(
                    check_id=row.check_id,
                    at=row.at,
                    actor=row.actor,
                    permitted=row.verdict == "permitted",
                    subject=Subject(kind=SubjectKind(row.subject_kind), key=row.subject_key),
                    case_ids=list(row.case_ids),
                    actions=[EnforcementAction(a) for a in actions],
                )
            )

    @activity.defn
    def record_action(self, request: RecordAction) -> ActionRecorded:
        """Write the action once. If the same action on the same check was written by another request
        meanwhile, nothing is written and `recorded` is False."""
        with Session(self.engine) as session, session.begin():
            session.execute(
                insert(EnforcementActionRow)
                .values(
                    action_id=request.action_id,
                    check_id=request.check_id,
                    at=request.at,
                    actor=request.actor.label(),
                    action=request.action.value,
                    subject_key=request.subject_key,
                    case_id=request.case_id,
                )
                .on_conflict_do_nothing()
            )
            mine = session.get(EnforcementActionRow, request.action_id)
        return ActionRecorded(recorded=mine is not None)
