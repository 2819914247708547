"""Periodic contact (PROTOCOL.md §7): when contact is due, when it is overdue, when to escalate.

A contact is due at the policy interval, the first at referral. Only a contact in which the person was
reached (or reached and declined) meets it; an unanswered or unsafe attempt is recorded but the contact
stays due. One not met within the grace period is overdue and is escalated to supervisors, again every
interval while it stays overdue. Missed contact never lifts a hold.

Under a policy that counts working days (`Policy.working_days`), the interval and the grace period are counted
in working days by the case's bank holidays (`CaseCalendar`, `protocol.workdays`); otherwise in calendar days.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from models.case import CaseCalendar, ContactResult, ContactSchedule
from protocol import workdays
from protocol.policy import Policy

MEETS_CONTACT = frozenset({ContactResult.reached, ContactResult.declined})


def first_schedule(opened_at: datetime) -> ContactSchedule:
    return ContactSchedule(next_due=opened_at)


def later(moment: datetime, length: timedelta, policy: Policy, calendar: CaseCalendar | None) -> datetime:
    """`moment` plus a period of the policy, counted as the policy says: working days (by the case's bank
    holidays; weekends only for a case with no calendar recorded) or calendar days."""
    if not policy.working_days:
        return moment + length
    return workdays.after(moment, length, calendar.holidays if calendar is not None else ())


def overdue_from(schedule: ContactSchedule, policy: Policy, calendar: CaseCalendar | None = None) -> datetime:
    return later(schedule.next_due, policy.contact_grace, policy, calendar)


def is_overdue(
    schedule: ContactSchedule, now: datetime, policy: Policy, calendar: CaseCalendar | None = None
) -> bool:
    return now >= overdue_from(schedule, policy, calendar)


def next_escalation(
    schedule: ContactSchedule, policy: Policy, calendar: CaseCalendar | None = None
) -> datetime:
    """When the overdue contact is (next) escalated."""
    first = overdue_from(schedule, policy, calendar)
    if schedule.last_escalated_at is None or schedule.last_escalated_at < first:
        return first
    return later(schedule.last_escalated_at, policy.contact_interval, policy, calendar)


def escalation_due(
    schedule: ContactSchedule, now: datetime, policy: Policy, calendar: CaseCalendar | None = None
) -> bool:
    return now >= next_escalation(schedule, policy, calendar)


def after_attempt(
    schedule: ContactSchedule,
    result: ContactResult,
    now: datetime,
    policy: Policy,
    calendar: CaseCalendar | None = None,
) -> ContactSchedule:
    if result in MEETS_CONTACT:
        return schedule.model_copy(
            update={
                "next_due": later(now, policy.contact_interval, policy, calendar),
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
