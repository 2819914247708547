"""What the CLI asks of the enforcement workflows: run a check, record an action.

The person is hashed here, at the edge, with the same keyed hashes the holds are stored under
(`Keys.person_hash`, `Keys.reference_hash`, `Keys.birth_hash`, after `protocol.identity` normalisation):
no name, date of birth or Home Office reference reaches Temporal in clear; the normalised name travels
sealed with the keyring, inside the encrypted payload, for the activity to score possible matches.
Every function raises only `infra.errors` exceptions.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from infra.errors import InputError, NotPermitted, Refused, Unavailable
from infra.keys import Keys
from models.case import Actor, ActorRole
from models.enforcement import (
    SUBJECT_BINDING,
    ActionRequest,
    ActionResult,
    CheckRequest,
    CheckResult,
    EnforcementAction,
    Subject,
    SubjectKind,
)
from protocol import authority, identity
from protocol.enforcement import PersonSpec
from workflows.enforcement import EnforcementActionWorkflow, EnforcementCheckWorkflow

ANSWER_WITHIN = timedelta(seconds=60)
P = TypeVar("P")
R = TypeVar("R")


def subject_of(keys: Keys, person: PersonSpec) -> Subject:
    """The person as keyed hashes, as `activities.store` keys the holds: the exact key, and what a possible
    match is found by (near references; or the date of birth and its near dates, with the normalised name
    sealed so that only the worker's activity can score candidates)."""
    if person.kind is SubjectKind.ho_ref:
        (reference,) = person.parts
        near = sorted(keys.reference_hash(r) for r in identity.near_references(reference))
        return Subject(kind=person.kind, key=keys.reference_hash(reference), near_ref_keys=near)
    family, given, born = person.parts
    return Subject(
        kind=person.kind,
        key=keys.person_hash(family, given, born),
        birth_key=keys.birth_hash(born),
        near_birth_keys=sorted(
            keys.birth_hash(d.isoformat()) for d in identity.near_dates_of_birth(date.fromisoformat(born))
        ),
        name_sealed=keys.keyring.seal_text(identity.name_key(family, given), bound_to=SUBJECT_BINDING),
    )


async def check(
    client: Client, keys: Keys, task_queue: str, actor: Actor, person: PersonSpec, reason: str
) -> CheckResult:
    """Run one enforcement check and wait for its answer (permitted or refused; both are recorded)."""
    denied = authority.may_check(actor)
    if denied is not None:
        raise NotPermitted(f"Not permitted: {denied}.")
    if len(reason.strip()) < 3:
        raise InputError("--reason: say why enforcement is considering this person (at least 3 characters).")
    check_id = f"check-{uuid.uuid4()}"
    request = CheckRequest(
        check_id=check_id, actor=actor, reason=reason.strip(), subject=subject_of(keys, person)
    )
    return await _run(client, EnforcementCheckWorkflow.run, request, check_id, task_queue)


async def act(
    client: Client, task_queue: str, actor: Actor, check_id: str, action: EnforcementAction
) -> ActionResult:
    """Record an enforcement action after a permitted check; refused otherwise."""
    if actor.role is not ActorRole.enforcement:  # the workflow refuses it too; a role refusal is a 403
        raise NotPermitted(
            f"Not permitted: only enforcement teams record enforcement actions; you are {actor.role.value}."
        )
    check_id = check_id.strip()
    if not check_id:
        raise InputError("--check: give the check id that `mvp enforcement check` printed.")
    action_id = f"action-{uuid.uuid4()}"
    request = ActionRequest(action_id=action_id, check_id=check_id, actor=actor, action=action)
    return await _run(client, EnforcementActionWorkflow.run, request, action_id, task_queue)


async def _run(
    client: Client, run: Callable[[Any, P], Awaitable[R]], request: P, workflow_id: str, task_queue: str
) -> R:
    try:
        handle = await client.start_workflow(run, request, id=workflow_id, task_queue=task_queue)
        return await asyncio.wait_for(handle.result(), ANSWER_WITHIN.total_seconds())
    except WorkflowFailureError as err:
        cause = err.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise Refused(f"Refused: {message}.") from err
    except TimeoutError as err:
        raise Unavailable(
            f"No answer within {ANSWER_WITHIN.seconds}s (is the worker running?); {workflow_id} will be "
            "answered and recorded when it runs."
        ) from err
    except RPCError as err:
        raise Unavailable(f"Temporal refused {workflow_id}: {err.message}") from err
