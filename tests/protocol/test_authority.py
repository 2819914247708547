"""Who may do what outside the case commands: start a case, read cases, purge personal data."""

from __future__ import annotations

import pytest

from models.case import Actor, ActorRole
from protocol.authority import may_purge, may_read, may_start_case

ROLES = [ActorRole.police, ActorRole.officer, ActorRole.supervisor, ActorRole.enforcement]


def actor(role: ActorRole) -> Actor:
    return Actor(role=role, id="X-1", force="WMP" if role is ActorRole.police else None)


@pytest.mark.parametrize("role", ROLES)
def test_only_an_officer_starts_a_case(role: ActorRole) -> None:
    assert (may_start_case(actor(role)) is None) == (role is ActorRole.officer)


@pytest.mark.parametrize("role", ROLES)
def test_only_officers_and_supervisors_read_cases(role: ActorRole) -> None:
    assert (may_read(actor(role)) is None) == (role in (ActorRole.officer, ActorRole.supervisor))


@pytest.mark.parametrize("role", ROLES)
def test_only_a_supervisor_purges(role: ActorRole) -> None:
    assert (may_purge(actor(role)) is None) == (role is ActorRole.supervisor)
