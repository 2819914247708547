"""Who may do what (PROTOCOL.md §2), in one place. Each rule answers why an actor may not, or None.

Police act only on cases their own force referred; only officers start cases and record contacts,
support and applications; only supervisors decide exclusions and releases and purge data; enforcement
teams only ask whether a person is protected; only officers and supervisors read cases; only a
supervisor reopens a closed case. Police, officers and supervisors may record a withdrawal of the referral.
"""

from __future__ import annotations

from models.case import Actor, ActorRole, CaseCommand, CaseState
from models.registry import COMMANDS

# Commands on a case, by their kind: as the registry names them, and the enforcement check's signal.
MAY: dict[str, frozenset[ActorRole]] = {
    **{kind: frozenset(ActorRole(role) for role in spec.roles) for kind, spec in COMMANDS.items()},
    "enforcement_check": frozenset({ActorRole.enforcement, ActorRole.system}),
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


def may_read_case(actor: Actor, force_code: str) -> str | None:
    """One case: officers and supervisors in full; police a summary of a case their own force referred."""
    if actor.role is ActorRole.police:
        if actor.force != force_code:
            return (
                "police may only read cases their own force referred; this case was referred by another force"
            )
        return None
    return may_read(actor)


def may_find(actor: Actor) -> str | None:
    """Finding a case: officers and supervisors; police too, shown only their own force's cases."""
    if actor.role not in (ActorRole.officer, ActorRole.supervisor, ActorRole.police):
        return f"only officers, supervisors and police find cases; you are {actor.role.value}"
    return None


def may_load_records(actor: Actor) -> str | None:
    """Loading Home Office reference records is an action of its own role (PROTOCOL.md §2)."""
    if actor.role is not ActorRole.records_admin:
        return f"only a records administrator loads Home Office records; you are {actor.role.value}"
    return None


def may_audit(actor: Actor) -> str | None:
    """The record's verification, the access log and the enforcement checks: supervisors and data protection."""
    if actor.role not in (ActorRole.supervisor, ActorRole.auditor):
        return f"only supervisors and auditors read the audit trail; you are {actor.role.value}"
    return None


def may_decode(actor: Actor) -> str | None:
    """Decrypting Temporal payloads for the UI: officers, supervisors and auditors (each decode is logged)."""
    if actor.role not in (ActorRole.officer, ActorRole.supervisor, ActorRole.auditor):
        return (
            f"only officers, supervisors and auditors may read decrypted payloads; you are {actor.role.value}"
        )
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


def may_move_clock(actor: Actor) -> str | None:
    """Only a supervisor moves a training case's clock (PROTOCOL.md §2: supervisors see overdue contacts and
    authorise releases, which is what is rehearsed)."""
    if actor.role is not ActorRole.supervisor:
        return f"only a supervisor moves a training case's clock; you are {actor.role.value}"
    return None
