"""Reads for supervisors and officers, from the Postgres read model (never by replaying workflows)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Engine,
    and_,
    bindparam,
    literal,
    literal_column,
    select,
    tuple_,
)
from sqlmodel import Session, col

from infra.errors import InputError, NotFound, RecordTampered
from infra.keys import Keyring
from models.case import DecisionKind, Outcome, Phase
from models.referral import CrimeType
from models.tables import (
    AccessRow,
    CaseRow,
    EnforcementCheckReasonRow,
    EnforcementCheckRow,
    NoteRow,
    OutboxRow,
    RecordRow,
)


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


# The list's urgency order (`list_page`), written out as SQL so that it is, expression for expression, the
# key of the indexes migration 0009 makes (`ix_cases_urgency` and its partial and per-force, per-officer
# siblings): Postgres matches an index to an ORDER BY by its expressions, and a bound parameter in place of a
# constant would not match. A case whose workflow was lost outside the service (`activities.watch`) first,
# then contact overdue with a supervisor's decision pending, contact overdue, a decision pending, the other
# open cases, closed ones; within each the longest overdue first, then the soonest contact due (a missing
# date last), then the oldest referral, then the case id (so that every case has one place).
URGENCY_SQL = (
    "CASE WHEN phase <> 'closed' AND engine_alert IS NOT NULL THEN 0"
    " WHEN contact_overdue AND pending_decisions <> '[]'::jsonb THEN 1"
    " WHEN contact_overdue THEN 2"
    " WHEN pending_decisions <> '[]'::jsonb THEN 3"
    " WHEN phase <> 'closed' THEN 4 ELSE 5 END"
)
OVERDUE_SINCE_SQL = "COALESCE(overdue_since, 'infinity'::timestamptz)"
NEXT_DUE_SQL = "COALESCE(next_contact_due, 'infinity'::timestamptz)"
URGENCY_KEY_SQL = (URGENCY_SQL, OVERDUE_SINCE_SQL, NEXT_DUE_SQL, "referred_at", "case_id")

# What the list shows of a case (never the view or the sealed referral: a list row is a few hundred bytes).
LIST_COLUMNS = (
    "case_id",
    "phase",
    "hold_active",
    "hold_grounds",
    "next_contact_due",
    "contact_overdue",
    "overdue_since",
    "pending_decisions",
    "force_code",
    "crime_type",
    "referred_at",
    "outcome",
    "engine_alert",
    "case_officer",
)

PAGE_SIZE = 50  # a screen of cases; `--page-size` takes up to PAGE_SIZE_MAX
PAGE_SIZE_MAX = 1000


@dataclass(frozen=True)
class ListedCase:
    """One row of the case list: the columns it shows, and where it stands in the urgency order."""

    case_id: str
    phase: str
    hold_active: bool
    hold_grounds: list[str]
    next_contact_due: datetime | None
    contact_overdue: bool
    overdue_since: datetime | None
    pending_decisions: list[str]
    force_code: str
    crime_type: str
    referred_at: datetime
    outcome: str | None
    engine_alert: str | None
    case_officer: str | None
    urgency: int


@dataclass(frozen=True)
class Page:
    cases: list[ListedCase]
    next: str | None  # the cursor of the page after this one; None on the last page


def _where(where: CaseFilter, now: datetime) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.phase:
        conditions.append(col(CaseRow.phase) == where.phase)
    if where.hold_active is not None:
        conditions.append(col(CaseRow.hold_active) == where.hold_active)
    if where.overdue is not None:
        overdue = CaseRow.__table__.c.contact_overdue  # type: ignore[attr-defined]
        # the bare column, not `= true` with a parameter: the partial index on overdue cases must match it
        conditions.append(overdue if where.overdue else ~overdue)
    if where.decision_pending is not None:
        pending = col(CaseRow.pending_decisions) != []
        conditions.append(pending if where.decision_pending else ~pending)
    if where.pending_kind:
        conditions.append(col(CaseRow.pending_decisions).contains([where.pending_kind]))
    if where.overdue_for is not None:
        since = now - where.overdue_for
        conditions.append(and_(col(CaseRow.contact_overdue), col(CaseRow.overdue_since) <= since))
    if where.force:
        conditions.append(col(CaseRow.force_code) == where.force.upper())
    if where.crime_type:
        conditions.append(col(CaseRow.crime_type) == where.crime_type)
    if where.referred_from:
        conditions.append(col(CaseRow.referred_at) >= where.referred_from)
    if where.referred_to:
        conditions.append(col(CaseRow.referred_at) < where.referred_to)
    if where.outcome:
        conditions.append(col(CaseRow.outcome) == where.outcome)
    if where.case_officer:
        conditions.append(col(CaseRow.case_officer) == where.case_officer)
    return conditions


def _fingerprint(where: CaseFilter) -> str:
    """A short digest of the filter: a cursor is good only for the list it was given for."""
    shown = {k: str(v) for k, v in sorted(where.__dict__.items()) if v is not None}
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()[:12]


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def make_cursor(last: ListedCase, where: CaseFilter) -> str:
    """An opaque cursor: where the page ended in the urgency order (a case id, codes and dates, never
    personal data), and which filter it was for."""
    key = [
        CURSOR_VERSION,
        last.urgency,
        _when(last.overdue_since),
        _when(last.next_contact_due),
        last.referred_at.isoformat(),
        last.case_id,
        _fingerprint(where),
    ]
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


CURSOR_VERSION = 1
_BAD_CURSOR = (
    "--after: the cursor is not one this service gave out for a list (it may be cut short or changed); "
    "copy it whole from the list's last page, or list again without --after."
)


def _moment(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("not a date")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("no time zone")
    return moment


def read_cursor(
    cursor: str, where: CaseFilter
) -> tuple[int, datetime | None, datetime | None, datetime, str]:
    """The position a cursor of `make_cursor` holds; InputError (HTTP 422, exit 2) with a sentence when it is
    not one, or was given for another filter."""
    try:
        if len(cursor) > 512:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, urgency, since, due, referred, case_id, fingerprint = json.loads(raw)
        if version != CURSOR_VERSION or not isinstance(urgency, int) or not isinstance(case_id, str):
            raise ValueError("not a cursor")
        referred_at = _moment(referred)
        if referred_at is None:
            raise ValueError("no referral date")
        position = (urgency, _moment(since), _moment(due), referred_at, case_id)
    except (ValueError, TypeError, binascii.Error):
        raise InputError(_BAD_CURSOR, [f"after: {_BAD_CURSOR}"]) from None
    if fingerprint != _fingerprint(where):
        problem = (
            "--after: the cursor was given for a list with other filters; give the same filters as the "
            "page it came from, or list again without --after."
        )
        raise InputError(problem, [f"after: {problem}"])
    return position


def check_page_size(size: int) -> None:
    if not 1 <= size <= PAGE_SIZE_MAX:
        raise InputError(f"--page-size takes a number of cases from 1 to {PAGE_SIZE_MAX}.")


def list_page(
    engine: Engine,
    where: CaseFilter = CaseFilter(),
    now: datetime | None = None,
    *,
    after: str | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """One page of the cases matching the filter, most urgent first (the order of `URGENCY_SQL`), from the
    position `after` (a cursor of an earlier page) on. Keyset paging: each page is a range scan of an index
    whatever its depth, and a case added or changed between pages moves no other case, so paging never
    shows an unchanged case twice or skips one. `now` (default: the clock) is what `overdue_for` is
    measured from."""
    check_filter(where)
    check_page_size(size)
    key: list[ColumnElement[Any]] = [literal_column(sql) for sql in URGENCY_KEY_SQL]
    table = CaseRow.__table__  # type: ignore[attr-defined]
    query = select(*(table.c[name] for name in LIST_COLUMNS), key[0].label("urgency"))
    conditions = _where(where, now or datetime.now(UTC))
    if after is not None:
        urgency, since, due, referred, case_id = read_cursor(after, where)
        infinity: ColumnElement[Any] = literal_column("'infinity'::timestamptz")
        moment = DateTime(timezone=True)
        position = tuple_(
            literal(urgency),
            bindparam(None, since, moment) if since else infinity,
            bindparam(None, due, moment) if due else infinity,
            bindparam(None, referred, moment),
            literal(case_id),
        )
        conditions.append(tuple_(*key) > position)
    query = query.where(*conditions).order_by(*key).limit(size + 1)
    with engine.connect() as conn:
        rows = [ListedCase(**row._mapping) for row in conn.execute(query)]
    more = len(rows) > size
    rows = rows[:size]
    return Page(cases=rows, next=make_cursor(rows[-1], where) if more else None)


def days_overdue(listed: ListedCase, now: datetime) -> int | None:
    """Whole days since the contact became overdue (0 on its first day), or None when it is not."""
    if not listed.contact_overdue or listed.overdue_since is None:
        return None
    return max((now - listed.overdue_since) // timedelta(days=1), 0)


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


def enforcement_checks(
    session: Session, keyring: Keyring, clauses: list[Any], limit: int | None = None
) -> list[dict[str, Any]]:
    """The enforcement checks that meet `clauses`, oldest first: who asked, when, the answer, and why they asked
    (opened for this reader; gone once the cases the check concerned were purged). A reason that does not open
    for its check was moved or altered: nothing is shown, and the reader is told so."""
    query = (
        select(EnforcementCheckRow, col(EnforcementCheckReasonRow.reason_sealed))
        .outerjoin(
            EnforcementCheckReasonRow,
            col(EnforcementCheckReasonRow.check_id) == col(EnforcementCheckRow.check_id),
        )
        .where(*clauses)
        .order_by(col(EnforcementCheckRow.at))
    )
    rows = session.execute(query if limit is None else query.limit(limit)).all()
    checks = []
    for check, sealed in rows:
        try:
            why = keyring.open_text(sealed, check.check_id) if sealed is not None else None
        except InvalidTag:
            raise RecordTampered(
                f"The reason recorded for enforcement check {check.check_id} does not open for that check (it was "
                "moved or altered in the database). Nothing of it is shown; tell the data protection officer."
            ) from None
        checks.append(
            {
                "check_id": check.check_id,
                "at": check.at.isoformat(),
                "actor": check.actor,
                "verdict": check.verdict,
                "possible_match": check.possible_match,
                "answer": check.verdict_reason,
                "case_ids": check.case_ids,
                "why": why,
            }
        )
    return checks
