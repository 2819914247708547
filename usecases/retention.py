"""The retention purge run now by a supervisor (PROTOCOL.md §10): Temporal histories first, then Postgres, so
that a purge that fails half way can simply be run again."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from activities.retention import due_for_purge, purge_case
from models.case import Actor
from protocol import authority
from usecases import cases
from usecases.context import Services, allowed


async def purge(services: Services, actor: Actor, dry_run: bool) -> dict[str, Any]:
    allowed(authority.may_purge(actor))
    now = datetime.now(UTC)
    due = due_for_purge(services.engine, now)
    listed = [{"case_id": r.case_id, "outcome": r.outcome, "closed_at": r.closed_at} for r in due]
    if dry_run or not due:
        return {"dry_run": dry_run, "due": listed, "purged": []}
    await cases.delete_histories(services.temporal, [row.case_id for row in due])
    purged = [purge_case(services.engine, services.keys, row, now, actor.label()) for row in due]
    return {"dry_run": False, "due": listed, "purged": [asdict(p) for p in purged]}
