"""Intake of a police referral and of the Home Office records file (PROTOCOL.md §3; NPCC guidance §§5-9).

An input is accepted whole or refused with every problem at once: the structural ones pydantic finds (missing
fields, wrong types, unknown values, unknown fields) together with the protocol's cross-field rules. The rules
read the raw mapping defensively, so they still run where the structure is partly broken.

Each problem is a sentence an IE officer can act on, led by the field path. Problems may end up in logs, so
they never echo a name, date of birth, address or phone number; the path says where to look.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from pydantic import AwareDatetime, BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from models.records import ImmigrationStatus, RecordsFile
from models.referral import Channel, ContactChannel, CrimeType, PersonRole, Purpose, Referral
from models.text import CONTROL_CHARACTERS, PATTERN_MEANING
from protocol.notices import listed_as_never

CLOCK_SKEW = timedelta(minutes=5)
OLDEST_AGE_YEARS = 120  # a date of birth further back than this is a mistyped year

# What the Home Office can hold about a person; `unknown` is the service's own finding when no record matched.
RECORD_STATUSES = tuple(status for status in ImmigrationStatus if status is not ImmigrationStatus.unknown)

# Each enumerated field, by its path without list indices: what to call its values, and which are allowed.
_ENUMS: dict[tuple[str, ...], tuple[str, tuple[str, ...]]] = {
    ("channel",): ("referral channel", tuple(Channel)),
    ("crime_type",): ("crime type", tuple(CrimeType)),
    ("role",): ("role", tuple(PersonRole)),
    ("purposes",): ("NPCC §5.4 purpose", tuple(Purpose)),
    ("safe_contact", "channel"): ("safe contact channel", tuple(ContactChannel)),
    ("immigration_status", "status"): ("status", RECORD_STATUSES),
}

_REFERRAL_TEXT = (
    ("referral_id",),
    ("crime_reference",),
    ("suspected_offence_reason",),
    ("referring_officer", "force_code"),
    ("referring_officer", "officer_id"),
    ("referring_officer", "name"),
    ("person", "given_names"),
    ("person", "family_name"),
    ("safe_contact", "language"),
)
_DEPENDANT_TEXT = (("given_names",), ("family_name",), ("relationship",))
_RECORD_TEXT = (("home_office_ref",), ("given_names",), ("family_name",))
_CONVICTION_TEXT = (("offence",),)

_JSON_KINDS: dict[type, str] = {
    list: "a list",
    str: "text",
    int: "a number",
    float: "a number",
    bool: "true or false",
}

_DATE = TypeAdapter(date)
_AWARE_DATETIME = TypeAdapter(AwareDatetime)
_BOOL = TypeAdapter(bool)
_CONTACT_CHANNEL = TypeAdapter(ContactChannel)

ModelT = TypeVar("ModelT", bound=BaseModel)
ValueT = TypeVar("ValueT")


# the document reader is shared with the CLI (stdlib only): models.documents
def parse_referral(raw: object, now: datetime) -> tuple[Referral | None, list[str]]:
    """The validated referral and no problems, or None and every problem found."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not isinstance(raw, dict):
        return None, [_not_an_object("The referral", raw)]
    referral, problems = _validated(Referral, raw)
    return _accepted(referral, [*problems, *_referral_rule_problems(raw, now)])


def parse_records(raw: object, now: datetime) -> tuple[RecordsFile | None, list[str]]:
    """The validated records file and no problems, or None and every problem found."""
    if not isinstance(raw, dict):
        return None, [_not_an_object("The records file", raw)]
    records, problems = _validated(RecordsFile, raw)
    return _accepted(records, [*problems, *_records_rule_problems(raw, now.date())])


# --- the protocol's rules, on the raw mapping ---


def _referral_rule_problems(raw: Mapping[str, Any], now: datetime) -> Iterator[str]:
    today = now.date()
    yield from _blank_text(raw, _REFERRAL_TEXT)
    yield from _received_at_problems(raw.get("received_at"), now)
    yield from _person_problems(raw.get("person"), today)
    for index, dependant in _entries(raw.get("dependants")):
        where = f"dependants[{index}]"
        yield from _blank_text(dependant, _DEPENDANT_TEXT, where)
        yield from _date_of_birth_problems(f"{where}.date_of_birth", dependant.get("date_of_birth"), today)
    yield from _additional_information_problems(raw.get("additional_information"))
    yield from _purpose_problems(raw.get("purposes"))
    yield from _person_informed_problems(raw.get("person_informed"))
    yield from _sharing_delayed_problems(raw.get("sharing_delayed"))
    yield from _safe_contact_problems(raw.get("safe_contact"), _at(raw, "person", "address"))


def _received_at_problems(value: object, now: datetime) -> Iterator[str]:
    received = _parsed(_AWARE_DATETIME, value)
    if received is not None and received > now + CLOCK_SKEW:
        yield f"received_at: {received.isoformat()} is in the future; check the date and the timezone"


def _person_problems(person: object, today: date) -> Iterator[str]:
    """The basic information (NPCC §6.1) includes a date of birth and a current address and/or location."""
    if not isinstance(person, Mapping):
        return
    yield from _date_of_birth_problems("person.date_of_birth", person.get("date_of_birth"), today)
    if _absent(person.get("address")) and _absent(person.get("location")):
        yield "person: a current address or location is required (NPCC §6.1)"


def _additional_information_problems(info: object) -> Iterator[str]:
    """NPCC §6.3.1: additional information only with the person's views, or why asking was impracticable."""
    if (
        isinstance(info, Mapping)
        and _absent(info.get("person_views"))
        and _absent(info.get("views_impracticable_reason"))
    ):
        yield (
            "additional_information: may only be accepted with the person's views on sharing it "
            "(person_views) or the reason asking them was impracticable (views_impracticable_reason) "
            "(NPCC §6.3.1)"
        )


def _purpose_problems(purposes: object) -> Iterator[str]:
    if not isinstance(purposes, list):
        return
    counts = Counter(purpose for purpose in purposes if isinstance(purpose, str))
    for purpose, count in counts.items():
        if count > 1:
            yield f"purposes: {purpose!r} is listed more than once"


def _person_informed_problems(informed: object) -> Iterator[str]:
    """NPCC §9: the person is told that their information is shared, save where that is impracticable."""
    if (
        _parsed(_BOOL, _at(informed, "intended")) is False
        and _parsed(_BOOL, _at(informed, "done")) is False
        and _absent(_at(informed, "impracticable_reason"))
    ):
        yield (
            "person_informed.impracticable_reason: the person has not been told and is not to be told, "
            "so the reason telling them is impracticable is required (NPCC §9)"
        )


def _sharing_delayed_problems(delayed: object) -> Iterator[str]:
    """NPCC §7.2: sharing may be delayed for immediate protective measures, and the reason is recorded."""
    if _parsed(_BOOL, _at(delayed, "delayed")) is True and _absent(_at(delayed, "reason")):
        yield "sharing_delayed.reason: sharing was delayed, so the reason is required (NPCC §7.2)"


def _safe_contact_problems(contact: object, address: object) -> Iterator[str]:
    """Nothing is sent through a channel that is not safe or that the referral gives no way to use, nor to a
    detail the referral itself lists as never to be used."""
    if isinstance(contact, dict) and "held_since" in contact:
        yield (
            "safe_contact.held_since: is set by the service when a contact finds it unsafe to talk, not by a "
            "referral; leave it out (say in safe_contact.safe_times or never_contact_via what is unsafe)"
        )
    never = _at(contact, "never_contact_via")
    if isinstance(never, list) and all(isinstance(e, str) for e in never):
        for field, detail in (("phone", _at(contact, "phone")), ("email", _at(contact, "email"))):
            if isinstance(detail, str) and listed_as_never(detail, never):
                yield (
                    f"safe_contact.{field}: is listed in safe_contact.never_contact_via, so it is not a safe way "
                    "to reach the person; give a safe one or choose another channel"
                )
    match _parsed(_CONTACT_CHANNEL, _at(contact, "channel")):
        case ContactChannel.phone if _absent(_at(contact, "phone")):
            yield "safe_contact.phone: the safe contact channel is phone, so a safe phone number is required"
        case ContactChannel.email if _absent(_at(contact, "email")):
            yield "safe_contact.email: the safe contact channel is email, so a safe email address is required"
        case ContactChannel.post:
            if _parsed(_BOOL, _at(contact, "post_is_safe")) is not True:
                yield (
                    "safe_contact.post_is_safe: the safe contact channel is post, but post to the address "
                    "is not marked safe; choose another channel"
                )
            if _absent(address):
                yield "safe_contact.channel: post needs the person's address (person.address)"


def _records_rule_problems(raw: Mapping[str, Any], today: date) -> Iterator[str]:
    for section in ("immigration_status", "criminal_records"):
        yield from _repeated_refs(section, raw.get(section))
        for index, record in _entries(raw.get(section)):
            where = f"{section}[{index}]"
            yield from _blank_text(record, _RECORD_TEXT, where)
            yield from _date_of_birth_problems(f"{where}.date_of_birth", record.get("date_of_birth"), today)
    for index, record in _entries(raw.get("immigration_status")):
        if record.get("status") == ImmigrationStatus.unknown:
            yield (
                f"immigration_status[{index}].status: 'unknown' is not a Home Office status "
                f"({', '.join(RECORD_STATUSES)}); leave out a person the Home Office holds no record of"
            )
    for index, record in _entries(raw.get("criminal_records")):
        born = _parsed(_DATE, record.get("date_of_birth"))
        for number, conviction in _entries(record.get("convictions")):
            where = f"criminal_records[{index}].convictions[{number}]"
            yield from _blank_text(conviction, _CONVICTION_TEXT, where)
            convicted = _parsed(_DATE, conviction.get("convicted_on"))
            if convicted is None:
                continue
            if convicted > today:
                yield f"{where}.convicted_on: is in the future"
            elif born is not None and convicted < born:
                yield f"{where}.convicted_on: is before the person's date of birth"


def _repeated_refs(section: str, records: object) -> Iterator[str]:
    """A person has one record per section: two would leave screening to pick one at random."""
    first_seen: dict[str, int] = {}
    for index, record in _entries(records):
        ref = record.get("home_office_ref")
        if not isinstance(ref, str) or not ref.strip():
            continue
        first = first_seen.setdefault(ref.strip(), index)
        if first != index:
            yield f"{section}[{index}].home_office_ref: repeats the reference of {section}[{first}]"


def _date_of_birth_problems(where: str, value: object, today: date) -> Iterator[str]:
    born = _parsed(_DATE, value)
    if born is None:
        return
    if born > today:
        yield f"{where}: is in the future"
    elif born.year < today.year - OLDEST_AGE_YEARS:
        yield f"{where}: is more than {OLDEST_AGE_YEARS} years ago; check the year"


def _blank_text(raw: Mapping[str, Any], fields: Iterable[tuple[str, ...]], where: str = "") -> Iterator[str]:
    """Required text that is empty or only whitespace; a missing or non-text field is pydantic's to report."""
    for field in fields:
        value = _at(raw, *field)
        if isinstance(value, str) and not value.strip():
            yield f"{_join(where, *field)}: is blank"


# --- pydantic's findings, as sentences ---


def _describe(error: ErrorDetails) -> str:
    """One structural problem as a sentence, echoing a value only where it is an unknown code."""
    value = error["input"]
    context = error.get("ctx", {})
    field = tuple(part for part in error["loc"] if isinstance(part, str))
    match error["type"]:
        case "missing":
            message = "is required"
        case "extra_forbidden":
            message = "is not a known field; check its spelling"
        case "enum" if field in _ENUMS:
            noun, allowed = _ENUMS[field]
            message = f"{_shown(value)} is not a known {noun} ({', '.join(allowed)})"
        case "too_short" if field in _ENUMS:
            message = f"at least one {_ENUMS[field][0]} is required"
        case "string_too_short" | "string_pattern_mismatch" if isinstance(value, str) and not value.strip():
            message = "is blank"
        case "string_too_short":
            message = f"must be at least {context['min_length']} characters"
        case "string_too_long":
            message = f"must be at most {context['max_length']} characters"
        case "string_pattern_mismatch":
            message = PATTERN_MEANING.get(str(context.get("pattern")), "is not in the expected form")
        case "too_long":
            message = f"may list at most {context['max_length']} entries"
        case kind if kind == CONTROL_CHARACTERS:
            message = f"{error['msg']}; remove them"
        case "greater_than_equal":
            message = f"must be {context['ge']} or more"
        case "greater_than":
            message = f"must be more than {context['gt']}"
        case "less_than_equal":
            message = f"must be {context['le']} or less"
        case "less_than":
            message = f"must be less than {context['lt']}"
        case "literal_error":
            message = f"must be one of {context['expected']}"
        case "enum":
            message = f"must be one of {context['expected']}"
        case "string_type":
            message = "must be text"
        case "bool_type" | "bool_parsing":
            message = "must be true or false"
        case "int_type" | "int_parsing" | "int_from_float":
            message = "must be a whole number"
        case "list_type":
            message = "must be a list"
        case "model_type":
            message = "must be an object"
        case "timezone_aware":
            message = "must include a timezone, as in 2026-11-02T14:05:00Z"
        case kind if kind.startswith("datetime"):
            message = "must be a date and time with a timezone, as in 2026-11-02T14:05:00Z"
        case kind if kind.startswith("date"):
            message = "must be a date written YYYY-MM-DD"
        case _:
            message = error["msg"]
    if value is None and error["type"] != "missing":
        message += ", not null"
    return f"{_join('', *error['loc'])}: {message}"


def _shown(value: object) -> str:
    """A value as the officer typed it, cut short: only ever an unknown code, never personal data."""
    shown = repr(value)
    return shown if len(shown) <= 40 else f"{shown[:37]}..."


def describe_validation_error(error: ValidationError) -> list[str]:
    """Every problem pydantic found in an input from outside (a command, options), as sentences led by the
    field, never echoing the value given."""
    return list(dict.fromkeys(_describe(detail) for detail in error.errors()))


# --- helpers ---


def _validated(model: type[ModelT], raw: dict[str, Any]) -> tuple[ModelT | None, list[str]]:
    try:
        return model.model_validate(raw), []
    except ValidationError as error:
        return None, [_describe(detail) for detail in error.errors()]


def describe_request_problem(error: Any) -> str:
    """One problem of a request (FastAPI's validation errors have pydantic's shape) as a sentence."""
    detail = dict(error)
    detail.setdefault("input", None)
    detail["loc"] = tuple(part for part in detail.get("loc", ()) if part != "body")
    return _describe(detail)  # type: ignore[arg-type]


def _accepted(model: ModelT | None, problems: list[str]) -> tuple[ModelT | None, list[str]]:
    """The model when nothing is wrong; otherwise every distinct problem, in the order found."""
    unique = list(dict.fromkeys(problems))
    return (None, unique) if unique else (model, [])


def _not_an_object(what: str, raw: object) -> str:
    kind = _JSON_KINDS.get(type(raw), "null" if raw is None else type(raw).__name__)
    return f"{what} must be a JSON object with named fields, but this is {kind}"


def _at(raw: object, *keys: str) -> object:
    """The value at `keys` through nested mappings, or None where the structure is missing or broken."""
    for key in keys:
        if not isinstance(raw, Mapping):
            return None
        raw = raw.get(key)
    return raw


def _entries(items: object) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """The objects in a list, with their index; anything else is pydantic's to report."""
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, Mapping):
                yield index, item


def _parsed(adapter: TypeAdapter[ValueT], value: object) -> ValueT | None:
    """The value as pydantic would read it, or None where pydantic reports it as a problem."""
    try:
        return adapter.validate_python(value)
    except ValidationError:
        return None


def _absent(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _join(where: str, *loc: int | str) -> str:
    """A field's place, as in `person.dependants[0].name`; a name that is not a plain field name (an unknown key
    someone sent: control characters, a newline, a screenful) is shown escaped and cut short."""
    path = where
    for part in loc:
        if isinstance(part, str) and not _PLAIN_NAME.fullmatch(part):
            part = _shown(part)
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else part
    return path
