"""The enforcement hold's grounds (PROTOCOL.md §6): a pure function of the case facts and the clock.

A police withdrawal of the referral (`InvestigationStatus.referral_withdrawn`) ends the police ground and
nothing else. A pending application counts whether the officer recorded it or screening found it in the
Home Office records (a pending application, an asylum claim, an asylum dependant).

The hold is in force while any ground holds. When the last substantive ground ends the hold does not
end on its own: pre-decision engagement and then a supervisor's release decision keep it in force,
and only a supervisor lifts it.
"""

from __future__ import annotations

from datetime import datetime

from models.case import ApplicationStage, CaseState, DecisionKind, Ground, InvestigationStatus, Phase
from models.records import ImmigrationStatus

LIVE_INVESTIGATION = frozenset(
    {
        InvestigationStatus.reported,
        InvestigationStatus.under_investigation,
        InvestigationStatus.suspect_arrested,
        InvestigationStatus.charged,
        InvestigationStatus.awaiting_trial,
        InvestigationStatus.at_trial,
        InvestigationStatus.appeal_pending,
    }
)

PENDING_APPLICATION = frozenset(
    {ApplicationStage.submitted, ApplicationStage.review_lodged, ApplicationStage.appeal_lodged}
)

# Statuses in the Home Office records that mean an application or claim is pending: protected from screening on.
PENDING_STATUS = frozenset(
    {
        ImmigrationStatus.pending_application,
        ImmigrationStatus.asylum_claimant,
        ImmigrationStatus.asylum_dependant,
    }
)

SUBSTANTIVE = frozenset(
    {
        Ground.screening_pending,
        Ground.investigation_live,
        Ground.application_pending,
        Ground.receiving_support,
        Ground.route_clock,
        Ground.exclusion_decision_pending,
    }
)


def substantive_grounds(state: CaseState, now: datetime) -> list[Ground]:
    """The grounds that protect the person in their own right, in declaration order."""
    grounds: set[Ground] = set()
    if state.screening is None:
        grounds.add(Ground.screening_pending)
    if state.investigation in LIVE_INVESTIGATION:
        grounds.add(Ground.investigation_live)
    if any(app.stage in PENDING_APPLICATION for app in state.applications):
        grounds.add(Ground.application_pending)
    if state.screening is not None and state.screening.status in PENDING_STATUS:
        grounds.add(Ground.application_pending)  # an application or asylum claim the records show pending
    if state.support_active:
        grounds.add(Ground.receiving_support)
    if any(clock.ends_at > now for clock in state.route_clocks):
        grounds.add(Ground.route_clock)
    if any(p.kind is DecisionKind.exclusion for p in state.pending):
        grounds.add(Ground.exclusion_decision_pending)
    return [g for g in Ground if g in grounds]


def hold_grounds(state: CaseState, now: datetime) -> list[Ground]:
    """Every ground the hold stands on now. Empty only for a closed case."""
    if state.phase is Phase.closed:
        return []
    grounds = substantive_grounds(state, now)
    if grounds:
        return grounds
    if state.phase is Phase.awaiting_release:
        return [Ground.release_decision_pending]
    return [Ground.engagement_notice]
