"""The retention workflow (PROTOCOL.md §10): purges the personal data of every case closed longer than its
policy's retention period, one idempotent step per case, and records what it did.

A Temporal Schedule the worker keeps (`usecases.retention.ensure_schedule`) starts it every
`MVP_RETENTION_INTERVAL` (daily by default); `mvp retention purge` starts it at once for a supervisor and waits
for its report. A case that cannot be purged now (its workflow still runs, or its step keeps failing) is
skipped and reported; the others go on.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.retention import RetentionActivities
    from models.retention import CasePurge, FindDue, PurgeOne, PurgeReport, PurgeRun, RecordRun

# Postgres reads and writes must land: retry without limit, backing off to a minute.
STORE_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1))
# One case's purge is retried a few times, then left for the next run so that it never holds up the batch.
CASE_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=5)
TIMEOUT = timedelta(minutes=2)


@workflow.defn
class RetentionWorkflow:
    @workflow.run
    async def run(self, request: PurgeRun) -> PurgeReport:
        started = workflow.now()
        due = await workflow.execute_activity_method(
            RetentionActivities.find_due,
            FindDue(at=started),
            start_to_close_timeout=TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        done: list[CasePurge] = []
        for case in due.cases:
            try:
                done.append(
                    await workflow.execute_activity_method(
                        RetentionActivities.purge_one,
                        PurgeOne(case_id=case.case_id, at=workflow.now(), actor=request.actor),
                        start_to_close_timeout=TIMEOUT,
                        retry_policy=CASE_RETRY,
                    )
                )
            except ActivityError:
                workflow.logger.warning("retention: case %s not purged after retries", case.case_id)
                done.append(
                    CasePurge(
                        case_id=case.case_id,
                        purged=False,
                        skipped="its purge failed after retries (Temporal or Postgres unavailable); "
                        "left for a later run",
                    )
                )
        finished = workflow.now()
        run_id = workflow.info().workflow_id
        await workflow.execute_activity_method(
            RetentionActivities.record_run,
            RecordRun(
                run_id=run_id,
                trigger=request.trigger,
                actor=request.actor,
                started_at=started,
                finished_at=finished,
                cases=done,
            ),
            start_to_close_timeout=TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        return PurgeReport(
            run_id=run_id,
            trigger=request.trigger,
            started_at=started,
            finished_at=finished,
            due=len(due.cases),
            purged=[c.case_id for c in done if c.purged],
            skipped=[c for c in done if not c.purged],
            cases=done,
        )
