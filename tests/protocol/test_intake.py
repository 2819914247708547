"""Referral intake (PROTOCOL.md §3): a referral is accepted whole or refused with every problem named."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from models.referral import CrimeType, Referral
from protocol.intake import parse_referral


def referral_problems(raw: object, now: datetime) -> list[str]:
    return parse_referral(raw, now)[1]


EXAMPLES = Path(__file__).parents[2] / "examples"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

CRIME_TYPES = "domestic_abuse, modern_slavery, sexual_offence, honour_based_abuse, stalking_harassment, "
CRIME_TYPES += "labour_exploitation, other"
PURPOSES = "confirm_status, seek_advice, assist_investigation, identify_vulnerability, assist_protection, "
PURPOSES += "assist_immigration_functions"
VIEWS_REQUIRED = (
    "additional_information: may only be accepted with the person's views on sharing it (person_views) "
    "or the reason asking them was impracticable (views_impracticable_reason) (NPCC §6.3.1)"
)


def _referral() -> dict[str, Any]:
    """A fresh copy of the domestic abuse example, which is valid."""
    raw: dict[str, Any] = json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text())
    return raw


def _changed(path: str, value: object) -> dict[str, Any]:
    """The example with the field at a dotted path set to `value`."""
    raw = _referral()
    *parents, last = path.split(".")
    target = raw
    for key in parents:
        target = target[key]
    target[last] = value
    return raw


# --- the examples ---


@pytest.mark.parametrize("name", ["referral-domestic-abuse.json", "referral-trafficking.json"])
def test_example_referrals_are_accepted(name: str) -> None:
    raw = json.loads((EXAMPLES / name).read_text())

    referral, problems = parse_referral(raw, NOW)

    assert problems == []
    assert isinstance(referral, Referral)
    assert referral.referral_id == raw["referral_id"]


def test_a_valid_referral_has_no_problems() -> None:
    assert referral_problems(_referral(), NOW) == []


def test_a_refused_referral_is_not_returned() -> None:
    referral, problems = parse_referral(_changed("crime_type", "burglary"), NOW)

    assert referral is None
    assert problems


# --- the whole input ---


@pytest.mark.parametrize(
    ("raw", "kind"),
    [([], "a list"), ("a referral", "text"), (None, "null"), (42, "a number"), (True, "true or false")],
)
def test_input_that_is_not_a_json_object_is_one_problem(raw: object, kind: str) -> None:
    assert parse_referral(raw, NOW) == (
        None,
        [f"The referral must be a JSON object with named fields, but this is {kind}"],
    )


def test_a_naive_clock_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_referral(_referral(), datetime(2026, 11, 21, 12, 0))


# --- structure ---


def test_a_missing_field_is_refused() -> None:
    raw = _referral()
    del raw["role"]

    assert referral_problems(raw, NOW) == ["role: is required"]


def test_an_unknown_field_is_refused_without_echoing_its_value() -> None:
    raw = _changed("person.surname", "Rahman")

    assert referral_problems(raw, NOW) == ["person.surname: is not a known field; check its spelling"]


def test_an_unknown_field_name_with_a_newline_or_a_screenful_is_shown_escaped_and_cut_short() -> None:
    raw = _referral()
    raw["\n" + "x" * 5000] = None
    raw["person"]["\x1b[2Jname"] = "Rahman"

    problems = referral_problems(raw, NOW)

    assert sorted(problems) == [
        "'\\n" + "x" * 34 + "...: is not a known field; check its spelling, not null",
        "person.'\\x1b[2Jname': is not a known field; check its spelling",
    ]
    assert all(line.isprintable() for line in problems)


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ("person_informed.done", "maybe", "person_informed.done: must be true or false"),
        ("dependants", "Zara", "dependants: must be a list"),
        ("person", "Amina Rahman", "person: must be an object"),
        ("sharing_delayed", None, "sharing_delayed: must be an object, not null"),
        ("crime_reference", 871, "crime_reference: must be text"),
        ("person.date_of_birth", "14/03/1998", "person.date_of_birth: must be a date written YYYY-MM-DD"),
        (
            "received_at",
            "yesterday",
            "received_at: must be a date and time with a timezone, as in 2026-11-02T14:05:00Z",
        ),
        (
            "referring_officer.force_code",
            "W",
            "referring_officer.force_code: must be a police force code of 2 to 8 capital letters, as in WMP",
        ),
        (
            "referring_officer.force_code",
            "WESTMIDLANDS",
            "referring_officer.force_code: must be a police force code of 2 to 8 capital letters, as in WMP",
        ),
    ],
)
def test_a_wrong_type_is_refused_without_echoing_the_value(path: str, value: object, problem: str) -> None:
    assert referral_problems(_changed(path, value), NOW) == [problem]


def test_a_wrong_type_in_a_list_is_named_by_its_index() -> None:
    raw = _referral()
    raw["dependants"].append("Zara")

    assert referral_problems(raw, NOW) == ["dependants[1]: must be an object"]


# --- enumerations ---


def test_an_unknown_crime_type_is_refused_with_the_allowed_values() -> None:
    assert referral_problems(_changed("crime_type", "burglary"), NOW) == [
        f"crime_type: 'burglary' is not a known crime type ({CRIME_TYPES})"
    ]


def test_an_unknown_channel_is_refused_with_the_allowed_values() -> None:
    assert referral_problems(_changed("channel", "fax"), NOW) == [
        "channel: 'fax' is not a known referral channel (phone, email, other)"
    ]


def test_an_unknown_role_is_refused_with_the_allowed_values() -> None:
    assert referral_problems(_changed("role", "suspect"), NOW) == [
        "role: 'suspect' is not a known role (victim, witness)"
    ]


def test_an_unknown_safe_contact_channel_is_refused_with_the_allowed_values() -> None:
    assert referral_problems(_changed("safe_contact.channel", "whatsapp"), NOW) == [
        "safe_contact.channel: 'whatsapp' is not a known safe contact channel "
        "(phone, email, post, via_support_worker)"
    ]


def test_an_unknown_value_is_cut_short() -> None:
    problems = referral_problems(_changed("crime_type", "x" * 100), NOW)

    assert problems == [f"crime_type: '{'x' * 36}... is not a known crime type ({CRIME_TYPES})"]


@pytest.mark.parametrize("crime_type", list(CrimeType))
def test_every_crime_type_is_accepted(crime_type: CrimeType) -> None:
    assert referral_problems(_changed("crime_type", crime_type.value), NOW) == []


# --- purposes (NPCC §5.4) ---


def test_no_purpose_is_refused() -> None:
    assert referral_problems(_changed("purposes", []), NOW) == [
        "purposes: at least one NPCC §5.4 purpose is required"
    ]


def test_an_unknown_purpose_is_refused_with_the_allowed_values() -> None:
    raw = _changed("purposes", ["confirm_status", "deport"])

    assert referral_problems(raw, NOW) == [
        f"purposes[1]: 'deport' is not a known NPCC §5.4 purpose ({PURPOSES})"
    ]


def test_a_purpose_listed_twice_is_refused() -> None:
    raw = _changed("purposes", ["confirm_status", "seek_advice", "confirm_status"])

    assert referral_problems(raw, NOW) == ["purposes: 'confirm_status' is listed more than once"]


# --- additional information (NPCC §6.3.1) ---


def test_additional_information_without_views_is_refused() -> None:
    raw = _changed("additional_information.person_views", None)

    assert referral_problems(raw, NOW) == [VIEWS_REQUIRED]


def test_additional_information_with_blank_views_is_refused() -> None:
    raw = _changed("additional_information.person_views", "   ")

    assert referral_problems(raw, NOW) == [VIEWS_REQUIRED]


def test_additional_information_with_a_reason_views_were_impracticable_is_accepted() -> None:
    raw = _changed("additional_information.person_views", None)
    raw["additional_information"]["views_impracticable_reason"] = "Admitted to hospital, unable to speak."

    assert referral_problems(raw, NOW) == []


def test_no_additional_information_needs_no_views() -> None:
    assert referral_problems(_changed("additional_information", None), NOW) == []


# --- dates ---


def test_a_future_date_of_birth_is_refused_without_echoing_it() -> None:
    problems = referral_problems(_changed("person.date_of_birth", "2031-01-01"), NOW)

    assert problems == ["person.date_of_birth: is in the future"]


def test_a_date_of_birth_today_is_accepted() -> None:
    assert referral_problems(_changed("person.date_of_birth", "2026-11-21"), NOW) == []


def test_a_date_of_birth_more_than_120_years_ago_is_refused() -> None:
    problems = referral_problems(_changed("person.date_of_birth", "1898-03-14"), NOW)

    assert problems == ["person.date_of_birth: is more than 120 years ago; check the year"]


def test_a_dependant_born_in_the_future_is_refused() -> None:
    raw = _referral()
    raw["dependants"][0]["date_of_birth"] = "2027-01-01"

    assert referral_problems(raw, NOW) == ["dependants[0].date_of_birth: is in the future"]


def test_received_at_without_a_timezone_is_refused() -> None:
    assert referral_problems(_changed("received_at", "2026-11-02T14:05:00"), NOW) == [
        "received_at: must include a timezone, as in 2026-11-02T14:05:00Z"
    ]


def test_received_at_in_the_future_is_refused() -> None:
    received = (NOW + timedelta(minutes=6)).isoformat()

    assert referral_problems(_changed("received_at", received), NOW) == [
        f"received_at: {received} is in the future; check the date and the timezone"
    ]


def test_received_at_within_five_minutes_of_clock_skew_is_accepted() -> None:
    received = (NOW + timedelta(minutes=5)).isoformat()

    assert referral_problems(_changed("received_at", received), NOW) == []


def test_received_at_in_another_timezone_is_compared_as_an_instant() -> None:
    """13:00 in Paris is noon in London: not in the future."""
    assert referral_problems(_changed("received_at", "2026-11-21T13:00:00+01:00"), NOW) == []


# --- informing the person (NPCC §9) ---


def test_a_person_neither_told_nor_to_be_told_needs_a_reason() -> None:
    raw = _changed("person_informed", {"intended": False, "done": False, "impracticable_reason": " "})

    assert referral_problems(raw, NOW) == [
        "person_informed.impracticable_reason: the person has not been told and is not to be told, "
        "so the reason telling them is impracticable is required (NPCC §9)"
    ]


def test_a_person_not_to_be_told_for_a_recorded_reason_is_accepted() -> None:
    raw = _changed(
        "person_informed",
        {
            "intended": False,
            "done": False,
            "impracticable_reason": "Telling her now would alert the suspect.",
        },
    )

    assert referral_problems(raw, NOW) == []


def test_a_person_to_be_told_later_needs_no_reason() -> None:
    raw = _changed("person_informed", {"intended": True, "done": False, "impracticable_reason": None})

    assert referral_problems(raw, NOW) == []


# --- delayed sharing (NPCC §7.2) ---


def test_delayed_sharing_needs_a_reason() -> None:
    raw = _changed("sharing_delayed", {"delayed": True, "reason": None})

    assert referral_problems(raw, NOW) == [
        "sharing_delayed.reason: sharing was delayed, so the reason is required (NPCC §7.2)"
    ]


def test_delayed_sharing_with_a_reason_is_accepted() -> None:
    raw = _changed("sharing_delayed", {"delayed": True, "reason": "Moved to a refuge first."})

    assert referral_problems(raw, NOW) == []


# --- safe contact ---


def test_a_safe_phone_channel_needs_a_phone_number() -> None:
    raw = _changed("safe_contact.phone", None)

    assert referral_problems(raw, NOW) == [
        "safe_contact.phone: the safe contact channel is phone, so a safe phone number is required"
    ]


def test_a_safe_email_channel_needs_an_email_address() -> None:
    raw = _changed("safe_contact.channel", "email")

    assert referral_problems(raw, NOW) == [
        "safe_contact.email: the safe contact channel is email, so a safe email address is required"
    ]


def test_post_to_an_address_not_marked_safe_is_refused() -> None:
    raw = _changed("safe_contact.channel", "post")

    assert referral_problems(raw, NOW) == [
        "safe_contact.post_is_safe: the safe contact channel is post, but post to the address is not marked "
        "safe; choose another channel"
    ]


def test_post_needs_an_address() -> None:
    raw = _changed("safe_contact.channel", "post")
    raw["safe_contact"]["post_is_safe"] = True
    raw["person"]["address"] = None

    assert referral_problems(raw, NOW) == [
        "safe_contact.channel: post needs the person's address (person.address)"
    ]


def test_post_to_a_safe_address_is_accepted() -> None:
    raw = _changed("safe_contact.channel", "post")
    raw["safe_contact"]["post_is_safe"] = True

    assert referral_problems(raw, NOW) == []


def test_contact_via_a_support_worker_needs_no_phone_or_email() -> None:
    raw = _changed("safe_contact", {"channel": "via_support_worker", "language": "bn"})

    assert referral_problems(raw, NOW) == []


# --- basic information (NPCC §6.1) and required text ---


@pytest.mark.parametrize(
    "path",
    [
        "referral_id",
        "crime_reference",
        "suspected_offence_reason",
        "person.given_names",
        "person.family_name",
        "referring_officer.force_code",
        "referring_officer.officer_id",
        "referring_officer.name",
        "safe_contact.language",
    ],
)
@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_blank_required_text_is_refused(path: str, blank: str) -> None:
    assert referral_problems(_changed(path, blank), NOW) == [f"{path}: is blank"]


@pytest.mark.parametrize("field", ["given_names", "family_name", "relationship"])
def test_blank_dependant_text_is_refused(field: str) -> None:
    raw = _referral()
    raw["dependants"][0][field] = " "

    assert referral_problems(raw, NOW) == [f"dependants[0].{field}: is blank"]


def test_a_person_with_neither_address_nor_location_is_refused() -> None:
    raw = _changed("person.address", None)
    raw["person"]["location"] = "  "

    assert referral_problems(raw, NOW) == ["person: a current address or location is required (NPCC §6.1)"]


def test_a_person_with_only_a_location_is_accepted() -> None:
    assert referral_problems(_changed("person.address", None), NOW) == []


# --- everything at once ---


def test_structural_and_rule_problems_are_reported_together() -> None:
    raw = _changed("crime_type", "burglary")
    raw["additional_information"]["person_views"] = None

    assert referral_problems(raw, NOW) == [
        f"crime_type: 'burglary' is not a known crime type ({CRIME_TYPES})",
        VIEWS_REQUIRED,
    ]


def test_a_referral_with_many_problems_reports_every_one() -> None:
    raw = _referral()
    raw["referral_id"] = " "
    raw["received_at"] = "2026-12-01T09:00:00Z"
    raw["crime_type"] = "burglary"
    del raw["role"]
    raw["person"]["date_of_birth"] = "2031-01-01"
    raw["person"]["surname"] = "Rahman"
    raw["additional_information"]["person_views"] = None
    raw["purposes"] = ["confirm_status", "confirm_status", "deport"]
    raw["person_informed"] = {"intended": False, "done": False, "impracticable_reason": None}
    raw["sharing_delayed"] = {"delayed": True, "reason": ""}
    raw["dependants"][0]["date_of_birth"] = "2027-06-30"
    raw["safe_contact"]["channel"] = "email"

    problems = referral_problems(raw, NOW)

    expected = {
        "referral_id: is blank",
        "received_at: 2026-12-01T09:00:00+00:00 is in the future; check the date and the timezone",
        f"crime_type: 'burglary' is not a known crime type ({CRIME_TYPES})",
        "role: is required",
        "person.date_of_birth: is in the future",
        "person.surname: is not a known field; check its spelling",
        VIEWS_REQUIRED,
        "purposes: 'confirm_status' is listed more than once",
        f"purposes[2]: 'deport' is not a known NPCC §5.4 purpose ({PURPOSES})",
        "person_informed.impracticable_reason: the person has not been told and is not to be told, "
        "so the reason telling them is impracticable is required (NPCC §9)",
        "sharing_delayed.reason: sharing was delayed, so the reason is required (NPCC §7.2)",
        "dependants[0].date_of_birth: is in the future",
        "safe_contact.email: the safe contact channel is email, so a safe email address is required",
    }
    assert set(problems) == expected
    assert len(problems) == len(expected)


def test_problems_never_echo_personal_data() -> None:
    raw = _referral()
    raw["person"]["date_of_birth"] = "2031-01-01"
    raw["person"]["given_names"] = 7
    raw["person"]["nickname"] = "Ami"
    raw["safe_contact"]["phone"] = ["+44 7700 900123"]
    raw["dependants"][0]["date_of_birth"] = "30/06/2021"

    problems = " ".join(referral_problems(raw, NOW))

    for personal in ("2031", "Amina", "Ami", "Rahman", "7700", "30/06", "Zara", "Refuge", "Birmingham"):
        assert personal not in problems


def test_a_referral_may_not_set_the_services_own_hold_on_notices() -> None:
    problems = referral_problems(_changed("safe_contact.held_since", "2026-11-20T10:00:00+00:00"), NOW)
    assert problems == [
        "safe_contact.held_since: is set by the service when a contact finds it unsafe to talk, not by a "
        "referral; leave it out (say in safe_contact.safe_times or never_contact_via what is unsafe)"
    ]
