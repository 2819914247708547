"""Who may do what (PROTOCOL.md §2), in one place. Each rule answers why an actor may not, or None.

Police act only on cases their own force referred; only officers start cases and record contacts,
support and applications; only supervisors decide exclusions and releases and purge data; enforcement
teams only ask whether a person is protected; only officers and supervisors read cases; only a
supervisor reopens a closed case. Police, officers and supervisors may record a withdrawal of the referral.
"""

from __future__ import annotations

from models.case import Actor, ActorRole, CaseCommand, CaseState

# Commands on a case, by their kind.
MAY: dict[str, frozenset[ActorRole]] = {
    "police_update": frozenset({ActorRole.police, ActorRole.officer}),
    "withdrawal": frozenset({ActorRole.police, ActorRole.officer, ActorRole.supervisor}),
    "contact": frozenset({ActorRole.officer}),
    "application": frozenset({ActorRole.officer}),
    "route_started": frozenset({ActorRole.officer}),
    "departure": frozenset({ActorRole.officer}),
    "exclusion_decision": frozenset({ActorRole.supervisor}),
    "release_decision": frozenset({ActorRole.supervisor}),
    "enforcement_check": frozenset({ActorRole.enforcement, ActorRole.system}),
    "fact_reported": frozenset({ActorRole.officer, ActorRole.police}),
    "fact_verified": frozenset({ActorRole.officer}),
    "reopen": frozenset({ActorRole.supervisor}),
}


def not_permitted(state: CaseState, command: CaseCommand) -> str | None:
    """Why this actor may not give this command on this case."""
    actor = command.actor
    allowed = MAY[command.kind]
    if actor.role not in allowed:
        roles = " or ".join(sorted(r.value for r in allowed if r is not ActorRole.system))
        return f"only {roles} may do this ({command.kind}); you are {actor.role.value}"
    if actor.role is ActorRole.police and actor.force != state.referral.force_code:
        return (
            "police may only update cases their own force referred; this case was referred by another force"
        )
    return None


def may_start_case(actor: Actor) -> str | None:
    """A case starts when a dedicated IE officer takes the police referral."""
    if actor.role is not ActorRole.officer:
        return "only a dedicated IE officer starts a case from a referral (use --as officer:ID)"
    return None


def may_read(actor: Actor) -> str | None:
    """Cases, the case list and the statistics are read by officers and supervisors (and each read is logged)."""
    if actor.role not in (ActorRole.officer, ActorRole.supervisor):
        return f"only officers and supervisors read cases; you are {actor.role.value}"
    return None


def may_purge(actor: Actor) -> str | None:
    """Removing personal data at the end of retention is a supervisor's act."""
    if actor.role is not ActorRole.supervisor:
        return "only a supervisor runs the retention purge"
    return None


def may_check(actor: Actor) -> str | None:
    """Only enforcement teams ask whether a person is protected."""
    if actor.role is not ActorRole.enforcement:
        return (
            "only enforcement teams run enforcement checks (use --as enforcement:ID); "
            f"you are {actor.role.value}"
        )
    return None
