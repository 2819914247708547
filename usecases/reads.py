"""Reads for the people who use the service, from the Postgres read model (never by replaying workflows).
Each read is allowed by `protocol.authority` and written to the access log in the same transaction as the read,
so an unrecorded read cannot happen."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import select
from sqlmodel import Session, col

from infra.chain import note_binding, referral_binding
from infra.errors import InputError, NotFound, RecordTampered
from models.case import Actor, ActorRole
from models.tables import (
    AccessRow,
    CaseRow,
    EnforcementCheckRow,
    NoteRow,
    OutboxRow,
    RecordRow,
    TaskRow,
)
from protocol import authority, case_ids
from protocol.policy import policy
from usecases import readmodel
from usecases.context import Services, allowed
from usecases.report import build_report, parse_grouping, parse_period


def case_id_from(value: str) -> str:
    try:
        return case_ids.canonical(value)
    except ValueError as error:
        raise InputError(f"The case id {error}.", [f"case_id: {error}"]) from None


def _log(session: Session, actor: Actor, action: str, case_id: str | None, detail: dict[str, Any]) -> None:
    session.add(
        AccessRow(at=datetime.now(UTC), actor=actor.label(), action=action, case_id=case_id, detail=detail)
    )


def case_detail(services: Services, actor: Actor, case_id: str) -> dict[str, Any]:
    """One case: the workflow's view, and for officers and supervisors the circumstances, notices and record
    with its notes; police of the referring force get the view only."""
    case_id = case_id_from(case_id)
    with Session(services.engine) as session, session.begin():
        row = session.get(CaseRow, case_id)
        if row is None:
            allowed(authority.may_read_case(actor, ""))  # no case: say so only to those who may read cases
            raise NotFound(f"No case {case_id}. (Just referred? The worker writes it within seconds.)")
        allowed(authority.may_read_case(actor, row.force_code))
        full = actor.role is not ActorRole.police
        _log(session, actor, "case_show", case_id, {"personal_data_shown": full})
        data: dict[str, Any] = dict(row.view)  # the workflow's view, written with the row in one transaction
        for name, value in _columns(row).items():
            data.setdefault(name, value)
        data["purged"] = row.purged_at is not None
        if not full:
            return police_view(data)
        sealer = services.keys.sealer
        try:  # each sealed value opens only on its own row: one moved from another case fails here
            data["circumstances"] = (
                json.loads(sealer.open_text(case_id, row.referral_sealed, referral_binding(case_id)))
                if row.referral_sealed is not None
                else None
            )
            notes = {
                n.seq: sealer.open_text(case_id, n.note_sealed, note_binding(case_id, n.seq))
                for n in session.execute(select(NoteRow).where(NoteRow.case_id == case_id)).scalars()  # type: ignore[arg-type]
            }
        except InvalidTag:
            raise RecordTampered(
                f"The record of case {case_id} does not verify: its sealed data does not open for this case "
                f"(it was moved or altered in the database). Nothing of it is shown; run "
                f"`mvp audit verify {case_id}` and tell the data protection officer."
            ) from None
        notices = session.execute(
            select(OutboxRow)
            .where(col(OutboxRow.case_id) == case_id)
            .order_by(OutboxRow.created_at, OutboxRow.key)  # type: ignore[arg-type]
        ).scalars()
        data["notices"] = [
            {
                "key": n.key,
                "to": n.recipient,
                "kind": n.kind,
                "channel": n.channel,
                "language": n.language,
                "status": n.status,
                "suppressed_reason": n.suppressed_reason,
                "failure_reason": n.failure_reason,
                "delivery_status": n.delivery_status,
            }
            for n in notices
        ]
        record = session.execute(
            select(RecordRow).where(RecordRow.case_id == case_id).order_by(RecordRow.seq)  # type: ignore[arg-type]
        ).scalars()
        data["open_tasks"] = _open_tasks(session, case_id)
        data["enforcement_checks"] = readmodel.enforcement_checks(
            session, services.keys.keyring, [col(EnforcementCheckRow.case_ids).contains([case_id])]
        )
        data["record"] = [
            {
                "seq": r.seq,
                "at": r.at.isoformat(),
                "actor": r.actor,
                "action": r.action,
                "summary": r.summary,
                "shared_what": r.shared_what,
                "shared_with": r.shared_with,
                "shared_why": r.shared_why,
                "note": notes.get(r.seq),
            }
            for r in record
        ]
        return data


def _open_tasks(session: Session, case_id: str) -> list[dict[str, Any]]:
    """The case's open tasks, soonest due first: kind, owner and due time (the text stays in `mvp tasks`)."""
    now = datetime.now(UTC)
    rows = session.execute(
        select(TaskRow)
        .where(col(TaskRow.case_id) == case_id, col(TaskRow.state) == "open")
        .order_by(col(TaskRow.due_at), col(TaskRow.id))
    ).scalars()
    return [
        {
            "id": t.id,
            "kind": t.kind,
            "owner": t.owner,
            "due_at": t.due_at.isoformat(),
            "overdue": t.due_at < now,
        }
        for t in rows
    ]


# What police of the referring force see of a case: the state of the protection and of their own
# investigation. Not the Home Office's data (status, exclusion indicators, applications, signposting and why),
# which they did not share and IE has not shared with them.
POLICE_FIELDS = (
    "case_id",
    "phase",
    "outcome",
    "investigation",
    "force_code",
    "crime_type",
    "referred_at",
    "opened_at",
    "closed_at",
    "case_officer",
    "trial_date",  # police gave it
    "revision",
)


def police_view(view: dict[str, Any]) -> dict[str, Any]:
    """A case as police see it (`POLICE_FIELDS`, and only whether the hold is in force, not on what)."""
    narrowed = {name: view[name] for name in POLICE_FIELDS if name in view}
    hold = view.get("hold") or {}
    narrowed["hold"] = {"active": bool(hold.get("active"))}
    return narrowed


def _columns(row: CaseRow) -> dict[str, Any]:
    """The read model's own columns, in the view's shape (a row always has them; an old view may not)."""

    def when(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment is not None else None

    return {
        "case_id": row.case_id,
        "phase": row.phase,
        "hold": {"active": row.hold_active, "grounds": row.hold_grounds},
        "outcome": row.outcome,
        "force_code": row.force_code,
        "crime_type": row.crime_type,
        "role": row.role,
        "referral_channel": row.referral_channel,
        "status_at_referral": row.status_at_referral,
        "exclusion_indicators": row.exclusion_indicators,
        "pending_decisions": row.pending_decisions,
        "contact_overdue": row.contact_overdue,
        "next_contact_due": when(row.next_contact_due),
        "overdue_since": when(row.overdue_since),
        "referred_at": when(row.referred_at),
        "opened_at": when(row.opened_at),
        "closed_at": when(row.closed_at),
        "policy_version": row.policy_version,
        "case_officer": row.case_officer,
        "engine_alert": row.engine_alert,  # the case's workflow was lost outside the service (null: fine)
        "engine_alert_at": when(row.engine_alert_at),
    }


def case_list(
    services: Services,
    actor: Actor,
    where: readmodel.CaseFilter,
    mine: bool = False,
    *,
    after: str | None = None,
    size: int = readmodel.PAGE_SIZE,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the cases matching the filter, most urgent first (`usecases.readmodel.list_page`), and the
    cursor of the next page (None on the last); `mine`: only the cases whose case officer is the caller."""
    allowed(authority.may_read(actor))
    if mine:
        where = replace(where, case_officer=actor.label())
    readmodel.check_filter(where)
    readmodel.check_page_size(size)
    if after is not None:
        readmodel.read_cursor(after, where)  # a bad cursor is refused before the read is logged
    now = datetime.now(UTC)
    filters = {k: str(v) for k, v in where.__dict__.items() if v is not None}
    readmodel.record_access(services.engine, actor.label(), "cases_list", None, {"filters": filters})
    page = readmodel.list_page(services.engine, where, now, after=after, size=size)
    rows = [
        {
            "case_id": r.case_id,
            "phase": r.phase,
            "hold": r.hold_active,
            "grounds": r.hold_grounds,
            "next_contact_due": r.next_contact_due.isoformat() if r.next_contact_due else None,
            "overdue": r.contact_overdue,
            "overdue_since": r.overdue_since.isoformat() if r.overdue_since else None,
            "days_overdue": readmodel.days_overdue(r, now),
            "pending": r.pending_decisions,
            "force": r.force_code,
            "crime_type": r.crime_type,
            "referred": r.referred_at.isoformat(),
            "outcome": r.outcome,
            "engine_alert": r.engine_alert,
            "case_officer": r.case_officer,
        }
        for r in page.cases
    ]
    return rows, page.next


def report(
    services: Services, actor: Actor, start: str, end: str, by: str | None, publish: bool = False
) -> dict[str, Any]:
    """The Review's figures and more for the cases referred in [start, end), and the closures in it
    (`usecases.report`); with `publish`, under statistical disclosure control."""
    allowed(authority.may_read(actor))
    first, after = parse_period(start, end)
    grouping = parse_grouping(by)
    readmodel.record_access(
        services.engine,
        actor.label(),
        "report",
        None,
        {"from": start, "to": end, "by": by, "publish": publish},
    )
    return build_report(services.engine, first, after, policy(), grouping, publish).as_json()
