"""Periodic contact (PROTOCOL.md §7): when contact is due, when it is overdue, when to escalate.

A contact is due at the policy interval, the first at referral. Only a contact in which the person was
reached (or reached and declined) meets it; an unanswered or unsafe attempt is recorded but the contact
stays due. One not met within the grace period is overdue and is escalated to supervisors, again every
interval while it stays overdue. Missed contact never lifts a hold.
"""

from __future__ import annotations

from datetime import datetime

from models.case import ContactResult, ContactSchedule
from protocol.policy import Policy

MEETS_CONTACT = frozenset({ContactResult.reached, ContactResult.declined})


def first_schedule(opened_at: datetime) -> ContactSchedule:
    return ContactSchedule(next_due=opened_at)


def overdue_from(schedule: ContactSchedule, policy: Policy) -> datetime:
    return schedule.next_due + policy.contact_grace


def is_overdue(schedule: ContactSchedule, now: datetime, policy: Policy) -> bool:
    return now >= overdue_from(schedule, policy)


def next_escalation(schedule: ContactSchedule, policy: Policy) -> datetime:
    """When the overdue contact is (next) escalated."""
    first = overdue_from(schedule, policy)
    if schedule.last_escalated_at is None or schedule.last_escalated_at < first:
        return first
    return schedule.last_escalated_at + policy.contact_interval


def escalation_due(schedule: ContactSchedule, now: datetime, policy: Policy) -> bool:
    return now >= next_escalation(schedule, policy)


def after_attempt(
    schedule: ContactSchedule, result: ContactResult, now: datetime, policy: Policy
) -> ContactSchedule:
    if result in MEETS_CONTACT:
        return schedule.model_copy(
            update={
                "next_due": now + policy.contact_interval,
                "last_reached_at": now,
                "last_escalated_at": None,
                "attempts": schedule.attempts + 1,
                "missed_attempts_in_a_row": 0,
            }
        )
    return schedule.model_copy(
        update={
            "attempts": schedule.attempts + 1,
            "missed_attempts_in_a_row": schedule.missed_attempts_in_a_row + 1,
        }
    )
