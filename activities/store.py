"""Postgres writes of the case workflow: the read model, the holds, the case record and the outbox.

One activity, one transaction: a step of a case is written whole or not at all, and writing it twice
(a retried activity) changes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col
from temporalio import activity
from temporalio.exceptions import ApplicationError

from infra.casekeys import is_case_sealed
from infra.chain import (
    CHAINED_FIELDS,
    GENESIS,
    address_binding,
    entry_hash,
    note_binding,
    note_digest,
    referral_binding,
)
from infra.keys import Keyring, Keys
from models.case import CaseView, Notice, NoticeKind, Recipient, RecordEntry
from models.messages import PersistStep
from models.referral import Referral
from models.tables import CaseRow, HoldRow, NoteRow, OutboxRow, RecordRow, TaskRow
from protocol import statistics
from protocol.identity import name_key
from protocol.notices import (
    INTERNAL,
    SUPPRESSED,
    Routing,
    route,
    task_due,
    task_key,
    task_owner,
    task_text,
    undeliverable,
)


class CaseStore:
    def __init__(self, engine: Engine, keys: Keys) -> None:
        self.engine = engine
        self.keys = keys

    @activity.defn
    def persist_step(self, step: PersistStep) -> None:
        """One step of a case in one transaction, in as few statements as the rows allow (issue 14): a new case
        is inserted with its whole projection and its holds in one statement each, and the record's entries
        with one look-up of the chain for the step, not three statements an entry."""
        with Session(self.engine) as session, session.begin():
            opened = self._open(session, step) if step.referral is not None else False
            if not opened:  # a case just inserted already carries this step's projection
                self._project(session, step)
            if step.matched_home_office_ref:
                session.execute(
                    update(HoldRow)
                    .where(HoldRow.case_id == step.case_id, HoldRow.subject == "person")  # type: ignore[arg-type]
                    .where(HoldRow.ho_ref_key.is_(None))  # type: ignore[union-attr]
                    .values(ho_ref_key=self.keys.reference_hash(step.matched_home_office_ref))
                )
            self.append_entries(
                session,
                step.case_id,
                [
                    (
                        entry,
                        self.keys.sealer.seal_text(
                            step.case_id, entry.note, note_binding(step.case_id, entry.seq)
                        )
                        if entry.note
                        else None,
                    )
                    for entry in step.records
                ],
                fresh=opened,
            )
            if step.amended_referral is not None:
                self._amend(session, step, step.amended_referral)
            if step.notices:  # routing needs the safe-contact details: open the sealed referral only then
                referral = step.referral or step.amended_referral or self._referral(session, step.case_id)
                for notice in step.notices:
                    self._queue(session, step.case_id, notice, referral, step.at)

    def _open(self, session: Session, step: PersistStep) -> bool:
        """Insert the case, projected as of this step, and a hold for each person it covers, before anything
        else is written for it. True when this call inserted it; False for a retry of this opening."""
        referral = step.referral
        assert referral is not None
        view = step.view
        inserted = session.execute(
            insert(CaseRow)
            .values(
                case_id=step.case_id,
                policy_version=view.policy_version,
                force_code=view.force_code,
                crime_type=view.crime_type,
                role=view.role,
                referral_channel=view.referral_channel,
                referred_at=view.referred_at,
                opened_at=view.opened_at,
                referral_sealed=self.keys.sealer.seal_text(
                    step.case_id, referral.model_dump_json(), referral_binding(step.case_id)
                ),
                **self._finding_keys(referral),
                **self._projection(step),
            )
            .on_conflict_do_nothing(index_elements=["case_id"])
            .returning(col(CaseRow.case_id))
        ).scalar_one_or_none()
        if inserted is not None:
            self._place_holds(session, step.case_id, referral, step.view, view.opened_at)
            return True
        opened = session.execute(
            select(col(CaseRow.opened_at)).where(col(CaseRow.case_id) == step.case_id)
        ).scalar_one()
        if opened != view.opened_at:  # not a retry of this opening: an earlier case had this id
            raise ApplicationError(
                f"Case id {step.case_id} belongs to an earlier case (opened {opened:%Y-%m-%d}); this run was "
                "refused so that it cannot overwrite that case's record.",
                type="CaseIdTaken",
                non_retryable=True,
            )
        self._place_holds(session, step.case_id, referral, step.view, view.opened_at)
        return False

    def _place_holds(
        self, session: Session, case_id: str, referral: Referral, view: CaseView, at: datetime
    ) -> None:
        """A hold row for each subject of the referral that has none yet (a retry, or the dependants
        already held when an amend adds one, change nothing)."""
        person = referral.person
        rows = [
            {
                "case_id": case_id,
                "subject": subject,
                "identity_key": self.keys.person_hash(family, given, born),
                "birth_key": self.keys.birth_hash(born),
                # bound to its row: it opens only as this case's subject
                "name_sealed": self.keys.sealer.seal_text(
                    case_id, name_key(family, given), bound_to=f"{case_id}:{subject}"
                ),
                "ho_ref_key": (
                    self.keys.reference_hash(person.home_office_ref)
                    if subject == "person" and person.home_office_ref
                    else None
                ),
                "active": view.hold.active,
                "grounds": [g.value for g in view.hold.grounds],
                "placed_at": at,
            }
            for subject, family, given, born in _subjects(referral)
        ]
        # one statement for every subject
        session.execute(
            insert(HoldRow).values(rows).on_conflict_do_nothing(index_elements=["case_id", "subject"])
        )

    def _amend(self, session: Session, step: PersistStep, referral: Referral) -> None:
        """An officer amended the referral (issue 12): it is sealed again in place of the old one, each new
        dependant gets its hold row, and the notices still pending re-route to the new safe channel.
        Writing it twice (a retried step) gives the same rows."""
        case_id = step.case_id
        session.execute(
            update(CaseRow)
            .where(col(CaseRow.case_id) == case_id)
            .values(
                referral_sealed=self.keys.sealer.seal_text(
                    case_id, referral.model_dump_json(), referral_binding(case_id)
                )
            )
        )
        self._place_holds(session, case_id, referral, step.view, step.at)
        pending = select(OutboxRow).where(
            col(OutboxRow.case_id) == case_id, col(OutboxRow.status) == "pending"
        )
        for row in session.execute(pending.with_for_update()).scalars():
            notice = Notice(
                key=row.key, recipient=Recipient(row.recipient), kind=NoticeKind(row.kind), facts=row.facts
            )
            routing, status = self._route(session, case_id, notice, referral, step.at)
            row.channel = routing.channel
            row.language = routing.language
            row.status = status
            row.suppressed_reason = routing.suppressed_reason
            row.address_sealed = (
                self.keys.sealer.seal_text(case_id, routing.address, address_binding(notice.key))
                if routing.address
                else None
            )
        session.flush()

    def _finding_keys(self, referral: Referral) -> dict[str, str]:
        """The keyed hashes a case is found by (`mvp cases find`): never the reference or id in clear."""
        return {
            "crime_ref_key": self.keys.crime_reference_hash(referral.crime_reference),
            "referral_id_key": self.keys.referral_id_hash(referral.referral_id),
            "officer_key": self.keys.officer_hash(referral.referring_officer.officer_id),
        }

    def key_cases_for_finding(self) -> int:
        """Key the cases written before `mvp cases find` (migration 0008: no `referral_id_key`) from each
        case's sealed referral, as `_open` keys them now. Idempotent and cheap once done; a case whose
        referral was purged stays unkeyed (it has nothing left to find it by). Returns how many were keyed."""
        keyed = 0
        with Session(self.engine) as session, session.begin():
            old = (
                select(CaseRow)
                .where(col(CaseRow.referral_id_key).is_(None), col(CaseRow.referral_sealed).is_not(None))
                .with_for_update()
            )
            for case in session.execute(old).scalars():
                for name, value in self._finding_keys(self._referral(session, case.case_id)).items():
                    setattr(case, name, value)
                keyed += 1
        return keyed

    def rekey_old_holds(self) -> int:
        """Key the holds written before identity matching (migration 0004: no `birth_key`) the way
        `_open` keys them now, from each case's sealed referral: until then a check by a normalised name
        would miss them. Idempotent and cheap once done (only rows without a birth key are read). A hold
        whose referral was purged is left as it is. Returns how many hold rows were re-keyed. The
        reference screening matched (not in the referral) is not known here: such a row keeps its old
        reference key, still found through the Home Office records by its name and date of birth."""
        rekeyed = 0
        with Session(self.engine) as session, session.begin():
            old = select(HoldRow).where(col(HoldRow.birth_key).is_(None)).with_for_update()
            holds = list(session.execute(old).scalars())
            for case_id in sorted({h.case_id for h in holds}):
                case = session.get(CaseRow, case_id)
                if case is None or case.referral_sealed is None:
                    continue
                referral = self._referral(session, case_id)
                case.crime_ref_key = self.keys.crime_reference_hash(referral.crime_reference)
                people = {
                    subject: (family, given, born) for subject, family, given, born in _subjects(referral)
                }
                for hold in (h for h in holds if h.case_id == case_id and h.subject in people):
                    family, given, born = people[hold.subject]
                    hold.identity_key = self.keys.person_hash(family, given, born)
                    hold.birth_key = self.keys.birth_hash(born)
                    hold.name_sealed = self.keys.sealer.seal_text(
                        case_id, name_key(family, given), bound_to=f"{case_id}:{hold.subject}"
                    )
                    if hold.subject == "person" and referral.person.home_office_ref:
                        hold.ho_ref_key = self.keys.reference_hash(referral.person.home_office_ref)
                    rekeyed += 1
        return rekeyed

    def bind_old_seals(self) -> int:
        """Re-seal, bound to their own rows, the referrals and notice addresses sealed before binding
        (`infra.chain.referral_binding`, `address_binding`); until then they would not open. A referral is
        re-sealed only when it is this case's own (its force and referral id give this case id): one moved
        from another case stays as it is, and does not open. Returns how many values were re-sealed.
        (Every sealed value is tried once per worker start; the ones already bound open at the first try.)"""
        keyring = self.keys.keyring
        bound = 0
        with Session(self.engine) as session, session.begin():
            sealed_cases = select(CaseRow).where(col(CaseRow.referral_sealed).is_not(None)).with_for_update()
            for case in session.execute(sealed_cases).scalars():
                assert case.referral_sealed is not None
                if is_case_sealed(case.referral_sealed):
                    continue  # sealed under the case's own key: always bound
                if _opens(keyring, case.referral_sealed, referral_binding(case.case_id)):
                    continue
                text = _opened(keyring, case.referral_sealed, "")
                if text is None:
                    continue
                referral = Referral.model_validate_json(text)
                if self.keys.case_id(referral.force_code, referral.referral_id) != case.case_id:
                    continue
                case.referral_sealed = self.keys.sealer.seal_text(
                    case.case_id, text, referral_binding(case.case_id)
                )
                bound += 1
            addressed = select(OutboxRow).where(col(OutboxRow.address_sealed).is_not(None)).with_for_update()
            for notice in session.execute(addressed).scalars():
                assert notice.address_sealed is not None
                if is_case_sealed(notice.address_sealed):
                    continue
                if _opens(keyring, notice.address_sealed, address_binding(notice.key)):
                    continue
                text = _opened(keyring, notice.address_sealed, "")
                if text is not None:
                    notice.address_sealed = self.keys.sealer.seal_text(
                        notice.case_id, text, address_binding(notice.key)
                    )
                    bound += 1
        return bound

    def _referral(self, session: Session, case_id: str) -> Referral:
        sealed = session.execute(
            select(col(CaseRow.referral_sealed)).where(col(CaseRow.case_id) == case_id)
        ).scalar_one()
        return Referral.model_validate_json(
            self.keys.sealer.open_text(case_id, sealed, referral_binding(case_id))
        )

    def _project(self, session: Session, step: PersistStep) -> None:
        """The read model and the holds follow the workflow, newest revision wins."""
        view = step.view
        values = self._projection(step)
        if view.case_officer is None:  # a view from before case officers leaves the column as it is
            del values["case_officer"]
        previous_officer = self.case_officer(session, step.case_id)
        result = session.execute(
            update(CaseRow)
            .where(CaseRow.case_id == step.case_id)  # type: ignore[arg-type]
            .where(CaseRow.revision < view.revision)  # type: ignore[arg-type]
            .values(**values)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            return  # a retry of a step already written, or an older one
        if view.case_officer is not None and previous_officer not in (None, view.case_officer):
            # reassigned: the case's open tasks go with it (the step's own notices are queued after this)
            session.execute(
                update(TaskRow)
                .where(
                    col(TaskRow.case_id) == step.case_id,
                    col(TaskRow.owner) == previous_officer,
                    col(TaskRow.state) == "open",
                )
                .values(owner=view.case_officer)
            )
        lifted = not view.hold.active
        session.execute(
            update(HoldRow)
            .where(HoldRow.case_id == step.case_id)  # type: ignore[arg-type]
            .values(
                active=view.hold.active,
                grounds=[g.value for g in view.hold.grounds],
                lifted_at=view.hold.lifted_at if lifted else None,
                lifted_by=step.lifted_by if lifted else None,
            )
        )

    @staticmethod
    def _projection(step: PersistStep) -> dict[str, Any]:
        """The read-model columns a step sets (a new case is inserted with them)."""
        view = step.view
        return {
            "revision": view.revision,
            "phase": view.phase.value,
            "hold_active": view.hold.active,
            "hold_grounds": [g.value for g in view.hold.grounds],
            "outcome": view.outcome.value if view.outcome else None,
            "status_at_referral": view.status_at_referral.value if view.status_at_referral else None,
            "exclusion_indicators": [i.value for i in view.exclusion_indicators],
            "pending_decisions": [d.value for d in view.pending_decisions],
            "contact_overdue": view.contact_overdue,
            "next_contact_due": view.next_contact_due,
            "overdue_since": view.overdue_since,
            "closed_at": view.closed_at,
            "updated_at": step.at,
            "view": view.model_dump(mode="json"),
            "case_officer": view.case_officer,
            **CaseStore._report_columns(view),
        }

    @staticmethod
    def _report_columns(view: CaseView) -> dict[str, Any]:
        """The case's `statistics.Tally`, kept in its row so that `mvp report` only adds it up."""
        its = statistics.tally(
            view.status_at_referral,
            [statistics.ApplicationFact(a.number, a.submitted_at, a.stage) for a in view.applications],
        )
        return {
            "report_status": its.status_row.value,
            "report_may_apply": its.may_need_to_apply,
            "report_stage": its.stage_figure,
            "first_applied_at": its.first_applied_at,
        }

    @staticmethod
    def last_seq(session: Session, case_id: str) -> int:
        found = session.execute(
            select(func.max(RecordRow.seq)).where(RecordRow.case_id == case_id)  # type: ignore[arg-type]
        ).scalar_one()
        return int(found or 0)

    @staticmethod
    def append_entry(
        session: Session, case_id: str, entry: RecordEntry, note_sealed: str | None = None
    ) -> None:
        """Append one entry to a case's hash chain, with its sealed note kept beside it and the note's digest
        in the chain; an entry already there is left as it is (a retried step)."""
        CaseStore.append_entries(session, case_id, [(entry, note_sealed)])

    @staticmethod
    def append_entries(
        session: Session,
        case_id: str,
        entries: list[tuple[RecordEntry, str | None]],
        fresh: bool = False,
    ) -> None:
        """Append a step's entries (each with its sealed note, if any) to the case's hash chain: one look-up of
        the entries already there and the one before the first, one insert of the rest. Entries already there
        are left as they are (a retried step). `fresh`: the case was inserted in this transaction, so its
        record is empty. An entry whose predecessor is missing is refused: the chain stays gapless."""
        if not entries:
            return
        entries = sorted(entries, key=lambda pair: pair[0].seq)
        first, last = entries[0][0].seq, entries[-1][0].seq
        known: dict[int, str] = {}
        if not fresh:
            known = {
                int(seq): str(hashed)
                for seq, hashed in session.execute(
                    select(col(RecordRow.seq), col(RecordRow.entry_hash)).where(
                        col(RecordRow.case_id) == case_id,
                        col(RecordRow.seq) >= first - 1,
                        col(RecordRow.seq) <= last,
                    )
                )
            }
        records: list[dict[str, Any]] = []
        notes: list[dict[str, Any]] = []
        prev: str | None = GENESIS if first == 1 else known.get(first - 1)
        expected = first
        for entry, note_sealed in entries:
            if entry.seq in known:
                prev, expected = known[entry.seq], entry.seq + 1
                continue
            if prev is None or entry.seq != expected:
                raise ApplicationError(
                    f"Record entry {entry.seq} of case {case_id} does not follow the last entry written; "
                    "it was not written, so that the record keeps no gap.",
                    type="RecordGap",
                )
            fields = entry.model_dump(mode="json", include=set(CHAINED_FIELDS) - {"note_digest"})
            fields["note_digest"] = note_digest(note_sealed) if note_sealed is not None else None
            hashed = entry_hash(prev, case_id, entry.seq, entry.at, fields)
            records.append(
                {
                    "case_id": case_id,
                    "seq": entry.seq,
                    "at": entry.at,
                    "prev_hash": prev,
                    "entry_hash": hashed,
                }
                | fields
            )
            if note_sealed is not None:
                notes.append({"case_id": case_id, "seq": entry.seq, "note_sealed": note_sealed})
            prev, expected = hashed, entry.seq + 1
        if notes:
            session.execute(insert(NoteRow).values(notes))
        if records:
            session.execute(insert(RecordRow).values(records))

    def _queue(
        self,
        session: Session,
        case_id: str,
        notice: Notice,
        referral: Referral,
        at: datetime,
        pass_on: Notice | None = None,
    ) -> None:
        """Queue a notice; one addressed inside IE is a task. `pass_on`: the notice to the person that this
        deliver-by-hand task carries, in the person's language."""
        routing, status = self._route(session, case_id, notice, referral, at, pass_on)
        session.execute(
            insert(OutboxRow)
            .values(
                key=notice.key,
                case_id=case_id,
                recipient=notice.recipient.value,
                kind=notice.kind.value,
                channel=routing.channel,
                language=routing.language,
                status=status,
                attempts=0,
                facts=notice.facts,
                address_sealed=(
                    self.keys.sealer.seal_text(case_id, routing.address, address_binding(notice.key))
                    if routing.address
                    else None
                ),
                suppressed_reason=routing.suppressed_reason,
                created_at=at,
                reference=secrets.token_hex(16),  # opaque: the provider's label for this notice
            )
            .on_conflict_do_nothing(index_elements=["key"])
        )

    def _route(
        self,
        session: Session,
        case_id: str,
        notice: Notice,
        referral: Referral,
        at: datetime,
        pass_on: Notice | None = None,
    ) -> tuple[Routing, str]:
        """Where a notice goes and the status its outbox row takes. One addressed inside IE is raised as a
        task, and one to the person that no safe channel can carry queues a deliver-by-hand task."""
        routing = route(notice.recipient, referral)
        if pass_on is not None:
            routing = replace(routing, language=referral.safe_contact.language)
        fallback = undeliverable(notice, routing)
        if fallback is not None:
            self._queue(session, case_id, fallback, referral, at, pass_on=notice)
        internal = routing.channel == INTERNAL
        if internal:  # addressed inside IE (or to pass on by hand): a task, in this same transaction
            self.raise_task(
                session,
                key=task_key(notice, case_id),
                case_id=case_id,
                kind=notice.kind.value,
                owner=task_owner(notice.recipient, self.case_officer(session, case_id), notice.facts),
                text=task_text(notice, routing.language, pass_on),
                language=routing.language,
                at=at,
            )
        status = "suppressed" if routing.channel == SUPPRESSED else "task" if internal else "pending"
        return routing, status

    @staticmethod
    def case_officer(session: Session, case_id: str) -> str | None:
        """The case officer now, as the read model has it (`cases.case_officer`); for a case written before
        case officers, the actor who opened it (the first entry of its record)."""
        current = session.execute(
            select(col(CaseRow.case_officer)).where(col(CaseRow.case_id) == case_id)
        ).scalar_one_or_none()
        if current is not None:
            return str(current)
        opener = session.execute(
            select(col(RecordRow.actor)).where(col(RecordRow.case_id) == case_id, col(RecordRow.seq) == 1)
        ).scalar_one_or_none()
        return str(opener) if opener is not None else None

    def raise_task(
        self,
        session: Session,
        *,
        key: str,
        case_id: str,
        kind: str,
        owner: str,
        text: str,
        language: str,
        at: datetime,
    ) -> None:
        """One task per key: raising it again (a retried step) changes nothing."""
        session.execute(
            insert(TaskRow)
            .values(
                key=key,
                case_id=case_id,
                kind=kind,
                owner=owner,
                due_at=task_due(kind, at),
                state="open",
                created_at=at,
                text_sealed=self.keys.sealer.seal_text(case_id, text, f"task:{key}"),
                language=language,
            )
            .on_conflict_do_nothing(index_elements=["key"])
        )


def _subjects(referral: Referral) -> list[tuple[str, str, str, str]]:
    """Whom a case's holds cover: (subject, family name, given names, date of birth ISO)."""
    person = referral.person
    subjects = [("person", person.family_name, person.given_names, person.date_of_birth.isoformat())]
    subjects += [
        (f"dependant-{n}", d.family_name, d.given_names, d.date_of_birth.isoformat())
        for n, d in enumerate(referral.dependants, start=1)
    ]
    return subjects


def _opened(keyring: Keyring, sealed: str, bound_to: str) -> str | None:
    try:
        return keyring.open_text(sealed, bound_to)
    except InvalidTag:
        return None


def _opens(keyring: Keyring, sealed: str, bound_to: str) -> bool:
    return _opened(keyring, sealed, bound_to) is not None
