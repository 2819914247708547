"""Postgres reads and writes of the enforcement checks: the holds a person matches, and the append-only
record of every check and every enforcement action.

The person arrives as a keyed hash only (`models.enforcement.Subject`), computed at the edge with
`Keys.identity_hash` exactly as `activities.store` keys the holds. Each write is keyed by its id, so a
retried activity writes nothing twice.

A hold carries the keyed hash of a name and date of birth, and (the person only, when the referral or
screening gave one) of a Home Office reference. A check gives one of the two, so the Home Office
reference records bridge them: a check by reference also matches the holds of the name and date of birth
the records give that reference (a dependant, or a person referred with no reference or a mistyped
one); a check by name and date of birth also matches the holds of every reference the records give that
name and date of birth. The subject is a hash, so the records are hashed here with the same key and
compared (`_bridged_keys`); matching more holds can only refuse a check, never permit one.

The reason enforcement gives for a check is free text about a person: it is kept sealed
(`Keyring.seal_text`) in `enforcement_check_reasons`, apart from the append-only log, so that retention
can remove it with the cases it concerned (`activities.retention`).
"""

from __future__ import annotations

from sqlalchemy import Engine, or_, select, union
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col
from temporalio import activity

from activities.store import CaseStore
from infra.keys import Keys
from models.case import DecisionKind, NoticeKind, Outcome, Phase, Recipient
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
from models.tables import (
    CaseRow,
    CriminalRecordRow,
    EnforcementActionRow,
    EnforcementCheckReasonRow,
    EnforcementCheckRow,
    HoldRow,
    ImmigrationStatusRow,
    RecordRow,
)
from protocol.notices import check_task_key, render, task_owner


class EnforcementActivities:
    def __init__(self, engine: Engine, keys: Keys) -> None:
        self.engine = engine
        self.keys = keys

    def _bridged_keys(self, session: Session, subject: Subject) -> set[str]:
        """The keys of the other kind that the Home Office reference records give this subject: for a
        reference, the identity keys of the name and date of birth on its records; for a name and date
        of birth, the reference keys of every record under them (two people alike both count: a wider
        match only refuses). Each record is hashed exactly as `activities.store` hashes a referral."""
        people = union(
            *(
                select(
                    col(table.home_office_ref),
                    col(table.family_name),
                    col(table.given_names),
                    col(table.date_of_birth),
                )
                for table in (ImmigrationStatusRow, CriminalRecordRow)
            )
        )
        bridged: set[str] = set()
        for ref, family, given, born in session.execute(people):
            ref_key = self.keys.identity_hash(ref)
            identity_key = self.keys.identity_hash(family, given, born.isoformat())
            if subject.kind is SubjectKind.ho_ref and ref_key == subject.key:
                bridged.add(identity_key)
            elif subject.kind is SubjectKind.name_dob and identity_key == subject.key:
                bridged.add(ref_key)
        return bridged

    @activity.defn
    def find_holds(self, request: FindHolds) -> HoldMatches:
        """Every hold row whose person or dependant matches, directly or through the Home Office
        reference records (see the module docstring), with its case as the read model has it. The case
        officer is the actor of the case record's first entry (the officer who opened it)."""
        subject = request.subject
        by_ref = subject.kind is SubjectKind.ho_ref
        given, other = (
            (col(HoldRow.ho_ref_key), col(HoldRow.identity_key))
            if by_ref
            else (col(HoldRow.identity_key), col(HoldRow.ho_ref_key))
        )
        with Session(self.engine) as session:
            bridged = self._bridged_keys(session, subject)
            query = (
                select(HoldRow, CaseRow)
                .join(CaseRow, col(CaseRow.case_id) == col(HoldRow.case_id))
                .where(or_(given == subject.key, other.in_(sorted(bridged))))
                .order_by(col(HoldRow.case_id), col(HoldRow.subject))
            )
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
            session.execute(
                insert(EnforcementCheckReasonRow)
                .values(
                    check_id=request.check_id,
                    # bound to its check: it opens only in this row
                    reason_sealed=self.keys.keyring.seal_text(request.reason, request.check_id),
                )
                .on_conflict_do_nothing(index_elements=["check_id"])
            )
            # the case officer has a task before the enforcement user is told so (the case's own step,
            # signalled next, finds it there)
            store = CaseStore(self.engine, self.keys)
            for case_id in verdict.notify_case_ids:
                facts = {"case_id": case_id, "check_id": request.check_id}
                store.raise_task(
                    session,
                    key=check_task_key(request.check_id, case_id),
                    case_id=case_id,
                    kind=NoticeKind.enforcement_check_refused.value,
                    owner=task_owner(Recipient.case_officer, CaseStore.case_officer(session, case_id)),
                    text=render(NoticeKind.enforcement_check_refused.value, facts),
                    language="en",
                    at=request.at,
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
