"""Reported facts (PROTOCOL.md §3): the source of each fact is recorded, and what comes from the alleged
perpetrator is never acted on until an officer has verified it.

A fact from the alleged perpetrator or another third party is recorded as unverified and changes
nothing. So is a report that the person left the UK unless an officer made it: closing a case as
departed is an officer's act (as `departure` is). Only an officer verifies; a verified fact takes
effect (the person left the UK: the case closes as departed), a rejected one is recorded as rejected.
"""

from __future__ import annotations

from models.case import ActorRole, CaseState, FactKind, FactReported, FactSource, FactVerified, ReportedFact

# Sources whose word is taken without an officer's verification.
TRUSTED_SOURCES = frozenset({FactSource.person, FactSource.police})


def needs_verification(kind: FactKind, source: FactSource, reported_by: ActorRole) -> bool:
    """Whether a fact must wait for an officer's verification before it changes anything."""
    if source not in TRUSTED_SOURCES:
        return True
    return kind is FactKind.person_left_uk and reported_by is not ActorRole.officer


def report_refusal(command: FactReported) -> str | None:
    """Why this report cannot be recorded, or None."""
    if command.fact_kind is FactKind.other and not (command.detail or "").strip():
        return "say what the fact is (--detail) when its kind is other"
    return None


def verify_refusal(state: CaseState, command: FactVerified) -> str | None:
    """Why this verification is impossible, or None."""
    if command.fact_number > len(state.facts):
        count = len(state.facts)
        return (
            f"no fact {command.fact_number} on this case (it has {count} reported fact{'s' * (count != 1)})"
        )
    fact = state.facts[command.fact_number - 1]
    if not fact.needs_verification:
        return f"fact {fact.number} came from the {fact.source.value} and needed no verification"
    if fact.verified is not None:
        return f"fact {fact.number} was already {'verified' if fact.verified else 'rejected'}"
    return None


def describe(fact: ReportedFact) -> str:
    """`fact 2 (person_left_uk, from the perpetrator)`: codes only, never the detail."""
    return f"fact {fact.number} ({fact.kind.value}, from the {fact.source.value})"


def closes_case(fact: ReportedFact) -> bool:
    """A verified fact that ends the case: the person left the UK."""
    return fact.verified is True and fact.kind is FactKind.person_left_uk
