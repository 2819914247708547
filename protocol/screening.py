"""Screening at referral (PROTOCOL.md §4): is the person's status secure, and do exclusion indicators apply?

Pure rules: the Home Office records, `now` and the policy come in as arguments; nothing is looked up here.
The workflow records `RULES_VERSION` with every screening, next to the policy version, so that a screening
can be explained later by the rules and the numbers it ran under.

Choices the rules make, each one on the side that keeps a victim's hold in place when in doubt (a hold kept
too long costs a supervisor a decision; a hold dropped wrongly can cost the person their safety):

- An indicator never closes a case (§4): it only tells a supervisor a decision is needed.
- Secure means the person needs no hold at all. A British citizen cannot be removed, so British is secure
  whatever their record. Settled status, the EU Settlement Scheme and long-enough leave are secure only when
  screening finds no exclusion indicator: a foreign national offender with settled status or leave is still
  liable to deportation (UK Borders Act 2007 s.32), so for them the case stays open on its hold and a
  supervisor decides the exclusion, as for anyone else with indicators.
- Leave tied to a partner, spouse or sponsor is never secure, however long it has left: the abuser can
  withdraw sponsorship and have it curtailed (Review paras 21 and 26). Leave whose basis is not recorded is
  not secure either, because it cannot be shown not to be tied to one.
"""

from __future__ import annotations

from datetime import date, datetime

from models.case import ExclusionIndicator, Screening
from models.records import CriminalRecord, ImmigrationStatus, ImmigrationStatusRecord
from protocol.policy import Policy

RULES_VERSION = "exclusion-2026.1"

# Statuses that are secure by themselves; leave to remain is secure only under the conditions in `is_secure`.
_SECURE_STATUSES = frozenset(
    {ImmigrationStatus.british_citizen, ImmigrationStatus.settled, ImmigrationStatus.eu_settlement_scheme}
)

# Home Office markers that are indicators in their own right. Any other marker is ignored.
_MARKERS: dict[str, ExclusionIndicator] = {
    "persistent_offender": ExclusionIndicator.persistent_offender,
    "deportation_order": ExclusionIndicator.deportation_order,
    "national_security": ExclusionIndicator.national_security,
}

# Words in a `last_leave` category that tie the leave to another person (Review paras 21, 26, 39).
_PARTNER_WORDS = ("partner", "spouse", "spousal", "fianc")
_DEPENDANT_WORDS = ("dependant", "dependent")


def is_partner_leave(last_leave: str | None) -> bool:
    """Whether the last leave was as a partner, spouse or fiancé(e), e.g. `partner_of_settled_person`."""
    category = (last_leave or "").lower()
    return any(word in category for word in _PARTNER_WORDS)


def is_dependant_leave(last_leave: str | None) -> bool:
    """Whether the last leave was as a dependant on someone else's leave or claim."""
    category = (last_leave or "").lower()
    return any(word in category for word in _DEPENDANT_WORDS)


def exclusion_indicators(
    record: CriminalRecord | None, now: datetime, policy: Policy
) -> list[ExclusionIndicator]:
    """The exclusion indicators a criminal record raises, in `ExclusionIndicator` order, each at most once.

    - `custodial_12_months`: one custodial sentence of at least `policy.custodial_months_threshold` months.
      Sentences for different offences are never added together, and a non-custodial sentence (a suspended
      sentence, a community order) never counts, whatever its length.
    - `custodial_4_years`: one custodial sentence of at least `policy.most_serious_months_threshold` months,
      flagged as well as `custodial_12_months`.
    - `serious_harm`: any conviction for an offence that caused serious harm, custodial or not.
    - `persistent_offender`: at least `policy.persistent_offender_convictions` convictions dated from the same
      calendar day `policy.persistent_offender_years` years before `now` up to `now`'s date, both ends
      included; or a `persistent_offender` marker.
    - `deportation_order`, `national_security`: from the record's markers.

    Markers are matched without regard to case or surrounding spaces; unknown markers are ignored.
    No record means no indicators.
    """
    if record is None:
        return []
    found: set[ExclusionIndicator] = set()
    for conviction in record.convictions:
        if conviction.custodial and conviction.sentence_months >= policy.custodial_months_threshold:
            found.add(ExclusionIndicator.custodial_12_months)
        if conviction.custodial and conviction.sentence_months >= policy.most_serious_months_threshold:
            found.add(ExclusionIndicator.custodial_4_years)
        if conviction.serious_harm:
            found.add(ExclusionIndicator.serious_harm)
    today = now.date()
    window_start = _years_before(today, policy.persistent_offender_years)
    recent = sum(1 for c in record.convictions if window_start <= c.convicted_on <= today)
    if recent >= policy.persistent_offender_convictions:
        found.add(ExclusionIndicator.persistent_offender)
    for marker in record.markers:
        indicator = _MARKERS.get(marker.strip().lower())
        if indicator is not None:
            found.add(indicator)
    return [indicator for indicator in ExclusionIndicator if indicator in found]


def is_secure(status: ImmigrationStatusRecord | None, now: datetime, policy: Policy) -> bool:
    """Whether the status alone needs no hold: the case can close as *status confirmed* (§4).

    Secure: British citizen; settled; EU Settlement Scheme; leave to remain that expires at least
    `policy.secure_leave_min_remaining` after `now`'s date and whose last leave is recorded and not as a
    partner, spouse or dependant. Everything else is not secure: a pending application, an asylum claimant or
    dependant, no status, no record, leave that has expired or is about to, leave with no expiry or no basis
    recorded, and leave tied to a partner or sponsor even when it has years left.

    This looks at the status only; `screen` also weighs exclusion indicators (see the module docstring).
    """
    if status is None:
        return False
    if status.status in _SECURE_STATUSES:
        return True
    if status.status is not ImmigrationStatus.leave_to_remain:
        return False
    if status.leave_expires is None or status.last_leave is None or not status.last_leave.strip():
        return False
    if is_partner_leave(status.last_leave) or is_dependant_leave(status.last_leave):
        return False
    return status.leave_expires - now.date() >= policy.secure_leave_min_remaining


def screen(
    status: ImmigrationStatusRecord | None,
    criminality: CriminalRecord | None,
    now: datetime,
    policy: Policy,
    trigger: str = "referral",
    reference_mismatch: list[str] | None = None,
) -> Screening:
    """Screen a person from their Home Office records (already matched to them by the caller; when the
    record of their reference disagreed, `reference_mismatch` names what, and there are no records).

    `secure` is true for a British citizen whatever their record, and for another secure status only when
    there are no exclusion indicators: an indicator must reach a supervisor, never close the case on its own.
    """
    indicators = exclusion_indicators(criminality, now, policy)
    british = status is not None and status.status is ImmigrationStatus.british_citizen
    secure = british or (is_secure(status, now, policy) and not indicators)
    return Screening(
        screened_at=now,
        record_found=status is not None,
        status=status.status if status is not None else ImmigrationStatus.unknown,
        last_leave=status.last_leave if status is not None else None,
        leave_expires=status.leave_expires if status is not None else None,
        secure=secure,
        indicators=indicators,
        rules_version=RULES_VERSION,
        trigger=trigger,
        reference_mismatch=list(reference_mismatch or []),
    )


def unavailable(now: datetime, trigger: str = "referral") -> Screening:
    """The records could not be read: status unknown for now, nothing concluded, screening to be retried.
    The hold stays, as it does for a person with no record."""
    return Screening(
        screened_at=now,
        record_found=False,
        status=ImmigrationStatus.unknown,
        rules_version=RULES_VERSION,
        trigger=trigger,
        complete=False,
    )


def _years_before(day: date, years: int) -> date:
    """The same calendar day `years` years earlier; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)
