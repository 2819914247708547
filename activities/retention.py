"""Retention (PROTOCOL.md §10): personal data of cases closed longer than their policy's retention
period is removed; the anonymised facts the statistics need (the read model's codes and dates, the
case record) are kept. An open case is never touched.

`RetentionActivities` are the steps of the retention workflow (`workflows/retention.py`): find the cases
due, purge one case (every run of its Temporal workflow, every enforcement check or action workflow that
names it, then its Postgres rows), record the run. Each step is idempotent: run twice, it changes nothing
more."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import Session, col
from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    DeleteWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
)
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from infra.keys import Keys
from models.case import RecordEntry
from models.retention import CasePurge, DueCase, DueCases, FindDue, PurgeOne, RecordRun
from models.tables import (
    CaseRow,
    EnforcementActionRow,
    EnforcementCheckReasonRow,
    EnforcementCheckRow,
    EnforcementSubjectRow,
    HoldRow,
    NoteRow,
    OutboxRow,
    RetentionRunRow,
    TaskRow,
)
from protocol.policy import policy

# One run purges at most this many cases (its history stays small); the next run takes the rest.
BATCH = 200


@dataclass(frozen=True)
class Purged:
    case_id: str
    outcome: str | None
    closed_at: datetime
    holds_removed: int
    addresses_removed: int
    subject_keys_removed: int = 0
    data_key_destroyed: bool = False


def due_for_purge(engine: Engine, now: datetime) -> list[CaseRow]:
    """Closed, not yet purged cases whose policy's retention period has run out, longest closed first."""
    with Session(engine) as session:
        closed = session.execute(
            select(CaseRow)
            .where(col(CaseRow.phase) == "closed", col(CaseRow.purged_at).is_(None))
            .order_by(col(CaseRow.closed_at))
        ).scalars()
        return [
            row
            for row in closed
            if row.closed_at is not None
            and row.closed_at + policy(row.policy_version).retention_after_closure <= now
        ]


def destroy_case_key(keys: Keys, case_id: str) -> bool:
    """Crypto-shredding: destroy the case's data key, so every copy of its personal data anywhere (every
    Temporal run and archived history, database dumps and WAL) can no longer be opened. Idempotent: True
    only when there was a key to destroy. Only for a case whose purge is committed (`purge_case`)."""
    if keys.case_keys is None:
        return False
    return keys.case_keys.destroy(case_id)


def _checks_naming(case_id: str) -> Any:
    return select(col(EnforcementCheckRow.check_id)).where(
        col(EnforcementCheckRow.case_ids).contains([case_id])
    )


def enforcement_workflow_ids(engine: Engine, case_id: str) -> list[str]:
    """The ids of the enforcement check and action workflows that name the case (a check's workflow id is
    its check id, an action's its action id)."""
    with Session(engine) as session:
        checks = list(session.execute(_checks_naming(case_id)).scalars())
        actions = session.execute(
            select(col(EnforcementActionRow.action_id)).where(
                or_(
                    col(EnforcementActionRow.case_id) == case_id,
                    col(EnforcementActionRow.check_id).in_(_checks_naming(case_id)),
                )
            )
        ).scalars()
        return sorted(checks) + sorted(actions)


def purge_case(engine: Engine, keys: Keys, row: CaseRow, now: datetime, actor: str) -> Purged:
    """Remove one closed case's personal data in one transaction, and say so in its record; then destroy
    the case's data key (`destroy_case_key`), which also shreds every copy kept outside this database."""
    from activities.store import CaseStore

    assert row.phase == "closed" and row.closed_at is not None, "only a closed case is purged"
    with Session(engine) as session, session.begin():
        locked = session.execute(
            select(CaseRow).where(CaseRow.case_id == row.case_id).with_for_update()  # type: ignore[arg-type]
        ).scalar_one()
        if locked.phase != "closed" or locked.purged_at is not None:
            already = locked.purged_at is not None and destroy_case_key(keys, row.case_id)
            return Purged(row.case_id, row.outcome, row.closed_at, 0, 0, already)
        holds = session.execute(delete(HoldRow).where(HoldRow.case_id == row.case_id))  # type: ignore[arg-type]
        addresses = session.execute(
            update(OutboxRow)
            .where(OutboxRow.case_id == row.case_id, OutboxRow.address_sealed.is_not(None))  # type: ignore[arg-type,union-attr]
            .values(address_sealed=None)
        )
        session.execute(delete(NoteRow).where(NoteRow.case_id == row.case_id))  # type: ignore[arg-type]
        # tasks keep who did what and when; their texts (the person's circumstances) go
        task_keys = select(col(TaskRow.key)).where(col(TaskRow.case_id) == row.case_id)
        for task_key in session.execute(task_keys).scalars():
            session.execute(
                update(TaskRow)
                .where(col(TaskRow.key) == task_key)
                .values(
                    text_sealed=keys.keyring.seal_text(
                        "(removed: retention period ended)", f"task:{task_key}"
                    )
                )
            )
        # why enforcement checked the person, for every check on this case (refused, or permitted after
        # a supervisor lifted the hold)
        checked = _checks_naming(row.case_id)
        session.execute(
            delete(EnforcementCheckReasonRow).where(col(EnforcementCheckReasonRow.check_id).in_(checked))
        )
        # who they asked about: the identity key could otherwise re-link the purged person to the checks
        subjects = session.execute(
            delete(EnforcementSubjectRow).where(col(EnforcementSubjectRow.check_id).in_(checked))
        )
        # criminality detail in the read model and in supervisors' notices (the statistics count outcomes
        # and decisions, never indicators)
        session.execute(
            update(OutboxRow)
            .where(col(OutboxRow.case_id) == row.case_id)
            .values(facts=col(OutboxRow.facts).op("-")(literal("indicators")))
        )
        locked.exclusion_indicators = []
        locked.view = {**locked.view, "exclusion_indicators": []}
        locked.referral_sealed = None
        locked.crime_ref_key = None
        locked.purged_at = now
        seq = CaseStore.last_seq(session, row.case_id) + 1
        CaseStore.append_entry(
            session,
            row.case_id,
            RecordEntry(
                seq=seq,
                at=now,
                actor=actor,
                action="personal_data_purged",
                summary=(
                    "retention period ended: referral, notes, hold identities, notice addresses, task texts, "
                    "exclusion indicators, and enforcement check reasons and identity hashes removed, and the "
                    "case's data key destroyed"
                ),
            ),
        )
    # after the commit: a purge that failed leaves the key, and the data it still has, readable
    destroyed = destroy_case_key(keys, row.case_id)
    return Purged(
        row.case_id,
        row.outcome,
        row.closed_at,
        holds.rowcount,  # type: ignore[attr-defined]
        addresses.rowcount,  # type: ignore[attr-defined]
        subjects.rowcount,  # type: ignore[attr-defined]
        destroyed,
    )


# --- Temporal: every run of a workflow ---------------------------------------------------------------


async def workflow_runs(client: Client, workflow_id: str) -> list[tuple[str, WorkflowExecutionStatus | None]]:
    """Every run of a workflow still held by Temporal, oldest first, with its status.

    The runs of one case are a chain: each run after continue-as-new names the run it continued
    (`continued_execution_run_id` in its first event). The chain is walked back from the latest run, so no
    run is missed while the visibility store catches up; runs the visibility store lists under the same id
    (an earlier execution with a reused id) are added."""
    found: dict[str, WorkflowExecutionStatus | None] = {}
    chain: list[str] = []
    run_id: str | None = ""
    while run_id is not None and run_id not in found:
        status = await _status(client, workflow_id, run_id or None)
        if status is None:
            break
        current, state = status
        found[current] = state
        chain.append(current)
        run_id = await _continued_from(client, workflow_id, current)
    quoted = workflow_id.replace("\\", "\\\\").replace("'", "\\'")
    listed: list[str] = []
    async for execution in client.list_workflows(f"WorkflowId = '{quoted}'"):
        if execution.id == workflow_id and execution.run_id not in found:
            status = await _status(client, workflow_id, execution.run_id)
            if status is not None:
                found[execution.run_id] = status[1]
                listed.append(execution.run_id)
    return [(r, found[r]) for r in listed + list(reversed(chain))]


async def _status(
    client: Client, workflow_id: str, run_id: str | None
) -> tuple[str, WorkflowExecutionStatus | None] | None:
    try:
        description = await client.get_workflow_handle(workflow_id, run_id=run_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return description.run_id, description.status


async def _continued_from(client: Client, workflow_id: str, run_id: str) -> str | None:
    try:
        response = await client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace=client.namespace,
                execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
                maximum_page_size=1,
            )
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    if not response.history.events:
        return None
    started = response.history.events[0].workflow_execution_started_event_attributes
    return started.continued_execution_run_id or None


async def delete_run(client: Client, workflow_id: str, run_id: str | None = None) -> bool:
    """Ask Temporal to delete one run (the latest when `run_id` is None). False when it is already gone.
    Temporal deletes in its own time; the run is no longer listed or described soon after."""
    try:
        await client.workflow_service.delete_workflow_execution(
            DeleteWorkflowExecutionRequest(
                namespace=client.namespace,
                workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id or ""),
            )
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


# --- the retention workflow's steps ------------------------------------------------------------------


class RetentionActivities:
    def __init__(self, engine: Engine, keys: Keys) -> None:
        self.engine = engine
        self.keys = keys

    @activity.defn
    def find_due(self, request: FindDue) -> DueCases:
        due = due_for_purge(self.engine, request.at)[:BATCH]
        return DueCases(
            cases=[
                DueCase(case_id=r.case_id, outcome=r.outcome, closed_at=r.closed_at)
                for r in due
                if r.closed_at is not None
            ]
        )

    @activity.defn
    async def purge_one(self, request: PurgeOne) -> CasePurge:
        """Temporal first (every run of the case, every enforcement workflow naming it), then Postgres, so
        that a step that fails half way is simply run again. A case whose workflow still runs (within its
        reopen window, or reopened) is skipped and left for a later run."""
        client = activity.client()
        case_id = request.case_id
        runs = await workflow_runs(client, case_id)
        if any(status == WorkflowExecutionStatus.RUNNING for _, status in runs):
            return CasePurge(
                case_id=case_id,
                purged=False,
                skipped="its workflow is still running (it may yet be reopened); left for a later run",
            )
        row = await asyncio.to_thread(self._row, case_id)
        if row is None or row.phase != "closed" or row.closed_at is None:
            return CasePurge(case_id=case_id, purged=False, skipped="it is no longer closed; nothing removed")
        deleted = checks = 0
        if row.purged_at is None:  # else an earlier attempt got as far as Postgres: Temporal is done
            for run_id, _ in runs:  # oldest first: a retry still finds the latest run and walks back from it
                deleted += await delete_run(client, case_id, run_id)
            for workflow_id in await asyncio.to_thread(enforcement_workflow_ids, self.engine, case_id):
                for run_id, _ in await workflow_runs(client, workflow_id):
                    checks += await delete_run(client, workflow_id, run_id)
        # idempotent: a case already purged is left as it is (and, with per-case data keys, its key destroyed)
        purged = await asyncio.to_thread(purge_case, self.engine, self.keys, row, request.at, request.actor)
        return CasePurge(
            case_id=case_id,
            purged=True,
            runs_deleted=deleted,
            enforcement_workflows_deleted=checks,
            holds_removed=purged.holds_removed,
            subject_keys_removed=purged.subject_keys_removed,
        )

    def _row(self, case_id: str) -> CaseRow | None:
        with Session(self.engine) as session:
            return session.get(CaseRow, case_id)

    @activity.defn
    def record_run(self, request: RecordRun) -> None:
        """Write what the run did, once (a retried step writes nothing more)."""
        with Session(self.engine) as session, session.begin():
            session.execute(
                pg_insert(RetentionRunRow)
                .values(
                    run_id=request.run_id,
                    trigger=request.trigger.value,
                    actor=request.actor,
                    started_at=request.started_at,
                    finished_at=request.finished_at,
                    due=len(request.cases),
                    purged=sum(c.purged for c in request.cases),
                    skipped=sum(not c.purged for c in request.cases),
                    cases=[c.model_dump(mode="json") for c in request.cases],
                )
                .on_conflict_do_nothing(index_elements=["run_id"])
            )
