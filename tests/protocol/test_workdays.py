"""Working days (issue 12): contact due dates and grace periods counted in working days by the bank holidays of
the referring force's part of the UK, when the case's policy says so."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from models.case import Actor, ActorRole, CaseCalendar, ContactResult, ContactSchedule, Screening
from models.records import ImmigrationStatus
from protocol import contact, lifecycle, workdays
from protocol.intake import parse_referral
from protocol.policy import policy
from protocol.screening import RULES_VERSION

CALENDAR_DAYS = policy("2026.1")
WORKING_DAYS = policy("2026.2")
# England and Wales's bank holidays around Christmas 2026 and Easter 2027, as GOV.UK publishes them
CHRISTMAS = frozenset({date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)})
EASTER = frozenset({date(2027, 3, 26), date(2027, 3, 29)})
HOLIDAYS = CHRISTMAS | EASTER

days = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))
holiday_sets = st.frozensets(st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 12, 31)), max_size=60)


@given(start=days, count=st.integers(min_value=1, max_value=60), holidays=holiday_sets)
def test_a_working_day_due_date_is_never_a_weekend_or_a_bank_holiday(
    start: date, count: int, holidays: frozenset[date]
) -> None:
    due = workdays.add_working_days(start, count, holidays)
    assert due.weekday() < 5 and due not in holidays


@given(start=days, count=st.integers(min_value=0, max_value=60), holidays=holiday_sets)
def test_a_working_day_due_date_is_never_earlier_than_the_calendar_day_one(
    start: date, count: int, holidays: frozenset[date]
) -> None:
    assert workdays.add_working_days(start, count, holidays) >= start + timedelta(days=count)


@given(start=days, count=st.integers(min_value=1, max_value=60), holidays=holiday_sets)
def test_exactly_the_asked_number_of_working_days_lie_between(
    start: date, count: int, holidays: frozenset[date]
) -> None:
    due = workdays.add_working_days(start, count, holidays)
    between = [start + timedelta(days=n) for n in range(1, (due - start).days + 1)]
    assert sum(workdays.is_working_day(d, holidays) for d in between) == count


@given(
    moment=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
    length=st.integers(min_value=1, max_value=40),
    holidays=holiday_sets,
)
def test_a_contact_counted_in_working_days_is_due_on_a_working_day_at_the_same_time(
    moment: datetime, length: int, holidays: frozenset[date]
) -> None:
    due = workdays.after(moment, timedelta(days=length), holidays)
    assert due.timetz() == moment.timetz() and workdays.is_working_day(due.date(), holidays)
    assert due >= moment + timedelta(days=length)


def test_five_working_days_from_the_friday_before_christmas_skip_both_bank_holidays() -> None:
    assert workdays.add_working_days(date(2026, 12, 18), 5, HOLIDAYS) == date(2026, 12, 29)
    assert workdays.add_working_days(date(2027, 3, 25), 1, HOLIDAYS) == date(2027, 3, 30)


def test_forces_count_the_bank_holidays_of_their_own_part_of_the_uk() -> None:
    assert workdays.division_of("PSNI") == workdays.NORTHERN_IRELAND
    assert workdays.division_of("PS") == workdays.SCOTLAND
    assert workdays.division_of("WMP") == workdays.ENGLAND_AND_WALES
    assert workdays.division_of("MPS") == workdays.ENGLAND_AND_WALES


def test_the_policy_says_whether_contact_counts_working_or_calendar_days() -> None:
    calendar = CaseCalendar(division=workdays.ENGLAND_AND_WALES, holidays=sorted(HOLIDAYS))
    reached = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)  # a Friday
    schedule = ContactSchedule(next_due=reached)
    by_calendar = contact.after_attempt(schedule, ContactResult.reached, reached, CALENDAR_DAYS, calendar)
    assert by_calendar.next_due == reached + timedelta(days=28)  # calendar days: the holidays change nothing
    by_working = contact.after_attempt(schedule, ContactResult.reached, reached, WORKING_DAYS, calendar)
    # 20 working days from Fri 4 Dec 2026: 24 Dec is the 14th, then 25 and 28 Dec are bank holidays
    assert by_working.next_due == datetime(2027, 1, 6, 10, 0, tzinfo=UTC)
    # overdue 5 working days later; 1 Jan 2027 is not one of them
    assert contact.overdue_from(by_working, WORKING_DAYS, calendar) == datetime(
        2027, 1, 13, 10, 0, tzinfo=UTC
    )


def test_a_case_records_its_calendar_and_counts_working_days_when_its_policy_says_so() -> None:
    raw = json.loads((Path(__file__).parents[2] / "examples" / "referral-domestic-abuse.json").read_text())
    opened_at = datetime(2026, 12, 18, 9, 0, tzinfo=UTC)
    referral, problems = parse_referral(raw, opened_at)
    assert referral is not None, problems
    calendar = CaseCalendar(division=workdays.division_of(referral.force_code), holidays=sorted(HOLIDAYS))
    officer = Actor(role=ActorRole.officer, id="IE-101")
    state = lifecycle.open_case("case-1", referral, officer, opened_at, WORKING_DAYS, calendar=calendar).state
    screening = Screening(
        screened_at=opened_at,
        record_found=False,
        status=ImmigrationStatus.no_status,
        rules_version=RULES_VERSION,
    )
    state = lifecycle.screened(state, screening, [], opened_at, WORKING_DAYS).state
    view = lifecycle.view(state, opened_at, WORKING_DAYS)
    assert (view.division, view.working_days) == (workdays.ENGLAND_AND_WALES, True)
    # first contact is due at referral and overdue 5 working days later: after Christmas, not on Christmas Eve
    assert contact.overdue_from(state.contact, WORKING_DAYS, state.calendar).date() == date(2026, 12, 29)
    assert lifecycle.next_wakeup(state, opened_at, WORKING_DAYS) == datetime(2026, 12, 29, 9, 0, tzinfo=UTC)
    step = lifecycle.tick(state, datetime(2026, 12, 24, 9, 0, tzinfo=UTC), WORKING_DAYS)
    assert step is None  # a calendar-day policy would be overdue by now; this one is not
