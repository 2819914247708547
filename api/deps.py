"""What every route needs: the services made at start-up, and the caller's verified identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api import auth
from api.auth import bearer_token
from infra.errors import Unauthenticated, Unavailable
from models.case import Actor
from usecases.context import Services


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def actor(request: Request) -> Actor:
    """The caller, from the bearer token's verified claims; never from anything the caller says."""
    try:
        verified: Actor = request.app.state.verifier.verify(
            bearer_token(request.headers.get("Authorization"))
        )
    except auth.IssuerUnavailable as error:
        raise Unavailable(str(error)) from None
    except auth.Unauthenticated as error:
        raise Unauthenticated(str(error)) from None
    request.state.actor = verified  # a refusal of this request is recorded under it (api.app)
    return verified


ServicesDep = Annotated[Services, Depends(services)]
ActorDep = Annotated[Actor, Depends(actor)]
