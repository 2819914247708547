"""The enforcement check and the enforcement action: two short workflows, ids `check-<uuid>` and
`action-<uuid>` (no personal data in ids; the person is a keyed hash throughout).

A check finds the holds that match the person, asks `protocol.enforcement` for the answer, records
the check (permitted or refused), and tells every open case that refused it: the case workflow records
the attempt and notifies its officer. An action is recorded only after a permitted check, and only if
the person is still not protected now.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.enforcement import EnforcementActivities
    from models.case import EnforcementCheckNotice
    from models.enforcement import (
        ActionRequest,
        ActionResult,
        CheckRequest,
        CheckResult,
        FindHolds,
        LoadCheck,
        RecordAction,
        RecordCheck,
        Subject,
        Verdict,
    )
    from protocol import authority, enforcement
    from workflows.case import ProtocolCaseWorkflow

# Reads and writes of Postgres must land: retry without limit, backing off to a minute.
TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1))


async def _verdict(subject: Subject) -> Verdict:
    found = await workflow.execute_activity_method(
        EnforcementActivities.find_holds,
        FindHolds(subject=subject),
        start_to_close_timeout=TIMEOUT,
        retry_policy=RETRY,
    )
    return enforcement.decide(found.matches)


@workflow.defn
class EnforcementCheckWorkflow:
    @workflow.run
    async def run(self, request: CheckRequest) -> CheckResult:
        denied = authority.may_check(request.actor)
        if denied is not None:
            raise ApplicationError(denied, type="NotPermitted", non_retryable=True)
        verdict = await _verdict(request.subject)
        at = workflow.now()
        await workflow.execute_activity_method(
            EnforcementActivities.record_check,
            RecordCheck(
                check_id=request.check_id,
                at=at,
                actor=request.actor,
                reason=request.reason,
                subject=request.subject,
                verdict=verdict,
            ),
            start_to_close_timeout=TIMEOUT,
            retry_policy=RETRY,
        )
        for case_id in verdict.notify_case_ids:
            notice = EnforcementCheckNotice(
                actor=request.actor,
                check_id=request.check_id,
                reason=request.reason,
                possible_match=case_id in verdict.possible_case_ids,
            )
            try:
                case = workflow.get_external_workflow_handle_for(ProtocolCaseWorkflow.run, case_id)
                await case.signal(ProtocolCaseWorkflow.enforcement_check_refused, notice)
            except FailureError:
                # the case closed since the read model was read: a closed case takes no signal
                workflow.logger.warning(
                    "check %s: case %s took no signal (closed)", request.check_id, case_id
                )
        return CheckResult(check_id=request.check_id, at=at, actor=request.actor.label(), verdict=verdict)


@workflow.defn
class EnforcementActionWorkflow:
    @workflow.run
    async def run(self, request: ActionRequest) -> ActionResult:
        found = await workflow.execute_activity_method(
            EnforcementActivities.load_check,
            LoadCheck(check_id=request.check_id),
            start_to_close_timeout=TIMEOUT,
            retry_policy=RETRY,
        )
        check = found.check
        current = await _verdict(check.subject) if check is not None and check.permitted else None
        refused = enforcement.action_refusal(request.actor, request.check_id, check, request.action, current)
        if refused is not None or check is None:  # action_refusal refuses a missing check
            raise ApplicationError(refused or "no such check", type="Refused", non_retryable=True)
        at = workflow.now()
        case_id = check.case_ids[0] if check.case_ids else None
        written = await workflow.execute_activity_method(
            EnforcementActivities.record_action,
            RecordAction(
                action_id=request.action_id,
                check_id=check.check_id,
                at=at,
                actor=request.actor,
                action=request.action,
                subject_key=check.subject.key,
                case_id=case_id,
            ),
            start_to_close_timeout=TIMEOUT,
            retry_policy=RETRY,
        )
        if not written.recorded:
            raise ApplicationError(
                f"{request.action.value} is already recorded after check {check.check_id}",
                type="Refused",
                non_retryable=True,
            )
        return ActionResult(
            action_id=request.action_id,
            check_id=check.check_id,
            at=at,
            actor=request.actor.label(),
            action=request.action,
            case_id=case_id,
        )
