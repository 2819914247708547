"""Training mode (README "Training mode"): a supervisor moves one case's clock forward on a training stack.

Refused, in this order: on a service not in training mode (NotFound: the route does not exist there), for anyone
but a supervisor (NotPermitted, recorded), for a duration that is not one (InputError, a sentence), and by the
case itself when it was not started in training mode or is not open (Refused, the workflow's reason).
"""

from __future__ import annotations

from typing import Any

from infra.errors import InputError, NotFound
from models.case import Actor, TrainingAdvance
from protocol import authority, training
from usecases import cases, reads
from usecases.context import Services, allowed

NOT_TRAINING = (
    "Training mode is off on this service: case clocks move only on a training stack "
    "(MVP_TRAINING=1 make run, or `mvp stack run --training`)."
)


def available(services: Services) -> None:
    """NotFound unless the service runs in training mode: the training routes exist only there."""
    if not services.settings.training:
        raise NotFound(NOT_TRAINING)


async def advance(services: Services, actor: Actor, raw_case_id: str, by: str) -> dict[str, Any]:
    """Move the case's clock forward by `by` (`30d`, `4w`, `12h`); the answer is the case as it now is."""
    available(services)
    allowed(authority.may_move_clock(actor))
    case_id = reads.case_id_from(raw_case_id)
    try:
        step = training.parse_duration(by)
    except training.DurationRefused as refused:
        raise InputError(str(refused), [f"by: {refused}"]) from None
    result = await cases.update(
        services.temporal, case_id, "training_advance", TrainingAdvance(actor=actor, by=step)
    )
    return result.model_dump(mode="json")
