"""What every route needs: the services made at start-up, and the caller's verified identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from infra.errors import Unauthenticated
from models.case import Actor
from usecases.context import Services


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def actor(request: Request) -> Actor:
    """The caller, from the bearer token's verified claims; never from anything the caller says."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "Sign in first: every request needs an OIDC bearer token (`mvp login`, or MVP_TOKEN; in development "
            "`--as ROLE:ID[:FORCE]`)."
        )
    return request.app.state.verifier.actor(token.strip())  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(services)]
ActorDep = Annotated[Actor, Depends(actor)]
