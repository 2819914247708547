"""The watcher: a case whose workflow was ended or deleted outside the service is noticed.

`temporal workflow terminate` (or `cancel`, `delete`, a workflow that timed out or failed) ends a case
without the case knowing: no step is written, and the read model would go on showing a protected case
that nothing runs any more. The watcher runs in the worker process (an asyncio task started by
`worker.serve`, beside the delivery dispatcher) and, every interval:

    open cases (phase not closed, no alert yet, row quiet for the grace period)
        minus  case workflows Temporal lists as running (visibility query, ids only)
        =      candidates ──describe()──▶ terminated, cancelled, timed out, failed, or not found (deleted)
                                            └─▶ alert on the row, one record entry, one supervisors' task

Visibility lags behind the workflows themselves, so a case is flagged only once `describe()` confirms it,
and never while its workflow runs. The holds are left as they are (fail closed): enforcement checks keep
refusing until a supervisor acts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlmodel import Session, col
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.store import CaseStore
from infra.keys import Keys
from models.case import RecordEntry
from models.tables import CaseRow
from protocol.notices import SUPERVISORS_TEAM
from protocol.watch import (
    WATCH_ACTOR,
    WORKFLOW_LOST,
    alert_summary,
    alert_task_text,
    engine_alert,
    worth_asking,
)

log = logging.getLogger("mvp.watch")


@dataclass(frozen=True)
class WatchPolicy:
    interval: timedelta = timedelta(seconds=60)
    grace: timedelta = timedelta(minutes=5)  # how long a row must be quiet before Temporal is asked about it


@dataclass(frozen=True)
class Lost:
    """A case the watcher flagged in one round."""

    case_id: str
    alert: str


class Watcher:
    def __init__(
        self,
        client: Client,
        engine: Engine,
        keys: Keys,
        workflow_type: str,
        policy: WatchPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.engine = engine
        self.workflow_type = workflow_type
        self.policy = policy or WatchPolicy()
        self.clock = clock
        self._store = CaseStore(engine, keys)

    async def run(self, stop: asyncio.Event) -> None:
        """Watch until `stop` is set. A failed round (Temporal or Postgres unreachable) is logged and the
        next round tries again."""
        while not stop.is_set():
            try:
                await self.check_once()
            except Exception:  # the watcher must outlive a restart of Temporal or Postgres
                log.exception("watch round failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.policy.interval.total_seconds())

    async def check_once(self) -> list[Lost]:
        """One round: flag each open case whose workflow Temporal confirms ended or deleted. A case already
        flagged is not flagged again."""
        now = self.clock()
        candidates = await asyncio.to_thread(self._quiet_open_cases, now)
        if not candidates:
            return []
        running = await self._running_ids()
        lost: list[Lost] = []
        for case_id in candidates:
            if case_id in running:
                continue
            alert = await self._confirm(case_id)
            if alert is not None and await asyncio.to_thread(self._flag, case_id, alert, now):
                log.warning("case %s: %s", case_id, alert)  # a case id and a code: no personal data
                lost.append(Lost(case_id, alert))
        return lost

    def _quiet_open_cases(self, now: datetime) -> list[str]:
        with Session(self.engine) as session:
            rows = session.execute(
                select(col(CaseRow.case_id), col(CaseRow.updated_at)).where(
                    col(CaseRow.phase) != "closed", col(CaseRow.engine_alert).is_(None)
                )
            ).all()
        return [case_id for case_id, updated_at in rows if worth_asking(updated_at, now, self.policy.grace)]

    async def _running_ids(self) -> set[str]:
        query = f"WorkflowType = '{self.workflow_type}' AND ExecutionStatus = 'Running'"
        return {execution.id async for execution in self.client.list_workflows(query)}

    async def _confirm(self, case_id: str) -> str | None:
        """The alert for this case if Temporal confirms its workflow ended or is gone; None if it runs, or
        if Temporal could not say (asked again next round)."""
        try:
            described = await self.client.get_workflow_handle(case_id).describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return engine_alert(None)
            log.warning("case %s: Temporal could not describe its workflow (%s)", case_id, error.status.name)
            return None
        if described.status is None:
            return None
        return engine_alert(described.status.name)

    def _flag(self, case_id: str, alert: str, now: datetime) -> bool:
        """Alert, record entry and task in one transaction, once: False if the case closed or was flagged
        meanwhile. The holds are not touched."""
        with Session(self.engine) as session, session.begin():
            row = session.execute(
                select(CaseRow).where(col(CaseRow.case_id) == case_id).with_for_update()
            ).scalar_one_or_none()
            if row is None or row.phase == "closed" or row.engine_alert is not None:
                return False
            row.engine_alert = alert
            row.engine_alert_at = now
            CaseStore.append_entry(
                session,
                case_id,
                RecordEntry(
                    seq=CaseStore.last_seq(session, case_id) + 1,
                    at=now,
                    actor=WATCH_ACTOR,
                    action=WORKFLOW_LOST,
                    summary=alert_summary(alert),
                ),
            )
            self._store.raise_task(
                session,
                key=f"{WORKFLOW_LOST}/{case_id}",
                case_id=case_id,
                kind=WORKFLOW_LOST,
                owner=SUPERVISORS_TEAM,
                text=alert_task_text(case_id, alert),
                language="en",
                at=now,
            )
        return True
