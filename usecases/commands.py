"""A case command from a caller: built from the request body and the caller's verified identity, then sent to
the case's workflow as its Update. The workflow decides (and records) whether this actor may give it."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from infra.errors import InputError, NotFound
from models.case import COMMAND_MODELS, Actor, ActorRole, CaseCommand
from models.registry import BY_ROUTE
from protocol.intake import describe_validation_error
from usecases import cases, reads
from usecases.context import Services

RESERVED = ("actor", "kind")  # what the service fills in, never the caller


def build(route: str, actor: Actor, body: dict[str, Any]) -> CaseCommand:
    """The command for `POST /cases/{id}/{route}`, or InputError naming every problem."""
    spec = BY_ROUTE.get(route)
    if spec is None:
        raise NotFound(f"No case command {route!r}.")
    given = [name for name in RESERVED if name in body]
    if given:
        raise InputError(
            f"{', '.join(given)}: set by the service (who you are comes from your sign-in); leave it out.",
            [f"{name}: is set by the service; leave it out" for name in given],
        )
    try:
        command = COMMAND_MODELS[spec.kind].model_validate({**body, "actor": actor.model_dump()})
    except ValidationError as error:
        problems = describe_validation_error(error)
        listed = "\n".join(f"  - {p}" for p in problems)
        raise InputError(
            f"The {route} command was refused ({len(problems)} problem(s)):\n{listed}", problems
        ) from None
    return command  # type: ignore[return-value]


async def send(
    services: Services, actor: Actor, case_id: str, route: str, body: dict[str, Any]
) -> dict[str, Any]:
    """The command, sent to the case; its answer as the actor may see it (police: the protection's state, not the
    Home Office's data, as `reads.police_view` shows them a case)."""
    command = build(route, actor, body)
    answer = (await cases.send(services.temporal, case_id, command)).model_dump(mode="json")
    if actor.role is ActorRole.police:
        answer["view"] = reads.police_view(answer["view"])
    return answer
