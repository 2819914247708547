"""What the CLI asks of the case workflows: start a case, send a command, ask its state.

Every function takes a connected client and raises only `infra.errors` exceptions, so the CLI (and
the tests) can say what went wrong in a sentence.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from infra.errors import DuplicateReferral, NotFound, Refused, Unavailable
from infra.keys import Keys
from models import search_attributes as attrs
from models.case import Actor, CaseCommand, CaseView, CommandResult, OpenCase, Phase
from models.referral import Referral
from protocol import authority
from protocol.policy import CURRENT_VERSION
from workflows.case import ProtocolCaseWorkflow

UPDATES: dict[str, str] = {
    "police_update": "police_update",
    "withdrawal": "withdraw",
    "contact": "record_contact",
    "application": "record_application",
    "route_started": "start_route",
    "departure": "record_departure",
    "exclusion_decision": "decide_exclusion",
    "release_decision": "authorise_release",
    "fact_reported": "report_fact",
    "fact_verified": "verify_fact",
    "reopen": "reopen",
}


def case_id_for(keys: Keys, referral: Referral) -> str:
    person = referral.person
    return keys.case_id(
        person.family_name, person.given_names, person.date_of_birth.isoformat(), referral.crime_reference
    )


async def start_referral(
    client: Client, keys: Keys, task_queue: str, referral: Referral, actor: Actor
) -> str:
    """Start the case for a referral; a second referral of the same person for the same crime
    reference raises DuplicateReferral with the existing case id."""
    denied = authority.may_start_case(actor)
    if denied is not None:
        raise Refused(f"Refused: {denied}.")
    case_id = case_id_for(keys, referral)
    try:
        await client.start_workflow(
            ProtocolCaseWorkflow.run,
            OpenCase(case_id=case_id, referral=referral, opened_by=actor, policy_version=CURRENT_VERSION),
            id=case_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(attrs.PHASE, Phase.screening.value),
                    SearchAttributePair(attrs.HOLD_ACTIVE, True),
                    SearchAttributePair(attrs.FORCE, referral.force_code),
                    SearchAttributePair(attrs.CRIME_TYPE, referral.crime_type.value),
                ]
            ),
        )
    except WorkflowAlreadyStartedError as err:
        raise DuplicateReferral(case_id) from err
    return case_id


async def wait_until_open(
    client: Client, case_id: str, within: timedelta = timedelta(seconds=20)
) -> CaseView | None:
    """The case once the worker has opened and screened it, or None if that takes longer than `within`."""
    deadline = asyncio.get_running_loop().time() + within.total_seconds()
    while asyncio.get_running_loop().time() < deadline:
        try:
            view = await state(client, case_id)
        except (Refused, NotFound):
            view = None
        if view is not None and view.phase is not Phase.screening:
            return view
        await asyncio.sleep(0.2)
    return None


async def state(client: Client, case_id: str) -> CaseView:
    handle = client.get_workflow_handle(case_id)
    try:
        return await handle.query(ProtocolCaseWorkflow.state)
    except RPCError as err:
        raise _rpc_error(case_id, err) from err
    except Exception as err:  # a query failure carries the workflow's ApplicationError message
        raise Refused(f"Case {case_id} cannot answer yet: {err}") from err


async def send(client: Client, case_id: str, command: CaseCommand) -> CommandResult:
    """Send one command as an Update; a refusal comes back as Refused with the workflow's reason."""
    handle = client.get_workflow_handle(case_id)
    name = UPDATES[command.kind]
    try:
        result: Any = await handle.execute_update(name, command, result_type=CommandResult)
        return result  # type: ignore[no-any-return]
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise Refused(f"Refused: {message}.") from err
    except RPCError as err:
        raise _rpc_error(case_id, err) from err


async def delete_histories(client: Client, case_ids: list[str]) -> None:
    """Delete closed cases' histories from Temporal (its namespace retention would, later)."""
    for case_id in case_ids:
        try:
            description = await client.get_workflow_handle(case_id).describe()
            if description.status == WorkflowExecutionStatus.RUNNING:
                raise Refused(f"Case {case_id} is still running in Temporal; its history is kept.")
            await client.workflow_service.delete_workflow_execution(
                DeleteWorkflowExecutionRequest(
                    namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=case_id)
                )
            )
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise _rpc_error(case_id, err) from err


def _rpc_error(case_id: str, err: RPCError) -> Exception:
    if err.status == RPCStatusCode.NOT_FOUND:
        if "already completed" in err.message or "completed" in err.message:
            return Refused(f"Case {case_id} is closed: nothing more can be recorded on it.")
        return NotFound(f"No case {case_id}.")
    return Unavailable(f"Temporal refused the request for case {case_id}: {err.message}")
