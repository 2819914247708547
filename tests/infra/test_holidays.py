"""The bank holidays a new case records come from the calendar `govuk-bank-holidays` ships, never the network;
the deployment chooses the policy (calendar or working days) new cases run under."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from infra import holidays
from infra.holidays import bank_holidays, calendar_for
from infra.settings import Settings


def test_the_shipped_calendar_is_read_without_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the bank holidays must come from the shipped calendar")

    monkeypatch.setattr("requests.get", no_network)
    holidays._shipped.cache_clear()  # read it again, now that the network would fail the test
    assert date(2026, 12, 25) in bank_holidays("england-and-wales")
    assert date(2026, 11, 30) in bank_holidays("scotland")


def test_each_force_records_its_own_part_of_the_uk_from_the_day_the_case_opens() -> None:
    scotland = calendar_for("PS", date(2026, 11, 1))
    assert scotland.division == "scotland" and date(2026, 11, 30) in scotland.holidays  # St Andrew's Day
    england = calendar_for("WMP", date(2026, 11, 1))
    assert england.division == "england-and-wales" and date(2026, 11, 30) not in england.holidays
    northern_ireland = calendar_for("PSNI", date(2026, 11, 1))
    assert date(2027, 3, 17) in northern_ireland.holidays  # St Patrick's Day
    assert min(england.holidays) >= date(2026, 11, 1)  # only what can still fall due
    assert england.known_until is not None and england.known_until >= date(2027, 12, 31)


def test_a_deployment_chooses_the_policy_new_cases_count_by_and_an_unknown_one_is_refused() -> None:
    assert Settings(env="test", policy_version="2026.2").policy_version == "2026.2"
    with pytest.raises(ValidationError, match="there is no policy '2099.1'"):
        Settings(env="test", policy_version="2099.1")
