"""What every use case works with: made once by the API (and by tests), passed in."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from temporalio.client import Client

from infra.errors import NotPermitted
from infra.keys import Keys
from infra.settings import Settings
from models.case import Actor


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: Engine
    keys: Keys
    temporal: Client


def allowed(denied: str | None) -> None:
    """Raise NotPermitted with the rule's sentence when a rule of `protocol.authority` says no."""
    if denied is not None:
        raise NotPermitted(f"Not permitted: {denied}.")


def label(actor: Actor) -> str:
    return actor.label()
