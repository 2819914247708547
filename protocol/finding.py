"""Finding a case the way police and the person ask for it (issue 12): by crime reference, referral id,
Home Office reference, referring officer, or name and date of birth. Pure rules: what a search may be made
of, and how the cases found are told apart.

Every key is compared as a keyed hash server-side (`infra.keys`), so what is typed is normalised the way the
hash normalises it (`protocol.identity.fold`, `canonical_reference`). A name and date of birth, and a Home
Office reference, match exactly or *possibly* by the rules of the enforcement check (`protocol.identity`): a
misspelt name, a near date of birth, a reference one digit off still find the case, marked possible. When
several keys are given, a case must match them all, and a match is only as strong as its weakest key.

Messages never echo what was typed: it may be personal data, and messages may end up in logs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from models.case import Actor, ActorRole
from protocol.enforcement import OLDEST_AGE_YEARS
from protocol.identity import Match, canonical_reference

VALUE_MAX = 200  # characters in any one search value
NAME_FORMAT = '--name "FAMILY, GIVEN" (e.g. "Begum, Nasrin")'
KEYS = ("crime_ref", "referral_id", "ho_ref", "officer", "name")  # "name" is name and date of birth
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Search:
    """A search, checked: the keys given (blank ones left out), the person's name split, the date parsed."""

    crime_ref: str | None = None
    referral_id: str | None = None
    ho_ref: str | None = None
    officer: str | None = None
    family_name: str | None = None
    given_names: str | None = None
    born: date | None = None

    @property
    def by(self) -> list[str]:
        """Which keys the search is made of (recorded in the access log; never their values)."""
        given = {
            "crime_ref": self.crime_ref,
            "referral_id": self.referral_id,
            "ho_ref": self.ho_ref,
            "officer": self.officer,
            "name": self.born,
        }
        return [key for key in KEYS if given[key] is not None]


def parse_search(
    today: date,
    *,
    crime_ref: str | None = None,
    referral_id: str | None = None,
    ho_ref: str | None = None,
    officer: str | None = None,
    name: str | None = None,
    born: str | None = None,
) -> tuple[Search | None, list[str]]:
    """The search, or the problems with it, each a sentence naming the option (never the value)."""
    problems: list[str] = []
    values = {
        "--crime-ref": crime_ref,
        "--referral-id": referral_id,
        "--ho-ref": ho_ref,
        "--officer": officer,
        "--name": name,
        "--born": born,
    }
    clean: dict[str, str | None] = {}
    for option, value in values.items():
        text = value.strip() if value is not None else ""
        if len(text) > VALUE_MAX:
            problems.append(f"{option} is longer than {VALUE_MAX} characters.")
        clean[option] = text or None
    if all(v is None for v in clean.values()):
        problems.append(
            "Give at least one of --crime-ref, --referral-id, --ho-ref, --officer, or --name with --born."
        )
    reference = clean["--ho-ref"]
    if reference is not None and not any(c.isdigit() for c in canonical_reference(reference)):
        problems.append("--ho-ref is not a Home Office reference (e.g. HO-1234567).")
    family = given = None
    if clean["--name"] is not None:
        family, _, given = (part.strip() for part in clean["--name"].partition(","))
        if not any(c.isalpha() for c in family) or not any(c.isalpha() for c in given):
            problems.append(f"--name needs a family name and given names, with letters: {NAME_FORMAT}.")
        if clean["--born"] is None:
            problems.append("--name needs --born YYYY-MM-DD: a case is found by name and date of birth.")
    born_on = None
    if clean["--born"] is not None:
        born_on, problem = _birth(clean["--born"], today)
        if problem:
            problems.append(problem)
        if clean["--name"] is None:
            problems.append(f"--born needs {NAME_FORMAT}: a case is found by name and date of birth.")
    if problems:
        return None, problems
    return (
        Search(
            crime_ref=clean["--crime-ref"],
            referral_id=clean["--referral-id"],
            ho_ref=reference,
            officer=clean["--officer"],
            family_name=family,
            given_names=given,
            born=born_on,
        ),
        [],
    )


def _birth(text: str, today: date) -> tuple[date | None, str | None]:
    if not _ISO_DATE.fullmatch(text):
        return None, "--born: write the date of birth as YYYY-MM-DD."
    try:
        born = date.fromisoformat(text)
    except ValueError:
        return None, "--born is not a real date."
    if born > today:
        return None, "--born is in the future."
    if born.year < today.year - OLDEST_AGE_YEARS:
        return None, f"--born is more than {OLDEST_AGE_YEARS} years ago."
    return born, None


def combined(found_by_key: Iterable[Mapping[str, Match]]) -> dict[str, Match]:
    """The cases every key found, each as strong as its weakest match (exact only if exact by every key)."""
    result: dict[str, Match] | None = None
    for found in found_by_key:
        hits: dict[str, Match] = {c: how for c, how in found.items() if how is not Match.none}
        if result is None:
            result = hits
            continue
        merged: dict[str, Match] = {
            case_id: Match.possible if Match.possible in (how, hits[case_id]) else Match.exact
            for case_id, how in result.items()
            if case_id in hits
        }
        result = merged
    return result or {}


def may_see(actor: Actor, force_code: str) -> bool:
    """Whom a found case is listed to: officers and supervisors all; police only their own force's cases."""
    if actor.role is ActorRole.police:
        return actor.force is not None and actor.force == force_code
    return actor.role in (ActorRole.officer, ActorRole.supervisor)
