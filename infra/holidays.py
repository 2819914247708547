"""The bank holidays a new case counts working days by (issue 12), from the calendar `govuk-bank-holidays`
ships with the package: never from the network, since a deployment may not reach GOV.UK, and so that the
same release always gives the same dates.

Read here, at intake, and recorded in the case (`models.case.CaseCalendar`): the workflow never reads the
file, and a case replays with the holidays it started with.
"""

from __future__ import annotations

from datetime import date
from functools import cache

from govuk_bank_holidays.bank_holidays import BankHolidays

from models.case import CaseCalendar
from protocol import workdays


@cache
def _shipped() -> dict[str, tuple[date, ...]]:
    calendar = BankHolidays(use_cached_holidays=True)  # the copy in the package: no download
    return {
        division: tuple(sorted(h["date"] for h in calendar.get_holidays(division=division)))
        for division in workdays.DIVISIONS
    }


def bank_holidays(division: str) -> tuple[date, ...]:
    """Every bank holiday of the division in the shipped calendar, in order."""
    return _shipped()[division]


def calendar_for(force_code: str, opened: date) -> CaseCalendar:
    """The calendar a case referred by this force records at intake: its division, and that division's bank
    holidays from the day it opens to the end of the shipped calendar."""
    division = workdays.division_of(force_code)
    known = bank_holidays(division)
    return CaseCalendar(
        division=division,
        holidays=[day for day in known if day >= opened],
        known_until=date(known[-1].year, 12, 31) if known else None,
    )
