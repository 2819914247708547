"""What the CLI asks of the case workflows: start a case, send a command, ask its state.

Every function takes a connected client and raises only `infra.errors` exceptions, so the CLI (and
the tests) can say what went wrong in a sentence.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, col
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from infra.errors import DuplicateReferral, NotFound, NotPermitted, PossibleDuplicate, Refused, Unavailable
from infra.holidays import calendar_for
from infra.keys import Keys
from models import search_attributes as attrs
from models.case import Actor, AwaitOpened, CaseCommand, CaseView, CommandResult, Message, OpenCase, Phase
from models.referral import Referral
from models.registry import COMMANDS
from models.tables import CaseRow, HoldRow
from protocol import authority, identity
from protocol.identity import Match
from protocol.policy import CURRENT_VERSION
from workflows.case import ProtocolCaseWorkflow

# How long a caller waits for a worker to take a command, or to open and screen a new case.
ANSWER_WITHIN = timedelta(seconds=15)


def case_id_for(keys: Keys, referral: Referral) -> str:
    """The same referral (force and referral id) is always the same case; a new referral is a new case."""
    return keys.case_id(referral.force_code, referral.referral_id)


@dataclass(frozen=True)
class Duplicate:
    """An open case for the same crime reference whose person matches the referral's."""

    case_id: str
    match: Match


def find_duplicates(engine: Engine, keys: Keys, referral: Referral) -> list[Duplicate]:
    """Open cases (the read model) for the referral's crime reference, normalised, whose person matches the
    referral's person exactly or possibly (`protocol.identity`): by the keyed hash of the name and date of
    birth, by the sealed name among holds with the same or a near date of birth, or by the Home Office
    reference, the same or near. The referral's own case (a resubmission) is left out."""
    person = referral.person
    query = (
        select(HoldRow)
        .join(CaseRow, col(CaseRow.case_id) == col(HoldRow.case_id))
        .where(
            col(CaseRow.crime_ref_key) == keys.crime_reference_hash(referral.crime_reference),
            col(CaseRow.phase) != Phase.closed.value,
            col(HoldRow.subject) == "person",
            col(CaseRow.case_id) != case_id_for(keys, referral),
        )
        .order_by(col(HoldRow.case_id))
    )
    found: list[Duplicate] = []
    with Session(engine) as session:
        candidates = list(session.execute(query).scalars())
    if not candidates:
        return (
            found  # the usual case: the keys below (dozens of keyed hashes of near variants) are not needed
        )
    born = person.date_of_birth.isoformat()
    exact_key = keys.person_hash(person.family_name, person.given_names, born)
    birth_key = keys.birth_hash(born)
    near_births = {keys.birth_hash(d.isoformat()) for d in identity.near_dates_of_birth(person.date_of_birth)}
    tokens = identity.name_tokens(person.family_name, person.given_names)
    ref = person.home_office_ref
    ref_key = keys.reference_hash(ref) if ref else None
    near_refs = {keys.reference_hash(r) for r in identity.near_references(ref)} if ref else set()
    for hold in candidates:
        how = [Match.exact if hold.identity_key == exact_key else Match.none]
        if hold.name_sealed is not None and (hold.birth_key == birth_key or hold.birth_key in near_births):
            name = keys.sealer.open_text(
                hold.case_id, hold.name_sealed, f"{hold.case_id}:{hold.subject}"
            ).split()
            how.append(
                identity.match_name_and_birth(
                    tokens,
                    name,
                    same_birth=hold.birth_key == birth_key,
                    near_birth=hold.birth_key in near_births,
                )
            )
        if ref_key is not None and hold.ho_ref_key is not None:
            if hold.ho_ref_key == ref_key:
                how.append(Match.exact)
            elif hold.ho_ref_key in near_refs:
                how.append(Match.possible)
        strongest = identity.strongest(how)
        if strongest is not Match.none:
            found.append(Duplicate(hold.case_id, strongest))
    return found


def _opening(
    keys: Keys,
    task_queue: str,
    referral: Referral,
    actor: Actor,
    engine: Engine | None,
    override_reason: str | None,
    policy_version: str = CURRENT_VERSION,
    training: bool = False,
) -> tuple[str, OpenCase, dict[str, Any]]:
    """Who may start it, the duplicates it must not be, and how the case's workflow is started."""
    denied = authority.may_start_case(actor)
    if denied is not None:
        raise NotPermitted(f"Not permitted: {denied}.")
    case_id = case_id_for(keys, referral)
    duplicates = find_duplicates(engine, keys, referral) if engine is not None else []
    refusal = identity.duplicate_refusal([(d.case_id, d.match) for d in duplicates], override_reason)
    exact = [d.case_id for d in duplicates if d.match is Match.exact]
    if exact:
        raise DuplicateReferral(exact[0])
    possible = sorted({d.case_id for d in duplicates})
    if refusal is not None:
        raise PossibleDuplicate(possible, refusal)
    start = OpenCase(
        case_id=case_id,
        referral=referral,
        opened_by=actor,
        policy_version=policy_version,
        possible_duplicate_of=possible,
        duplicate_override_reason=override_reason.strip() if possible and override_reason else None,
        calendar=calendar_for(referral.force_code, datetime.now(UTC).date()),
        training=training,
    )
    options: dict[str, Any] = {
        "id": case_id,
        "task_queue": task_queue,
        "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
        "search_attributes": TypedSearchAttributes(
            [
                SearchAttributePair(attrs.PHASE, Phase.screening.value),
                SearchAttributePair(attrs.HOLD_ACTIVE, True),
                # known at the start, so that the first step upserts only what it changes
                SearchAttributePair(attrs.CONTACT_OVERDUE, False),
                SearchAttributePair(attrs.DECISION_PENDING, False),
                SearchAttributePair(attrs.FORCE, referral.force_code),
                SearchAttributePair(attrs.CRIME_TYPE, referral.crime_type.value),
            ]
        ),
    }
    return case_id, start, options


async def start_referral(
    client: Client,
    keys: Keys,
    task_queue: str,
    referral: Referral,
    actor: Actor,
    engine: Engine | None = None,
    override_reason: str | None = None,
) -> str:
    """Start the case for a referral, under the current policy, and return its id. The same referral submitted
    again returns the same case id and starts nothing. With `engine` (every caller but a few tests), open cases
    of the same crime reference are searched first: the same person raises DuplicateReferral naming the existing
    case; a possible duplicate raises PossibleDuplicate unless `override_reason` says why this is another person,
    and the reason is then kept in the new case's record."""
    case_id, start, options = _opening(
        keys, task_queue, referral, actor, engine, override_reason, CURRENT_VERSION
    )
    try:
        await client.start_workflow(
            ProtocolCaseWorkflow.run, start, id_conflict_policy=WorkflowIDConflictPolicy.FAIL, **options
        )
    except WorkflowAlreadyStartedError:
        pass  # this referral was submitted before: it is that case (idempotent)
    return case_id


async def start_and_acknowledge(
    client: Client,
    keys: Keys,
    task_queue: str,
    referral: Referral,
    actor: Actor,
    engine: Engine | None = None,
    override_reason: str | None = None,
    within: timedelta = ANSWER_WITHIN,
    policy_version: str = CURRENT_VERSION,
    training: bool = False,
) -> tuple[str, CaseView | None]:
    """Start the case and receive its acknowledgement (opened, screened, hold placed, notices in the outbox) in
    one call — Update-with-Start, no polling. The same referral again attaches to its case. With no worker
    answering within `within`, the case is still started (durably) and its view is None: screening pending.
    `training` (a training stack only) lets a supervisor move the case's clock forward later."""
    case_id, start, options = _opening(
        keys, task_queue, referral, actor, engine, override_reason, policy_version, training
    )
    operation = WithStartWorkflowOperation(
        ProtocolCaseWorkflow.run, start, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING, **options
    )
    try:
        view: CaseView = await asyncio.wait_for(
            client.execute_update_with_start_workflow(
                ProtocolCaseWorkflow.acknowledge, AwaitOpened(), start_workflow_operation=operation
            ),
            within.total_seconds(),
        )
        return case_id, view
    except WorkflowAlreadyStartedError:
        return case_id, None  # an earlier run of this referral has finished: it is that case
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        pass  # (the library turns the cancelled wait into its own error)
    except RPCError as err:
        raise _rpc_error(case_id, err) from err
    try:  # no answer in time: the start itself is durable — say so only if Temporal has the case
        await client.get_workflow_handle(case_id).describe()
    except RPCError as err:
        raise Unavailable(
            f"The case service did not answer within {within.seconds} s and case {case_id} cannot be confirmed "
            "as started; send the referral again (it is the same case if it was)."
        ) from err
    return case_id, None


async def wait_until_open(
    client: Client, case_id: str, within: timedelta = timedelta(seconds=20)
) -> CaseView | None:
    """The case once the worker has opened and screened it, or None if that takes longer than `within`."""
    deadline = asyncio.get_running_loop().time() + within.total_seconds()
    while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            # with no worker a query waits for one: never past the caller's bound
            view = await state(client, case_id, timedelta(seconds=remaining))
        except (Refused, NotFound, Unavailable):
            view = None
        if view is not None and view.phase is not Phase.screening:
            return view
        await asyncio.sleep(0.2)
    return None


async def state(client: Client, case_id: str, within: timedelta | None = None) -> CaseView:
    """The case's state from its workflow; with `within`, Unavailable once that has passed (no worker)."""
    handle = client.get_workflow_handle(case_id)
    try:
        return await handle.query(ProtocolCaseWorkflow.state, rpc_timeout=within)
    except RPCError as err:
        raise _rpc_error(case_id, err) from err
    except Exception as err:  # a query failure carries the workflow's ApplicationError message
        raise Refused(f"Case {case_id} cannot answer yet: {err}") from err


async def send(client: Client, case_id: str, command: CaseCommand) -> CommandResult:
    """Send one command as an Update; a refusal comes back as Refused (NotPermitted for who gave it) with the
    workflow's reason. With no worker answering within `ANSWER_WITHIN`, Unavailable says so."""
    return await update(client, case_id, COMMANDS[command.kind].update, command)


async def update(client: Client, case_id: str, name: str, request: Message) -> CommandResult:
    """Send `request` to the case's workflow as its Update `name`, with `send`'s errors."""
    handle = client.get_workflow_handle(case_id)
    try:
        result: Any = await asyncio.wait_for(
            handle.execute_update(name, request, result_type=CommandResult), ANSWER_WITHIN.total_seconds()
        )
        return result  # type: ignore[no-any-return]
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        if isinstance(cause, ApplicationError) and cause.type == "NotPermitted":
            raise NotPermitted(f"Not permitted: {message}.") from err
        raise Refused(f"Refused: {message}.") from err
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as err:
        # wait_for's cancellation surfaces as the SDK's own error, not TimeoutError: both mean no worker answered
        raise Unavailable(
            f"The case service is not processing commands right now: no worker answered within "
            f"{ANSWER_WITHIN.seconds} s. The command may still be applied when it returns; check with "
            f"`mvp case show {case_id}` before sending it again."
        ) from err
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


# Temporal's words when it refuses an update because the case's workflow task keeps failing (attempt 3 or more)
WORKFLOW_TASK_FAILING = "Workflow Task in failed state"


def _rpc_error(case_id: str, err: RPCError) -> Exception:
    if err.status == RPCStatusCode.NOT_FOUND:
        if "already completed" in err.message or "completed" in err.message:
            return Refused(f"Case {case_id} is closed: nothing more can be recorded on it.")
        return NotFound(f"No case {case_id}.")
    if WORKFLOW_TASK_FAILING in err.message:
        # the server refuses an update, recording nothing, while the case's workflow task is on its third attempt
        # or later: after worker restarts close together, until a worker lives through one task (README, Durability)
        return Unavailable(
            f"The case service could not take this command for case {case_id} just now: the case is recovering "
            "after its worker restarted (usually within a minute). Nothing was recorded; send the command again "
            "shortly."
        )
    return Unavailable(f"Temporal refused the request for case {case_id}: {err.message}")
