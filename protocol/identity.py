"""Identity matching (PROTOCOL.md §6, issue 8): names as people write them, Home Office references as
people type them, dates of birth as people mistype them, and whether two descriptions may be one person.

Pure rules, no I/O. The answer is `Match.exact`, `Match.possible` or `Match.none`; a caller that is unsure
treats `possible` as protected (fail closed).

- A **name** is folded (Unicode NFKC; format and zero-width characters removed; look-alike letters from
  another script inside a Latin word mapped to the Latin letter with `confusable_homoglyphs`; the rest
  transliterated to ASCII with `anyascii`, which also drops accents; casefolded), punctuation and spacing
  are ignored, and name order is ignored: a name is its sorted tokens. Family name and given names are one
  bag of tokens, so a swapped order is the same name.
- A **Home Office reference** is canonical as its letters followed by its number without leading zeros:
  `HO9182736`, `HO-09182736` and `ho 9182736` are all `HO9182736`. A *near* reference has one digit
  changed or two adjacent digits swapped.
- A **date of birth** is *near* another when it is one day off, has day and month swapped, or has the year
  one off or its last two digits swapped (the usual slips of a keyboard or of a form read aloud).
- Two **names** are *similar* when every token of the shorter agrees with a different token of the longer
  (equal, one edit apart, a Jaro-Winkler similarity of at least 0.9 with the same first letter, the same
  Metaphone code, or one a prefix of the other of at least three letters: a shortened given name), with at
  most one token left over (an added or dropped middle name); or when the names written without spaces are
  at most one edit apart (a space for a hyphen, "Al Hassan" / "Alhassan").
- A **person** matches exactly with the same name and date of birth; possibly with a similar name and the
  same or a near date of birth, or the same name and a near date of birth.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import jellyfish
from anyascii import anyascii
from confusable_homoglyphs import confusables
from rapidfuzz.distance import Levenshtein

POSSIBLE_MATCH = "possible match: contact the case officer"

JARO_WINKLER_AT_LEAST = 0.9
SHORTENED_AT_LEAST = 3  # letters a shortened given name keeps ("Alex" for "Alexander", not "Al")
LEFT_OVER_AT_MOST = 1  # tokens one name may have that the other lacks: one middle name added or dropped

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_REF = re.compile(r"([A-Z]*)0*([0-9]+)([A-Z]*)")


class Match(StrEnum):
    exact = "exact"
    possible = "possible"
    none = "none"


@dataclass(frozen=True)
class Identity:
    """A person as written: family name, given names, date of birth, Home Office reference if any."""

    family_name: str
    given_names: str
    date_of_birth: date
    home_office_ref: str | None = None


# --- normalisation ---------------------------------------------------------------------------------


def _latin_lookalike(char: str) -> str:
    """The Latin letter `char` is made to look like, or `char` itself (`confusable_homoglyphs` data)."""
    found = confusables.is_confusable(char, greedy=True, preferred_aliases=["latin"])
    if found:
        for glyph in found[0]["homoglyphs"]:
            if glyph["c"].isascii() and glyph["c"].isalpha():
                return str(glyph["c"])
    return char


def _fold_word(word: str) -> str:
    # Only a word that mixes Latin with another script has look-alikes mapped: a name written wholly in
    # Cyrillic or Greek is transliterated ("Петров" is Petrov, not "Netpob").
    if not word.isascii() and any(c.isascii() and c.isalpha() for c in word):
        word = "".join(c if c.isascii() else _latin_lookalike(c) for c in word)
    return word


def fold(text: str) -> str:
    """Text as a comparable ASCII string: NFKC, no format characters, look-alikes mapped, transliterated,
    casefolded; punctuation and spacing become single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")  # zero-width and bidi controls
    text = " ".join(_fold_word(w) for w in text.split())
    return " ".join(_NOT_ALNUM.sub(" ", anyascii(text).casefold()).split())


def name_tokens(family_name: str, given_names: str) -> tuple[str, ...]:
    """The name as sorted tokens: order, case, accents, punctuation and spacing do not count."""
    return tuple(sorted(fold(f"{family_name} {given_names}").split()))


def name_key(family_name: str, given_names: str) -> str:
    """One string for the normalised name, for keyed hashing and sealing."""
    return " ".join(name_tokens(family_name, given_names))


def canonical_reference(reference: str) -> str:
    """`HO-09182736`, `ho 9182736` and `HO9182736` are all `HO9182736`. Anything that is not letters then
    digits is kept folded and upper-cased as written, so it still matches itself."""
    compact = fold(reference).replace(" ", "").upper()
    found = _REF.fullmatch(compact)
    if found is None:
        return compact
    letters, digits, suffix = found.groups()
    return f"{letters}{digits}{suffix}"


def near_references(reference: str) -> frozenset[str]:
    """Canonical references one digit off or with two adjacent digits swapped (the reference excluded)."""
    canonical = canonical_reference(reference)
    found = _REF.fullmatch(canonical)
    if found is None:
        return frozenset()
    letters, digits, suffix = found.groups()
    variants: set[str] = set()
    for i, digit in enumerate(digits):
        for other in "0123456789":
            if other != digit:
                variants.add(digits[:i] + other + digits[i + 1 :])
        if i + 1 < len(digits) and digits[i + 1] != digit:
            variants.add(digits[:i] + digits[i + 1] + digit + digits[i + 2 :])
    near = {f"{letters}{v.lstrip('0') or '0'}{suffix}" for v in variants}  # canonical: no leading zeros
    near.discard(canonical)
    return frozenset(near)


def near_dates_of_birth(born: date) -> frozenset[date]:
    """Dates a mistyped date of birth is likely to have been: one day either side, day and month
    swapped, the year one off, the year's last two digits swapped (the date itself excluded)."""
    near = {born - timedelta(days=1), born + timedelta(days=1)}
    candidates = [(born.year, born.day, born.month), (born.year - 1, born.month, born.day)]
    candidates.append((born.year + 1, born.month, born.day))
    tens, units = divmod(born.year % 100, 10)
    candidates.append((born.year - born.year % 100 + units * 10 + tens, born.month, born.day))
    for year, month, day in candidates:
        try:
            near.add(date(year, month, day))
        except ValueError:
            continue  # no such day (a 13th month, 29 February in a common year)
    near.discard(born)
    return frozenset(near)


# --- the match rule --------------------------------------------------------------------------------


def _tokens_agree(a: str, b: str) -> bool:
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    if len(short) >= SHORTENED_AT_LEAST and long.startswith(short):
        return True
    if min(len(a), len(b)) < 3:
        return False  # initials and two-letter particles agree only when equal
    if Levenshtein.distance(a, b) <= 1:
        return True
    if a[0] == b[0] and jellyfish.jaro_winkler_similarity(a, b) >= JARO_WINKLER_AT_LEAST:
        return True
    return jellyfish.metaphone(a) == jellyfish.metaphone(b)


def _all_agree(shorter: Sequence[str], longer: Sequence[str]) -> bool:
    """Every token of `shorter` agrees with a different token of `longer` (tried in every pairing, so
    a greedy first choice cannot hide a match)."""
    if not shorter:
        return True
    first, rest = shorter[0], shorter[1:]
    for i, candidate in enumerate(longer):
        if _tokens_agree(first, candidate) and _all_agree(rest, [*longer[:i], *longer[i + 1 :]]):
            return True
    return False


def names_similar(a: Sequence[str], b: Sequence[str]) -> bool:
    """Two names (as `name_tokens`) that may be one person's, written differently."""
    if not a or not b:
        return False
    if Levenshtein.distance("".join(a), "".join(b)) <= 1:
        return True
    shorter, longer = sorted((a, b), key=len)
    if len(longer) - len(shorter) > LEFT_OVER_AT_MOST:
        return False
    if len(shorter) == 1 and len(longer) > 1:
        return False  # a single name agreeing with one of several is too weak
    return _all_agree(shorter, longer)


def match_name_and_birth(a: Sequence[str], b: Sequence[str], same_birth: bool, near_birth: bool) -> Match:
    """The rule where only the relation of the dates of birth is known (the service compares keyed hashes
    of dates, never the dates)."""
    if same_birth and tuple(a) == tuple(b):
        return Match.exact
    if (same_birth or near_birth) and (tuple(a) == tuple(b) or names_similar(a, b)):
        return Match.possible
    return Match.none


def match_reference(a: str, b: str) -> Match:
    if canonical_reference(a) == canonical_reference(b):
        return Match.exact
    if canonical_reference(b) in near_references(a):
        return Match.possible
    return Match.none


def strongest(matches: Iterable[Match]) -> Match:
    found = set(matches)
    return next((m for m in (Match.exact, Match.possible) if m in found), Match.none)


@dataclass(frozen=True)
class Prepared:
    """An identity normalised once, to be matched against many."""

    tokens: tuple[str, ...]
    date_of_birth: date
    near_births: frozenset[date]
    reference: str | None
    near_references: frozenset[str]


def prepare(person: Identity) -> Prepared:
    ref = person.home_office_ref
    return Prepared(
        tokens=name_tokens(person.family_name, person.given_names),
        date_of_birth=person.date_of_birth,
        near_births=near_dates_of_birth(person.date_of_birth),
        reference=canonical_reference(ref) if ref else None,
        near_references=near_references(ref) if ref else frozenset(),
    )


def match_prepared(a: Prepared, b: Prepared) -> Match:
    by_name = match_name_and_birth(
        a.tokens,
        b.tokens,
        same_birth=a.date_of_birth == b.date_of_birth,
        near_birth=b.date_of_birth in a.near_births,
    )
    by_reference = Match.none
    if a.reference and b.reference:
        if a.reference == b.reference:
            by_reference = Match.exact
        elif b.reference in a.near_references:
            by_reference = Match.possible
    if Match.exact in (by_name, by_reference):
        return Match.exact
    return Match.possible if Match.possible in (by_name, by_reference) else Match.none


def match(a: Identity, b: Identity) -> Match:
    """Whether two descriptions may be one person: the stronger of the name-and-birth match and, when both
    carry one, the reference match."""
    return match_prepared(prepare(a), prepare(b))


def disagreements(referral: Identity, record: Identity) -> list[str]:
    """What a Home Office record found by reference disagrees on (PROTOCOL.md §4): "family name" and/or
    "date of birth", after normalisation. Names the fields only, never the record's values. A family
    name written in the given names' place (swapped order) agrees."""
    found: list[str] = []
    family = set(fold(record.family_name).split())
    if family != set(fold(referral.family_name).split()) and not (
        family and family <= set(name_tokens(referral.family_name, referral.given_names))
    ):
        found.append("family name")
    if record.date_of_birth != referral.date_of_birth:
        found.append("date of birth")
    return found


# --- duplicate referrals ---------------------------------------------------------------------------

OVERRIDE_REASON_AT_LEAST = 10  # characters: a reason someone else can follow later


def duplicate_refusal(found: Sequence[tuple[str, Match]], override_reason: str | None) -> str | None:
    """Why a referral may not start a case, given the open cases of the same crime reference and how their
    person matches it (PROTOCOL.md §3, issue 8 item 6), or None. The same person is a duplicate whatever
    the officer says; a possible one starts only with an explicit reason, which the case records."""
    exact = [case_id for case_id, how in found if how is Match.exact]
    if exact:
        return f"duplicate of case {exact[0]}"
    possible = sorted({case_id for case_id, how in found if how is Match.possible})
    if not possible:
        return None
    if override_reason is not None and len(override_reason.strip()) >= OVERRIDE_REASON_AT_LEAST:
        return None
    cases = ", ".join(possible)
    if override_reason is not None:
        return (
            f"possible duplicate of case {cases}: the reason for starting it anyway must be at least "
            f"{OVERRIDE_REASON_AT_LEAST} characters"
        )
    return (
        f"possible duplicate of case {cases} (same crime reference, a similar person): check that case; "
        "to start this one anyway, give the reason it is another person"
    )
