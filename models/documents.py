"""Reading a JSON document that comes from outside (a referral, a records file, a request body): one sentence
for each way it can be wrong, and nothing recursed on before its nesting is known. Stdlib only, so the `mvp`
client reads files with the same rules as the API reads bodies."""

from __future__ import annotations

import json
import math

MAX_DOCUMENT_BYTES = 1024 * 1024  # a referral is a few kilobytes; a records file of thousands of people fits
MAX_DOCUMENT_DEPTH = 32  # a referral nests four deep; anything near this is not one


class DocumentRefused(ValueError):
    """A file that is not a JSON document this service reads; the message is one sentence saying why."""


def read_json_document(data: bytes) -> object:
    """The JSON value in `data`, or DocumentRefused naming what is wrong: too large, binary, not UTF-8,
    nested too deep (found by a scan, before the parser could recurse), or not valid JSON."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentRefused(
            f"is larger than {MAX_DOCUMENT_BYTES // 1024} KiB; a referral or records file is far smaller"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        if b"\x00" in data:
            raise DocumentRefused("is a binary file, not a JSON document") from None
        raise DocumentRefused(f"is not UTF-8 text (byte {error.start + 1} cannot be read as UTF-8)") from None
    text = text.removeprefix("\ufeff")
    if any(ch < " " and ch not in "\t\n\r" for ch in text):
        raise DocumentRefused("is a binary file, not a JSON document (it contains control characters)")
    if _nesting_depth(text) > MAX_DOCUMENT_DEPTH:
        raise DocumentRefused(
            f"nests lists or objects more than {MAX_DOCUMENT_DEPTH} deep; it is not a referral"
        )
    try:
        return json.loads(text, parse_float=_finite, parse_int=_bounded_int, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise DocumentRefused(
            f"is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None


# Python's json reads what JSON does not allow (NaN, Infinity) and numbers no JSON peer can carry (1e310 becomes
# infinity, which cannot be sent on); an integer longer than Python converts is a ValueError, not a decode error.
MAX_INTEGER_DIGITS = 100


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise DocumentRefused("has a number too large to be read")
    return value


def _bounded_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise DocumentRefused(f"has a whole number longer than {MAX_INTEGER_DIGITS} digits")
    return int(literal)


def _no_constant(name: str) -> float:
    raise DocumentRefused(f"is not valid JSON ({name} is not a JSON number)")


def _nesting_depth(text: str) -> int:
    """The deepest nesting of [ and { outside strings, in one pass without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest
