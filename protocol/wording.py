"""The words of every notice (PROTOCOL.md §5; issue 10): in the person's language, with plain dates, route
names in words, their contact officer, independent help and how to complain.

The words live in `protocol/notice_templates/`, one TOML file per language (`en.toml`, `bn.toml`,
`uk.toml`, ...) that a translator can edit and review, and `organisations.toml` for the advice and support
organisations and the complaints page (see the README in that folder). They are read and checked once, when
this module is imported: a file with a missing word or an unknown `{placeholder}` stops the service at
start-up, naming each problem, rather than sending a notice with a gap in it.

Whole notices in plain files, rather than a message catalogue (gettext) or a template engine (Jinja): a
translator reviews each notice as the person will read it, the only markup is `{placeholder}` (checked
against a fixed list), and TOML is read by the standard library.

Notices to the person are in their language, or in English when there is no file for it (`fallback=True`:
the caller raises a task for the case officer). Notices to the referring officer and tasks for IE staff
are always in English.

Used where notices are delivered (an activity), not in workflows: the files are read when this module is
imported.

Notify: a template whose content is the single field `((body))` (and whose subject is `((subject))`, for
email and letters) sends any notice: `personalisation(rendered)` gives exactly those two fields.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from models.case import Ground, NoticeKind, Outcome, Recipient, Route
from models.records import ImmigrationStatus
from models.referral import CrimeType
from protocol.policy import Policy
from protocol.policy import policy as current_policy

FALLBACK = "en"
UK_TIME = ZoneInfo("Europe/London")  # a deadline is the date it falls on in the UK

_FOLDER = "notice_templates"
_ORGANISATIONS_FILE = "organisations.toml"

# What the notices to each audience may say: the sections of a language file.
_AUDIENCE = {
    Recipient.person: "person",
    Recipient.referring_officer: "officer",
    Recipient.case_officer: "internal",
    Recipient.supervisors: "internal",
}

# The placeholders each kind of template may use.
_NOTICE_FIELDS = frozenset(
    {
        "case_id",
        "officer_id",
        "team_phone",
        "team_email",
        "contact",
        "support",
        "complain",
        "routes",
        "status",
        "outcome",
        "grounds",
        "respond_by",
        "due",
        "decision",
        "indicators",
        "check_id",
        "fact_number",
        "fact_kind",
        "source",
        "undelivered",
        "why",
        "hold",
        "decided_by",
    }
)
_BLOCK_FIELDS = {
    "contact": frozenset({"officer_id", "team_phone", "team_email", "case_id"}),
    "support": frozenset({"organisations"}),
    "complain": frozenset({"complaints_website"}),
    "organisation": frozenset({"name", "what", "website"}),
    "organisation_phone": frozenset({"name", "what", "website", "phone"}),
    "route": frozenset({"name", "about"}),
    "no_routes": frozenset(),
}
_ROUTE_FIELDS = frozenset({"concession_months", "nrm_days"})
_DATE_FIELDS = frozenset({"day", "month", "year"})
_STAFF_TABLES = ("hold", "decision", "source", "fact_kind", "outcome", "indicator", "notice")
_OPTIONAL_FACTS = {"indicators": ""}  # a release decision names no indicators


class WordingError(ValueError):
    """A template file is incomplete or malformed, or a notice lacks a fact it needs."""


@dataclass(frozen=True)
class ContactDetails:
    """Who the person can reach, and how: their NCCU contact officer and the team's phone and email."""

    officer_id: str
    team_phone: str
    team_email: str


@dataclass(frozen=True)
class Rendered:
    """A notice ready to send: `language` is the one actually used; `fallback` is True when the person's
    language had no template file and English was used instead."""

    subject: str
    text: str
    language: str
    fallback: bool


@dataclass(frozen=True)
class _Organisation:
    name: str
    website: str
    phone: str | None


@dataclass(frozen=True)
class _Organisations:
    complaints_website: str
    always: tuple[str, ...]
    by_crime_type: Mapping[CrimeType, tuple[str, ...]]
    known: Mapping[str, _Organisation]


# --- reading and checking the files -------------------------------------------------------------------


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _text(table: Mapping[str, Any], key: str, where: str, problems: list[str]) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: `{key}` is missing or empty.")
        return ""
    return value


def _table(table: Mapping[str, Any], key: str, where: str, problems: list[str]) -> dict[str, Any]:
    value = table.get(key)
    if not isinstance(value, dict):
        problems.append(f"{where}: the section [{key}] is missing.")
        return {}
    return value


def _check_fields(template: str, allowed: frozenset[str], where: str, problems: list[str]) -> None:
    try:
        unknown = _fields(template) - allowed
    except ValueError:
        problems.append(f"{where}: a {{ or }} is not closed; write {{{{ or }}}} for a bracket itself.")
        return
    if unknown:
        problems.append(f"{where}: unknown placeholder(s) {', '.join(sorted(unknown))}.")


def _check_language(
    code: str, data: dict[str, Any], organisations: Iterable[str], english: bool
) -> list[str]:
    """Every problem with one language file, each as a sentence naming the file and the entry."""
    problems: list[str] = []
    file = f"{code}.toml"
    _text(data, "name", file, problems)
    dates = _table(data, "dates", file, problems)
    months = dates.get("months")
    if not (isinstance(months, list) and len(months) == 12 and all(isinstance(m, str) and m for m in months)):
        problems.append(f"{file}: [dates] `months` must list the 12 month names.")
    _check_fields(
        _text(dates, "pattern", f"{file} [dates]", problems), _DATE_FIELDS, f"{file} [dates]", problems
    )
    digits = dates.get("digits", "")
    if not (isinstance(digits, str) and len(digits) in (0, 10)):
        problems.append(f"{file}: [dates] `digits` must be empty or the ten digits 0 to 9.")

    blocks = _table(data, "blocks", file, problems)
    for key, allowed in _BLOCK_FIELDS.items():
        _check_fields(
            _text(blocks, key, f"{file} [blocks]", problems), allowed, f"{file} [blocks] {key}", problems
        )

    what = _table(data, "organisations", file, problems)
    for key in organisations:
        _text(what, key, f"{file} [organisations]", problems)

    routes = _table(data, "routes", file, problems)
    for route in Route:
        entry = routes.get(route.value)
        where = f"{file} [routes] {route.value}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: missing.")
            continue
        _check_fields(_text(entry, "name", where, problems), frozenset(), where, problems)
        _check_fields(_text(entry, "about", where, problems), _ROUTE_FIELDS, where, problems)

    for section, codes in (("status", ImmigrationStatus), ("grounds", Ground), ("outcomes", Outcome)):
        words = _table(data, section, file, problems)
        for member in codes:
            _text(words, member.value, f"{file} [{section}]", problems)

    audiences = ("person", "officer", "internal") if english else ("person",)
    for audience in audiences:
        notices = _table(data, audience, file, problems)
        for kind in sorted(_KINDS[audience]):
            entry = notices.get(kind)
            where = f"{file} [{audience}.{kind}]"
            if not isinstance(entry, dict):
                problems.append(f"{where}: missing.")
                continue
            for part in ("subject", "body"):
                _check_fields(
                    _text(entry, part, where, problems), _NOTICE_FIELDS, f"{where} {part}", problems
                )
    if english:
        staff = _table(data, "staff", file, problems)
        for key in _STAFF_TABLES:
            _table(staff, key, f"{file} [staff]", problems)
        _text(staff, "indicators_intro", f"{file} [staff]", problems)
    return problems


def _load_organisations(data: dict[str, Any]) -> tuple[_Organisations, list[str]]:
    problems: list[str] = []
    file = _ORGANISATIONS_FILE
    known: dict[str, _Organisation] = {}
    for key, entry in _table(data, "organisation", file, problems).items():
        where = f"{file} [organisation.{key}]"
        phone = entry.get("phone")
        if phone is not None and not (isinstance(phone, str) and phone.strip()):
            problems.append(f"{where}: `phone` must be a published number, or left out.")
        known[key] = _Organisation(
            name=_text(entry, "name", where, problems),
            website=_text(entry, "website", where, problems),
            phone=phone if isinstance(phone, str) and phone.strip() else None,
        )

    def listed(value: object, where: str) -> tuple[str, ...]:
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            problems.append(f"{where}: must be a list of organisation names.")
            return ()
        for name in value:
            if name not in known:
                problems.append(f"{where}: `{name}` is not an [organisation.{name}] in this file.")
        return tuple(value)

    by_crime = _table(data, "by_crime_type", file, problems)
    organisations = _Organisations(
        complaints_website=_text(_table(data, "complaints", file, problems), "website", file, problems),
        always=listed(_table(data, "always", file, problems).get("list"), f"{file} [always] list"),
        by_crime_type={
            crime: listed(by_crime.get(crime.value), f"{file} [by_crime_type] {crime.value}")
            for crime in CrimeType
        },
        known=known,
    )
    return organisations, problems


def _parse(name: str, text: str) -> tuple[dict[str, Any], list[str]]:
    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError as error:
        return {}, [f"{name} is not valid TOML ({error}): check the quotes and brackets near there."]


def _load() -> tuple[dict[str, dict[str, Any]], _Organisations]:
    folder = resources.files("protocol").joinpath(_FOLDER)
    problems: list[str] = []
    files: dict[str, dict[str, Any]] = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            files[entry.name.removesuffix(".toml")], found = _parse(
                entry.name, entry.read_text(encoding="utf-8")
            )
            problems += found
    organisations, found = _load_organisations(files.pop(_ORGANISATIONS_FILE.removesuffix(".toml"), {}))
    problems += found
    if FALLBACK not in files:
        raise WordingError(f"{_FOLDER}/{FALLBACK}.toml is missing: English is the fallback for every notice.")
    english = files[FALLBACK]
    for audience in _KINDS:
        _KINDS[audience] = set(english.get(audience, {}))
    for code in sorted(files):
        problems += _check_language(code, files[code], organisations.known, english=code == FALLBACK)
    if problems:
        raise WordingError("The notice templates have problems:\n" + "\n".join(problems))
    return files, organisations


_KINDS: dict[str, set[str]] = {"person": set(), "officer": set(), "internal": set()}
_LANGUAGES, _ORGANISATIONS = _load()


# --- the words ---------------------------------------------------------------------------------------


def _primary(language: str) -> str:
    """ "bn", "BN", "bn-GB" and "bn_BD" are all Bengali: the primary language subtag, lower case."""
    return re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]


def problems_in(code: str, text: str) -> list[str]:
    """Every problem with a language file's text (say, a translator's new version), each as a sentence
    naming the entry; empty when the file can be used."""
    data, problems = _parse(f"{code}.toml", text)
    if problems:
        return problems
    return _check_language(code, data, _ORGANISATIONS.known, english=code == FALLBACK)


def has_language(language: str) -> bool:
    """Whether notices to the person can be written in this language (else they go in English, and the
    case officer should be given a task to pass them on in the person's language)."""
    return _primary(language) in _LANGUAGES


def languages() -> list[str]:
    """The language codes that have a template file, English first."""
    return sorted(_LANGUAGES, key=lambda code: (code != FALLBACK, code))


def audience_kinds(recipient: Recipient) -> frozenset[NoticeKind]:
    """The kinds of notice there are words for, for this recipient."""
    return frozenset(NoticeKind(kind) for kind in _KINDS[_AUDIENCE[recipient]])


def _digits(text: str, words: Mapping[str, Any]) -> str:
    digits: str = words["dates"].get("digits", "")
    return text.translate(str.maketrans("0123456789", digits)) if digits else text


def format_date(value: date | datetime, language: str = FALLBACK) -> str:
    """A date as people write it: "28 December 2026", "28 грудня 2026 року", "২৮ ডিসেম্বর ২০২৬".

    A moment (a datetime) is the date it falls on in the UK. The month names and the order are in each
    language's file rather than from a locale library, so that a translator reviews them with the rest of
    the words, and so that a month never comes out in a grammatical form the file's sentences do not expect.
    """
    words = _LANGUAGES.get(_primary(language), _LANGUAGES[FALLBACK])
    if isinstance(value, datetime):
        value = value.astimezone(UK_TIME).date() if value.tzinfo is not None else value.date()
    dates = words["dates"]
    text = dates["pattern"].format(day=value.day, month=dates["months"][value.month - 1], year=value.year)
    return _digits(text, words)


def _parse_moment(value: str, name: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise WordingError(f"The fact {name} is not an ISO date or date-time.") from None


def _codes(value: str) -> list[str]:
    return [code.strip() for code in value.split(",") if code.strip()]


def _routes(codes: str, words: Mapping[str, Any], policy: Policy) -> str:
    known = {route.value for route in Route}
    numbers = {
        "concession_months": _digits(str(round(policy.concession_leave.days / (365.25 / 12))), words),
        "nrm_days": _digits(str(policy.nrm_min_recovery.days), words),
    }
    lines = []
    for code in dict.fromkeys(_codes(codes)):
        # a route this file does not know is never shown as a code: the officer explains it
        entry = words["routes"][code if code in known else Route.other.value]
        about = entry["about"].format_map(numbers)
        lines.append(words["blocks"]["route"].format(name=entry["name"], about=about))
    return "\n".join(lines) if lines else words["blocks"]["no_routes"]


def _organisations(words: Mapping[str, Any], crime_type: CrimeType | None) -> str:
    chosen = (
        _ORGANISATIONS.by_crime_type[crime_type] if crime_type is not None else ()
    ) + _ORGANISATIONS.always
    lines = []
    for key in dict.fromkeys(chosen):
        organisation = _ORGANISATIONS.known[key]
        values = {
            "name": organisation.name,
            "what": words["organisations"][key],
            "website": organisation.website,
            "phone": organisation.phone or "",
        }
        line = words["blocks"]["organisation_phone" if organisation.phone else "organisation"]
        lines.append(line.format_map(values))
    return "\n".join(lines)


def _decided_by(label: str) -> str:
    role, _, rest = label.partition(":")
    if role == "system":
        return "the case service (automatically, from the records)"
    return f"{role} {rest.replace(':', ' ')}".strip()


def _staff_word(table: str, code: str) -> str:
    words: Mapping[str, str] = _LANGUAGES[FALLBACK]["staff"][table]
    return words.get(code, code.replace("_", " "))


def _fact_values(
    facts: Mapping[str, str], words: Mapping[str, Any], audience: str, policy: Policy
) -> dict[str, Callable[[], str]]:
    """How each fact is put into words, computed only when the template uses it."""
    person = audience == "person"

    def status() -> str:
        code = facts["status"]
        return str(words["status"].get(code, words["status"][ImmigrationStatus.unknown.value]))

    def outcome() -> str:
        code = facts["outcome"]
        if code not in words["outcomes"]:
            raise WordingError(f"There are no words for the outcome {code}.")
        if person:
            return str(words["outcomes"][code])
        return _staff_word("outcome", code)

    def grounds() -> str:
        known = words["grounds"]
        return "; ".join(str(known[code]) for code in _codes(facts["grounds"]) if code in known)

    def indicators() -> str:
        codes = _codes(facts.get("indicators", ""))
        if not codes:
            return ""
        intro: str = _LANGUAGES[FALLBACK]["staff"]["indicators_intro"]
        return intro + ", ".join(_staff_word("indicator", code) for code in codes) + "."

    return {
        "routes": lambda: _routes(facts["signposting"], words, policy),
        "status": status,
        "outcome": outcome,
        "grounds": grounds,
        "respond_by": lambda: format_date(_parse_moment(facts["respond_by"], "respond_by"), words["code"]),
        "due": lambda: format_date(_parse_moment(facts["due"], "due"), FALLBACK),
        "decision": lambda: _staff_word("decision", facts["decision"]),
        "indicators": indicators,
        "check_id": lambda: facts["check_id"],
        "fact_number": lambda: facts["fact_number"],
        "fact_kind": lambda: _staff_word("fact_kind", facts["fact_kind"]),
        "source": lambda: _staff_word("source", facts["source"]),
        "undelivered": lambda: _staff_word("notice", facts["undelivered"]),
        "why": lambda: facts["why"],
        "hold": lambda: _staff_word("hold", facts["hold"]),
        "decided_by": lambda: _decided_by(facts["decided_by"]),
    }


# The fact each placeholder is made from, where it is not the placeholder's own name.
_FACT_FOR = {"routes": "signposting"}


def render_notice(
    kind: NoticeKind,
    facts: dict[str, str],
    language: str,
    contact: ContactDetails,
    *,
    recipient: Recipient = Recipient.person,
    crime_type: CrimeType | None = None,
    policy: Policy | None = None,
) -> Rendered:
    """The words of one notice.

    `facts` are the notice's facts as `protocol/lifecycle.py` queues them (codes, ISO dates). `language` is
    the person's (ignored for the referring officer and IE staff, who are written to in English).
    `crime_type` chooses the specialist support organisations (without it only the ones for everyone are
    listed); `policy` gives the routes' periods (the current policy when not given).

    Raises `WordingError` when the notice lacks a fact its words need (naming the facts, never their values).
    """
    audience = _AUDIENCE[recipient]
    code = _primary(language) if audience == "person" else FALLBACK
    fallback = code not in _LANGUAGES
    if fallback:
        code = FALLBACK
    words = {**_LANGUAGES[code], "code": code}
    templates = words[audience].get(kind.value)
    if templates is None:
        raise WordingError(f"There are no words for a {kind.value} notice to the {recipient.value}.")

    subject_template: str = templates["subject"]
    body_template: str = templates["body"]
    used = _fields(subject_template) | _fields(body_template)
    from_facts = _fact_values(facts, words, audience, policy or current_policy())
    missing = sorted(
        _FACT_FOR.get(name, name)
        for name in used
        if name in from_facts and _FACT_FOR.get(name, name) not in facts and name not in _OPTIONAL_FACTS
    )
    if "case_id" in used and "case_id" not in facts:
        missing.append("case_id")
    if missing:
        raise WordingError(
            f"The {kind.value} notice needs the fact(s) {', '.join(missing)}, which were not given."
        )

    case_id = facts.get("case_id", "")
    blocks = words["blocks"]
    values: dict[str, str | Callable[[], str]] = {
        "case_id": case_id,
        "officer_id": contact.officer_id,
        "team_phone": contact.team_phone,
        "team_email": contact.team_email,
        "contact": lambda: blocks["contact"].format(
            officer_id=contact.officer_id,
            team_phone=contact.team_phone,
            team_email=contact.team_email,
            case_id=case_id,
        ),
        "support": lambda: blocks["support"].format(organisations=_organisations(words, crime_type)),
        "complain": lambda: blocks["complain"].format(complaints_website=_ORGANISATIONS.complaints_website),
        **from_facts,
    }
    filled = {name: _value(values[name]) for name in used}
    for block in ("contact", "support", "complain"):
        if block in filled:
            filled[block] = "\n" + filled[block].strip("\n")  # a blank line before each part
    return Rendered(
        subject=_tidy(subject_template.format_map(filled)).replace("\n", " "),
        text=_tidy(body_template.format_map(filled)),
        language=code,
        fallback=fallback,
    )


def _value(value: str | Callable[[], str]) -> str:
    return value if isinstance(value, str) else value()


def _tidy(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, no blank lines at either end."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def personalisation(rendered: Rendered) -> dict[str, str]:
    """The personalisation for a GOV.UK Notify template whose content is `((body))` and, for email and
    letters, whose subject (a letter's heading) is `((subject))`. Notify ignores a field its template does not
    use, so the same two fields serve SMS, email and letters; a letter's address lines are added by the
    caller."""
    return {"subject": rendered.subject, "body": rendered.text}
