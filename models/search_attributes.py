"""The case's search attributes: stored in clear by Temporal, so codes and dates only, never a name,
a date of birth or an address."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

PHASE = SearchAttributeKey.for_keyword("MvpPhase")
HOLD_ACTIVE = SearchAttributeKey.for_bool("MvpHoldActive")
CONTACT_OVERDUE = SearchAttributeKey.for_bool("MvpContactOverdue")
FORCE = SearchAttributeKey.for_keyword("MvpForce")
CRIME_TYPE = SearchAttributeKey.for_keyword("MvpCrimeType")
NEXT_CONTACT_DUE = SearchAttributeKey.for_datetime("MvpNextContactDue")
DECISION_PENDING = SearchAttributeKey.for_bool("MvpDecisionPending")

ALL = [PHASE, HOLD_ACTIVE, CONTACT_OVERDUE, FORCE, CRIME_TYPE, NEXT_CONTACT_DUE, DECISION_PENDING]

# `temporal server start-dev --search-attribute NAME=TYPE`
CLI_TYPES = {
    PHASE.name: "Keyword",
    HOLD_ACTIVE.name: "Bool",
    CONTACT_OVERDUE.name: "Bool",
    FORCE.name: "Keyword",
    CRIME_TYPE.name: "Keyword",
    NEXT_CONTACT_DUE.name: "Datetime",
    DECISION_PENDING.name: "Bool",
}
