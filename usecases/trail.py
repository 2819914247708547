"""The audit trail, readable by supervisors and data protection (auditors): who read which case when (the access
log), and every enforcement check — who asked, when, why and the answer. Reading the trail is itself recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from infra.errors import InputError
from models.case import Actor, ActorRole
from models.tables import AccessRow, EnforcementCheckRow
from protocol import authority
from usecases import readmodel
from usecases.context import Services, allowed
from usecases.reads import case_id_from
from usecases.report import parse_day

ROLES = tuple(role.value for role in ActorRole if role is not ActorRole.system)
LIMIT = 10_000  # an export beyond this is split by period


@dataclass(frozen=True)
class TrailFilter:
    case_id: str | None = None
    role: str | None = None  # the role of who read or asked
    start: str | None = None  # YYYY-MM-DD, included
    end: str | None = None  # YYYY-MM-DD, not included


def _where(where: TrailFilter, at: Any, actor: Any) -> list[Any]:
    clauses: list[Any] = []
    if where.role:
        if where.role not in ROLES:
            raise InputError(f"--role {where.role!r} is not a role: give one of {', '.join(ROLES)}.")
        clauses.append(actor.startswith(f"{where.role}:"))
    if where.start:
        clauses.append(at >= parse_day(where.start, "--from"))
    if where.end:
        clauses.append(at < parse_day(where.end, "--to"))
    return clauses


def reads(services: Services, actor: Actor, where: TrailFilter) -> list[dict[str, Any]]:
    """The access log, oldest first."""
    allowed(authority.may_audit(actor))
    clauses = _where(where, col(AccessRow.at), col(AccessRow.actor))
    if where.case_id:
        clauses.append(col(AccessRow.case_id) == case_id_from(where.case_id))
    readmodel.record_access(services.engine, actor.label(), "audit_reads", where.case_id, _detail(where))
    with Session(services.engine) as session:
        rows = list(
            session.execute(
                select(AccessRow).where(*clauses).order_by(col(AccessRow.id)).limit(LIMIT + 1)
            ).scalars()
        )
        _whole(rows)
        return [
            {
                "at": r.at.isoformat(),
                "actor": r.actor,
                "action": r.action,
                "case_id": r.case_id,
                "detail": r.detail,
            }
            for r in rows
        ]


def checks(services: Services, actor: Actor, where: TrailFilter) -> list[dict[str, Any]]:
    """Every enforcement check, oldest first, with why it was asked (opened for this reader; gone once the
    cases it concerned were purged) and the answer."""
    allowed(authority.may_audit(actor))
    clauses = _where(where, col(EnforcementCheckRow.at), col(EnforcementCheckRow.actor))
    if where.case_id:  # a check names every case it concerned: match any of them
        clauses.append(col(EnforcementCheckRow.case_ids).contains([case_id_from(where.case_id)]))
    readmodel.record_access(
        services.engine, actor.label(), "enforcement_checks", where.case_id, _detail(where)
    )
    with Session(services.engine) as session:
        rows = readmodel.enforcement_checks(session, services.keys.keyring, clauses, LIMIT + 1)
    _whole(rows)
    return rows


def _whole(rows: Sequence[Any]) -> None:
    """An export is whole or refused: never the first LIMIT rows passed off as all of them."""
    if len(rows) > LIMIT:
        raise InputError(
            f"More than {LIMIT:,} rows match: give a shorter period (--from, --to) or a case (--case), so that "
            "nothing is left out of the export."
        )


def _detail(where: TrailFilter) -> dict[str, Any]:
    return {k: v for k, v in where.__dict__.items() if v is not None}
