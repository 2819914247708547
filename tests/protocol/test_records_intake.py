"""Records intake: the Home Office records file screening reads is accepted whole or refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from models.records import RecordsFile
from protocol.intake import parse_records


def records_problems(raw: object, now: datetime) -> list[str]:
    return parse_records(raw, now)[1]


EXAMPLES = Path(__file__).parents[2] / "examples"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

STATUSES = (
    "british_citizen, settled, leave_to_remain, eu_settlement_scheme, pending_application, asylum_claimant, "
    "asylum_dependant, no_status"
)


def _records() -> dict[str, Any]:
    """A fresh copy of the example records file, which is valid."""
    raw: dict[str, Any] = json.loads((EXAMPLES / "records.json").read_text())
    return raw


def test_the_example_records_are_accepted() -> None:
    records, problems = parse_records(_records(), NOW)

    assert problems == []
    assert isinstance(records, RecordsFile)
    assert len(records.immigration_status) == 3
    assert len(records.criminal_records) == 2


def test_an_empty_records_file_is_accepted() -> None:
    assert records_problems({}, NOW) == []


def test_refused_records_are_not_returned() -> None:
    raw = _records()
    raw["immigration_status"][2]["status"] = "illegal"

    records, problems = parse_records(raw, NOW)

    assert records is None
    assert problems


@pytest.mark.parametrize(("raw", "kind"), [([], "a list"), ("records", "text")])
def test_records_that_are_not_a_json_object_are_one_problem(raw: object, kind: str) -> None:
    assert records_problems(raw, NOW) == [
        f"The records file must be a JSON object with named fields, but this is {kind}"
    ]


def test_an_unknown_status_is_refused_with_the_allowed_values() -> None:
    raw = _records()
    raw["immigration_status"][2]["status"] = "illegal"

    assert records_problems(raw, NOW) == [
        f"immigration_status[2].status: 'illegal' is not a known status ({STATUSES})"
    ]


def test_status_unknown_is_refused_as_it_is_not_a_home_office_status() -> None:
    """`unknown` is what screening finds when there is no record; a record cannot say it."""
    raw = _records()
    raw["immigration_status"][0]["status"] = "unknown"

    assert records_problems(raw, NOW) == [
        f"immigration_status[0].status: 'unknown' is not a Home Office status ({STATUSES}); "
        "leave out a person the Home Office holds no record of"
    ]


def test_a_repeated_home_office_ref_within_a_section_is_refused() -> None:
    raw = _records()
    raw["immigration_status"][2]["home_office_ref"] = "HO-7781203"

    assert records_problems(raw, NOW) == [
        "immigration_status[2].home_office_ref: repeats the reference of immigration_status[0]"
    ]


def test_a_repeated_home_office_ref_among_criminal_records_is_refused() -> None:
    raw = _records()
    raw["criminal_records"][1]["home_office_ref"] = " HO-5550912 "

    assert records_problems(raw, NOW) == [
        "criminal_records[1].home_office_ref: repeats the reference of criminal_records[0]"
    ]


def test_the_same_home_office_ref_in_both_sections_is_accepted() -> None:
    raw = _records()

    assert {r["home_office_ref"] for r in raw["immigration_status"]} & {
        r["home_office_ref"] for r in raw["criminal_records"]
    }
    assert records_problems(raw, NOW) == []


def test_a_conviction_in_the_future_is_refused() -> None:
    raw = _records()
    raw["criminal_records"][1]["convictions"][0]["convicted_on"] = "2027-02-11"

    assert records_problems(raw, NOW) == ["criminal_records[1].convictions[0].convicted_on: is in the future"]


def test_a_conviction_before_birth_is_refused() -> None:
    raw = _records()
    raw["criminal_records"][1]["convictions"][1]["convicted_on"] = "1978-06-03"

    assert records_problems(raw, NOW) == [
        "criminal_records[1].convictions[1].convicted_on: is before the person's date of birth"
    ]


def test_a_date_of_birth_in_the_future_is_refused() -> None:
    raw = _records()
    raw["immigration_status"][1]["date_of_birth"] = "2030-09-02"

    assert records_problems(raw, NOW) == ["immigration_status[1].date_of_birth: is in the future"]


@pytest.mark.parametrize("field", ["home_office_ref", "given_names", "family_name"])
def test_blank_record_text_is_refused(field: str) -> None:
    raw = _records()
    raw["criminal_records"][0][field] = "  "

    assert records_problems(raw, NOW) == [f"criminal_records[0].{field}: is blank"]


def test_a_blank_offence_is_refused() -> None:
    raw = _records()
    raw["criminal_records"][1]["convictions"][1]["offence"] = ""

    assert records_problems(raw, NOW) == ["criminal_records[1].convictions[1].offence: is blank"]


def test_structural_problems_are_named_by_path() -> None:
    raw = _records()
    raw["criminal_records"][1]["convictions"][0]["sentence_months"] = -1
    raw["criminal_records"][1]["convictions"][1]["custodial"] = "maybe"
    raw["criminal_records"][0]["markers"] = "deportation_order"
    raw["immigration_status"][0]["expires"] = "2026-09-30"
    del raw["immigration_status"][1]["date_of_birth"]

    assert records_problems(raw, NOW) == [
        "immigration_status[0].expires: is not a known field; check its spelling",
        "immigration_status[1].date_of_birth: is required",
        "criminal_records[0].markers: must be a list",
        "criminal_records[1].convictions[0].sentence_months: must be 0 or more",
        "criminal_records[1].convictions[1].custodial: must be true or false",
    ]
