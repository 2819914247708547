"""Hostile input is refused, never echoed (issue 8): every free-text field has a length limit, codes and ids
follow a strict pattern, numbers that feed dates are bounded, and control characters, ANSI escapes and bidi
controls are refused at intake. Each problem is a sentence naming the field, never the value."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from models.case import (
    Actor,
    ActorRole,
    ApplicationEvent,
    ApplicationStage,
    ContactRecord,
    ContactResult,
    FactVerified,
    Route,
    RouteStarted,
)
from models.documents import MAX_DOCUMENT_BYTES, DocumentRefused, read_json_document
from models.text import NOTE_MAX, ROUTE_DAYS_MAX
from protocol.intake import describe_validation_error, parse_records, parse_referral

EXAMPLES = Path(__file__).parents[2] / "examples"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
OFFICER = Actor(role=ActorRole.officer, id="NCCU-0042")
HOSTILE = {
    "an ANSI escape": "Amina \x1b[31mRahman\x1b[0m",
    "a bidi override": "Amina \u202eRahman",
    "a bell": "Amina\x07",
    "a C1 control": "Amina\x9bRahman",
}


def referral(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text())
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = raw
        for part in parents:
            target = target[part]
        target[last] = value
    return raw


def problems_of(model: type[BaseModel], **fields: Any) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        model(**fields)
    return describe_validation_error(caught.value)


# --- referrals and records ---


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("person__family_name", 200),
        ("person__address", 500),
        ("suspected_offence_reason", 4000),
        ("crime_reference", 64),
        ("safe_contact__language", 64),
    ],
)
def test_text_over_its_limit_is_refused_with_the_limit_named(path: str, limit: int) -> None:
    _, problems = parse_referral(referral(**{path: "x" * (limit + 1)}), NOW)
    assert problems == [f"{path.replace('__', '.')}: must be at most {limit} characters"]


@pytest.mark.parametrize("force", ["wmp", "W", "WESTMIDLANDS", "[/]", "WM P", "WMP\x1b"])
def test_a_force_code_must_be_capital_letters(force: str) -> None:
    _, problems = parse_referral(referral(referring_officer__force_code=force), NOW)
    assert problems == [
        "referring_officer.force_code: must be a police force code of 2 to 8 capital letters, as in WMP"
    ]


@pytest.mark.parametrize("officer_id", ["WMP 4471", "[red]x[/red]", "-4471", "a" * 65, "WMP:4471"])
def test_an_officer_id_must_be_a_plain_identifier(officer_id: str) -> None:
    _, problems = parse_referral(referral(referring_officer__officer_id=officer_id), NOW)
    assert len(problems) == 1
    assert problems[0].startswith("referring_officer.officer_id: must be 1 to 64 letters, digits")
    assert officer_id not in problems[0]


@pytest.mark.parametrize("hostile", HOSTILE.values(), ids=HOSTILE.keys())
def test_control_characters_in_a_name_are_refused_without_echoing_it(hostile: str) -> None:
    _, problems = parse_referral(referral(person__family_name=hostile), NOW)
    assert problems == [
        "person.family_name: contains control characters (line breaks, terminal escapes or direction "
        "overrides); remove them"
    ]


def test_a_line_break_is_refused_in_a_name_but_kept_in_free_text() -> None:
    _, name_problems = parse_referral(referral(person__given_names="Amina\nRahman"), NOW)
    assert name_problems == [
        "person.given_names: contains control characters (line breaks, terminal escapes or direction "
        "overrides); remove them"
    ]
    accepted, problems = parse_referral(referral(suspected_offence_reason="Overstayed.\n\tNo visa."), NOW)
    assert problems == [] and accepted is not None


def test_markup_like_text_is_accepted_as_text() -> None:
    """`[red]` is not a control character: it is stored as sent and shown literally (cli.render.safe)."""
    accepted, problems = parse_referral(referral(person__location="Refuge [red]x[/red] [/]"), NOW)
    assert problems == [] and accepted is not None
    assert accepted.person.location == "Refuge [red]x[/red] [/]"


def test_too_many_dependants_are_refused() -> None:
    dependant = {
        "given_names": "A",
        "family_name": "B",
        "date_of_birth": "2020-01-01",
        "relationship": "child",
    }
    _, problems = parse_referral(referral(dependants=[dependant] * 51), NOW)
    assert problems == ["dependants: may list at most 50 entries"]


def test_a_sentence_beyond_a_hundred_years_is_refused_in_a_records_file() -> None:
    raw: dict[str, Any] = json.loads((EXAMPLES / "records.json").read_text())
    record = raw["criminal_records"][0]
    record["convictions"] = [
        {"offence": "theft", "convicted_on": "2020-01-01", "custodial": True, "sentence_months": 10**9}
    ]
    _, problems = parse_records(raw, NOW)
    assert problems == ["criminal_records[0].convictions[0].sentence_months: must be 1200 or less"]


# --- commands ---


def test_route_days_that_would_overflow_a_date_are_refused_before_anything_is_sent() -> None:
    problems = problems_of(RouteStarted, actor=OFFICER, route=Route.domestic_abuse_concession, days=99999999)
    assert problems == [f"days: must be {ROUTE_DAYS_MAX} or less"]
    assert problems_of(RouteStarted, actor=OFFICER, route=Route.domestic_abuse_concession, days=0) == [
        "days: must be 1 or more"
    ]


def test_application_and_fact_numbers_are_bounded() -> None:
    assert problems_of(
        ApplicationEvent,
        actor=OFFICER,
        route=Route.domestic_abuse_concession,
        stage=ApplicationStage.submitted,
        number=10**12,
    ) == ["number: must be 10000 or less"]
    assert problems_of(FactVerified, actor=OFFICER, fact_number=10**12, verified=True) == [
        "fact_number: must be 10000 or less"
    ]


def test_a_note_over_its_limit_or_with_an_escape_is_refused() -> None:
    assert problems_of(
        ContactRecord, actor=OFFICER, result=ContactResult.reached, note="x" * (NOTE_MAX + 1)
    ) == [f"note: must be at most {NOTE_MAX} characters"]
    assert problems_of(ContactRecord, actor=OFFICER, result=ContactResult.reached, note="ok \x1b[2J") == [
        "note: contains control characters (terminal escapes or direction overrides); remove them"
    ]
    ContactRecord(actor=OFFICER, result=ContactResult.reached, note="Seen.\nAll well [/]")


@pytest.mark.parametrize(
    ("field", "value"), [("id", "NCCU 42"), ("id", "[/]"), ("force", "wmp"), ("force", "[/]")]
)
def test_actor_ids_and_force_codes_follow_a_strict_pattern(field: str, value: str) -> None:
    fields: dict[str, Any] = {"role": ActorRole.police, "id": "WMP-4471", "force": "WMP", field: value}
    problems = problems_of(Actor, **fields)
    assert len(problems) == 1 and problems[0].startswith(f"{field}: must be")
    assert value not in problems[0]


# --- documents ---


@pytest.mark.parametrize(
    ("data", "sentence"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is a binary file, not a JSON document"),
        (b'{"a": "\xff\xfe"}', "is not UTF-8 text (byte 8 cannot be read as UTF-8)"),
        (b'{"a": 1\x00}', "is a binary file, not a JSON document (it contains control characters)"),
        (b"[" * 100_000 + b"]" * 100_000, "nests lists or objects more than 32 deep; it is not a referral"),
        (b'{"a": [1, 2}', "is not valid JSON (line 1, column 12: Expecting ',' delimiter)"),
        (
            b" " * (MAX_DOCUMENT_BYTES + 1),
            "is larger than 1024 KiB; a referral or records file is far smaller",
        ),
    ],
    ids=["binary", "not UTF-8", "NUL byte", "deep nesting", "invalid JSON", "too large"],
)
def test_a_document_that_is_not_a_small_json_text_is_refused_in_one_sentence(
    data: bytes, sentence: str
) -> None:
    with pytest.raises(DocumentRefused) as refused:
        read_json_document(data)
    assert str(refused.value) == sentence


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    assert read_json_document(b'{"note": "' + b"[" * 100 + b'\\" ["}') == {"note": "[" * 100 + '" ['}
    assert read_json_document(b"\xef\xbb\xbf{}") == {}  # a byte-order mark is fine
