"""Every number of the protocol, in one versioned policy. Each case records the version it runs under.

A new policy is a new entry in `POLICIES` with a new version: running cases keep theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.case import CaseState


@dataclass(frozen=True)
class Policy:
    version: str
    # §7 periodic contact
    contact_interval: timedelta
    contact_grace: timedelta
    # §6 pre-decision engagement notice period (Review para 70)
    engagement_notice: timedelta
    # §4 exclusion thresholds (UKBA 2007 s.32; NIAA 2002 s.117C, s.117D)
    custodial_months_threshold: int
    most_serious_months_threshold: int
    persistent_offender_convictions: int
    persistent_offender_years: int
    # §4 leave that counts as secure: not tied to a partner, and with this much of it left
    secure_leave_min_remaining: timedelta
    # §5 route clocks
    concession_leave: timedelta  # Migrant Victims of Domestic Abuse Concession: 3 months
    nrm_min_recovery: timedelta  # NRM recovery period: at least 30 days
    witness_after_trial: timedelta  # the hold stays this long after the date evidence is due
    # §9 statistics: an application "within one month of referral"
    application_within: timedelta
    # §10 retention of personal data after closure
    retention_after_closure: timedelta
    # §8 a supervisor can reopen a case closed by mistake for this long after it closed
    reopen_window: timedelta
    # §9 statistics published outside IE: counts from 1 to below this are suppressed (shown as [c]) and
    # every other count is rounded to a multiple of `disclosure_rounding` (`protocol.statistics`). Read
    # only by the report, never by a running case, so adding them does not change any case's behaviour.
    disclosure_threshold: int
    disclosure_rounding: int
    # §7 contact due dates and grace periods (and the interval between escalations): their whole days counted
    # as working days, skipping weekends and the case's bank holidays (`protocol.workdays`), or as calendar days
    working_days: bool = False


POLICIES: dict[str, Policy] = {
    "2026.1": Policy(
        version="2026.1",
        contact_interval=timedelta(days=28),
        contact_grace=timedelta(days=7),
        engagement_notice=timedelta(days=28),
        custodial_months_threshold=12,
        most_serious_months_threshold=48,
        persistent_offender_convictions=3,
        persistent_offender_years=10,
        secure_leave_min_remaining=timedelta(days=90),
        concession_leave=timedelta(days=91),
        nrm_min_recovery=timedelta(days=30),
        witness_after_trial=timedelta(days=14),
        application_within=timedelta(days=31),
        retention_after_closure=timedelta(days=365 * 2),
        reopen_window=timedelta(days=90),
        disclosure_threshold=5,
        disclosure_rounding=5,
    ),
}

# Contact counted in working days (issue 12): due every 20 working days (four working weeks), overdue 5 working
# days (one working week) later, by the bank holidays of the referring force's part of the UK. A deployment
# chooses it for new cases with MVP_POLICY_VERSION; running cases keep the version they started under.
POLICIES["2026.2"] = replace(
    POLICIES["2026.1"],
    version="2026.2",
    contact_interval=timedelta(days=20),
    contact_grace=timedelta(days=5),
    working_days=True,
)

CURRENT_VERSION = "2026.1"


def policy(version: str = CURRENT_VERSION) -> Policy:
    """The policy a case runs under; an unknown version is a programming error, not a user one."""
    return POLICIES[version]


def policy_of(state: CaseState) -> Policy:
    """The policy this case runs under."""
    return policy(state.policy_version)
