"""Limits on text and numbers that come from outside, in one place.

Every free-text field has a length limit, so that a referral, a records file or a command can neither fill
the database and the workflow history nor bury a supervisor's screen. Codes and identifiers follow a strict
pattern. Text carrying control characters — C0 and C1 controls (a newline and a tab are allowed in notes
only), the ANSI escapes built from them, and the bidirectional overrides that make text read differently
from what it is — is **refused** at intake, never silently changed: what is stored is what was sent.
Names and free text may still contain markup-like characters (`[red]`); those are shown literally by
`cli.render.safe`.

The limits, and why:

| type | limit | why |
| --- | --- | --- |
| `Name` | 200 characters, one line | the longest names in use are well under 100; room for transliterations |
| `Line` | 500 characters, one line | a reason, an address, a location, a crime reference, an offence |
| `Note` | 4,000 characters; newlines and tabs allowed | a contact note or a description: about a page |
| `Code` | 64 characters, one line | a reference, a phone number, a language, a marker |
| `ForceCode` | `^[A-Z]{2,8}$` | police force codes (WMP, MPS, GMP, BTP, ...) |
| `Identifier` | `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$` | officer, actor and referral ids: no spaces, colons or markup |
| `ROUTE_DAYS_MAX` | 3,650 days | ten years: longer than any route clock, and far short of a date overflow |
| `NUMBER_MAX` | 10,000 | application and fact numbers: a case never has that many |
| `SENTENCE_MONTHS_MAX` | 1,200 | a hundred years; a whole-life term is recorded as that |
| `LIST_MAX` | 50 | dependants, never-contact-via entries, markers per person |
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

NAME_MAX = 200
LINE_MAX = 500
NOTE_MAX = 4_000
CODE_MAX = 64
ROUTE_DAYS_MAX = 3_650
NUMBER_MAX = 10_000
SENTENCE_MONTHS_MAX = 1_200
LIST_MAX = 50
CONVICTIONS_MAX = 500

FORCE_PATTERN = r"^[A-Z]{2,8}$"
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"

# What each pattern asks for, as the end of a sentence (`protocol.intake` describes a mismatch with it).
PATTERN_MEANING = {
    FORCE_PATTERN: "must be a police force code of 2 to 8 capital letters, as in WMP",
    IDENTIFIER_PATTERN: (
        "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, as in NCCU-0042"
    ),
}

# Bidirectional controls (embeddings, overrides, isolates and marks) change how text reads on screen.
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# C0 controls (with ESC, which starts ANSI escapes), DEL and C1 controls.
_CONTROLS = "".join(chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0)))
_LINE_FORBIDDEN = re.compile(f"[{re.escape(_CONTROLS + _BIDI)}]")
_NOTE_FORBIDDEN = re.compile(f"[{re.escape(_CONTROLS.replace(chr(9), '').replace(chr(10), '') + _BIDI)}]")

CONTROL_CHARACTERS = "text_control_characters"


def has_control_characters(text: str, multiline: bool = False) -> bool:
    return (_NOTE_FORBIDDEN if multiline else _LINE_FORBIDDEN).search(text) is not None


def _one_line(value: str) -> str:
    # only whitespace (tabs, newlines) is blank, which the field's own rules report
    if value.strip() and has_control_characters(value):
        raise PydanticCustomError(
            CONTROL_CHARACTERS,
            "contains control characters (line breaks, terminal escapes or direction overrides)",
        )
    return value


def _note(value: str) -> str:
    if has_control_characters(value, multiline=True):
        raise PydanticCustomError(
            CONTROL_CHARACTERS, "contains control characters (terminal escapes or direction overrides)"
        )
    return value


Name = Annotated[str, Field(max_length=NAME_MAX), AfterValidator(_one_line)]
Line = Annotated[str, Field(max_length=LINE_MAX), AfterValidator(_one_line)]
Note = Annotated[str, Field(max_length=NOTE_MAX), AfterValidator(_note)]
Code = Annotated[str, Field(max_length=CODE_MAX), AfterValidator(_one_line)]
ForceCode = Annotated[str, Field(pattern=FORCE_PATTERN)]
Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN)]
