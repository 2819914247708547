"""Working days (issue 12): contact due dates and grace periods counted in working days, skipping weekends
and the bank holidays of the referring force's part of the UK.

Pure: the holidays are passed in. They come from the calendar `govuk-bank-holidays` ships (loaded outside
`protocol/`, by `infra.holidays`) and are recorded in the case at intake (`CaseCalendar`), so that a running
case never reads a file and replays with the holidays it started with. Whether a case counts in working
days or calendar days is its policy's say (`Policy.working_days`), so a case started under a calendar-day
policy keeps counting calendar days.

    add_working_days(Fri 18 Dec 2026, 5, England and Wales) = Tue 29 Dec 2026
    (Mon 21 … Thu 24 count, Fri 25 and Mon 28 are bank holidays, Tue 29 is the fifth working day)
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta

ENGLAND_AND_WALES = "england-and-wales"
SCOTLAND = "scotland"
NORTHERN_IRELAND = "northern-ireland"
DIVISIONS = (ENGLAND_AND_WALES, SCOTLAND, NORTHERN_IRELAND)  # as GOV.UK and govuk-bank-holidays name them

# The forces whose bank holidays are not England and Wales's, by the force codes referrals carry. Every other
# force (the 43 territorial forces of England and Wales, BTP, MoD Police, ...) counts England and Wales's.
FORCE_DIVISION: dict[str, str] = {
    "PS": SCOTLAND,  # Police Scotland
    "PSOS": SCOTLAND,  # Police Service of Scotland
    "PSNI": NORTHERN_IRELAND,  # Police Service of Northern Ireland
}

SATURDAY = 5


def division_of(force_code: str) -> str:
    """Whose bank holidays a case referred by this force counts."""
    return FORCE_DIVISION.get(force_code.upper(), ENGLAND_AND_WALES)


def is_working_day(day: date, holidays: Collection[date]) -> bool:
    return day.weekday() < SATURDAY and day not in holidays


def add_working_days(day: date, days: int, holidays: Collection[date]) -> date:
    """The day `days` working days after `day` (not counting `day` itself). With `days` at least 1 the answer
    is a working day, and never earlier than `day + days` calendar days; with 0 it is `day`."""
    if days < 0:
        raise ValueError("working days are counted forwards only")
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            counted += 1
    return day


def after(moment: datetime, length: timedelta, holidays: Collection[date] | None) -> datetime:
    """`moment` plus `length`: in calendar days when `holidays` is None, else its whole days counted as
    working days (at the same time of day; any part of a day beyond whole days is added as it is)."""
    if holidays is None:
        return moment + length
    whole = timedelta(days=length.days)
    moved = add_working_days(moment.date(), length.days, holidays)
    return moment + (moved - moment.date()) + (length - whole)
