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
compared (`_matches`); matching more holds can only refuse a check, never permit one.

Possible matches (`protocol.identity`, PROTOCOL.md §6): keyed hashes cannot be compared for nearness, so
a check by name and date of birth brings the keyed hashes of the date and of its near dates, and its
normalised name sealed; the holds with one of those dates are the candidates, and each candidate's sealed
name is opened here and scored. A check by reference brings the keyed hashes of its near references.

The reason enforcement gives for a check is free text about a person: it is kept sealed
(`Keyring.seal_text`) in `enforcement_check_reasons`, apart from the append-only log, so that retention
can remove it with the cases it concerned (`activities.retention`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, select, union
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col
from temporalio import activity

from activities.store import CaseStore
from infra.keys import Keys
from models.case import DecisionKind, NoticeKind, Outcome, Phase, Recipient
from models.enforcement import (
    SUBJECT_BINDING,
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
    EnforcementSubjectRow,
    HoldRow,
    ImmigrationStatusRow,
    RecordRow,
)
from protocol.identity import Match, match_name_and_birth, name_tokens, near_dates_of_birth, strongest
from protocol.notices import check_task_key, render, task_owner


class EnforcementActivities:
    def __init__(self, engine: Engine, keys: Keys) -> None:
        self.engine = engine
        self.keys = keys

    def _name_of(self, hold: HoldRow) -> tuple[str, ...]:
        """The normalised name sealed in a hold row (bound to its case and subject)."""
        assert hold.name_sealed is not None
        binding = f"{hold.case_id}:{hold.subject}"
        return tuple(self.keys.sealer.open_text(hold.case_id, hold.name_sealed, binding).split())

    def _by_person(
        self,
        session: Session,
        tokens: tuple[str, ...] | None,
        exact_key: str,
        birth_key: str | None,
        near_birth_keys: set[str],
    ) -> dict[tuple[str, str], Match]:
        """Holds of a person given by name and date of birth: exact by the keyed hash; possible among the
        holds whose date of birth is the same or near (found by keyed hashes), scored on the sealed name."""
        found: dict[tuple[str, str], Match] = {}
        for hold in session.execute(select(HoldRow).where(col(HoldRow.identity_key) == exact_key)).scalars():
            found[(hold.case_id, hold.subject)] = Match.exact
        births = sorted(near_birth_keys | ({birth_key} if birth_key else set()))
        if tokens is None or not births:
            return found
        candidates = session.execute(select(HoldRow).where(col(HoldRow.birth_key).in_(births))).scalars()
        for hold in candidates:
            if hold.name_sealed is None:
                continue
            scored = match_name_and_birth(
                tokens,
                self._name_of(hold),
                same_birth=hold.birth_key == birth_key,
                near_birth=hold.birth_key in near_birth_keys,
            )
            key = (hold.case_id, hold.subject)
            found[key] = strongest([scored, found.get(key, Match.none)])
        return found

    def _by_reference(
        self, session: Session, exact_key: str, near_keys: list[str]
    ) -> dict[tuple[str, str], Match]:
        found: dict[tuple[str, str], Match] = {}
        query = select(HoldRow).where(col(HoldRow.ho_ref_key).in_([exact_key, *near_keys]))
        for hold in session.execute(query).scalars():
            found[(hold.case_id, hold.subject)] = (
                Match.exact if hold.ho_ref_key == exact_key else Match.possible
            )
        return found

    def _person_keys(self, family: str, given: str, born: date) -> tuple[tuple[str, ...], str, str, set[str]]:
        """A Home Office record's person as the hold rows key it: name tokens, exact key, birth keys."""
        return (
            name_tokens(family, given),
            self.keys.person_hash(family, given, born.isoformat()),
            self.keys.birth_hash(born.isoformat()),
            {self.keys.birth_hash(d.isoformat()) for d in near_dates_of_birth(born)},
        )

    def _matches(self, session: Session, subject: Subject) -> dict[tuple[str, str], Match]:
        """Every hold the subject matches, directly or bridged by the Home Office reference records (see
        the module docstring), with how strongly. A bridged match is exact only if both of its steps are."""
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
        found: dict[tuple[str, str], Match] = {}

        def add(more: dict[tuple[str, str], Match], at_most: Match = Match.exact) -> None:
            for key, how in more.items():
                if at_most is Match.possible:
                    how = Match.possible
                found[key] = strongest([how, found.get(key, Match.none)])

        if subject.kind is SubjectKind.ho_ref:
            add(self._by_reference(session, subject.key, subject.near_ref_keys))
            near = set(subject.near_ref_keys)
            for ref, family, given, born in session.execute(people):
                ref_key = self.keys.reference_hash(ref)
                if ref_key != subject.key and ref_key not in near:
                    continue
                tokens, exact_key, birth_key, near_births = self._person_keys(family, given, born)
                add(
                    self._by_person(session, tokens, exact_key, birth_key, near_births),
                    Match.exact if ref_key == subject.key else Match.possible,
                )
            return found

        given_name = (
            tuple(self.keys.keyring.open_text(subject.name_sealed, SUBJECT_BINDING).split())
            if subject.name_sealed
            else None
        )
        near_births = set(subject.near_birth_keys)
        add(self._by_person(session, given_name, subject.key, subject.birth_key, near_births))
        for ref, family, given, born in session.execute(people):
            record_birth = self.keys.birth_hash(born.isoformat())
            if self.keys.person_hash(family, given, born.isoformat()) == subject.key:
                how = Match.exact
            elif given_name is not None and (
                record_birth == subject.birth_key or record_birth in near_births
            ):
                how = match_name_and_birth(
                    given_name,
                    name_tokens(family, given),
                    same_birth=record_birth == subject.birth_key,
                    near_birth=record_birth in near_births,
                )
            else:
                continue
            if how is not Match.none:
                add(self._by_reference(session, self.keys.reference_hash(ref), []), how)
        return found

    @activity.defn
    def find_holds(self, request: FindHolds) -> HoldMatches:
        """Every hold row whose person or dependant matches, exactly or possibly, directly or through the
        Home Office reference records (see the module docstring), with its case as the read model has
        it, and its case officer now (`cases.case_officer`; for a case from before case officers, the actor of
        the case record's first entry, the officer who opened it)."""
        with Session(self.engine) as session:
            found = self._matches(session, request.subject)
            case_ids = sorted({case_id for case_id, _ in found})
            cases = {
                case.case_id: case
                for case in session.execute(
                    select(CaseRow).where(col(CaseRow.case_id).in_(case_ids))
                ).scalars()
            }
            holds = {
                (hold.case_id, hold.subject): hold
                for hold in session.execute(
                    select(HoldRow).where(col(HoldRow.case_id).in_(case_ids))
                ).scalars()
            }
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
                    case_officer=case.case_officer or officers.get(hold.case_id),
                    possible=how is Match.possible,
                )
                for key, how in sorted(found.items())
                if how is not Match.none and (hold := holds[key]) is not None and (case := cases[key[0]])
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
                    possible_match=verdict.possible_match,
                )
                .on_conflict_do_nothing(index_elements=["check_id"])
            )
            # apart from the append-only log, so that retention can remove it (migration 0007)
            session.execute(
                insert(EnforcementSubjectRow)
                .values(check_id=request.check_id, subject_key=request.subject.key)
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
            subject = session.get(EnforcementSubjectRow, request.check_id)
            if row is None or subject is None:
                # a check whose subject was removed at retention cannot support an action: as if unknown
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
                    subject=Subject(kind=SubjectKind(row.subject_kind), key=subject.subject_key),
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
                    action=request.action.value,  # the person is the check's subject (0007)
                    case_id=request.case_id,
                )
                .on_conflict_do_nothing()
            )
            mine = session.get(EnforcementActionRow, request.action_id)
        return ActionRecorded(recorded=mine is not None)
