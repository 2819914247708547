"""Hostile input for property tests (hypothesis): injection-shaped and odd text, any JSON, a valid document with
places replaced, deleted or given extra neighbours, deep nesting, and bytes that are not JSON at all. Used by the
API's body fuzz (tests/api/test_hostile_bodies.py) and the CLI's file and option fuzz
(tests/cli/test_hostile_input.py)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

INJECTIONS = [
    "'; DROP TABLE cases; --",
    "' OR '1'='1",
    "<script>alert(1)</script>",
    "${jndi:ldap://127.0.0.1/x}",
    "{{7*7}}",
    "../../../../etc/passwd",
    "$(reboot)",
    "[red]markup[/red]",
    "\x1b[31mANSI\x1b[0m",
    "\u202eevil\u202c",
    "\x00nul",
    "\ud7ff\ufeff\u200b",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🧨",
    "NaN",
    "-1e309",
]
hostile_text = (
    st.sampled_from(INJECTIONS)
    | st.text(max_size=40)
    | st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Zl", "Zp", "Co"]), max_size=20)
    | st.integers(min_value=3_000, max_value=200_000).map(lambda n: "x" * n)
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | hostile_text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=10,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document where a value sits."""
    found: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*prefix, index))
    return found


def _apply(document: Any, path: tuple[Any, ...], how: str, new: Any, extra_key: str) -> Any:
    copy = json.loads(json.dumps(document))
    *parents, last = path
    holder = copy
    for step in parents:
        holder = holder[step]
    if how == "delete":
        del holder[last]
    elif how == "extra" and isinstance(holder, dict):
        holder[extra_key] = new
    else:
        holder[last] = new
    return copy


@st.composite
def broken(draw: st.DrawFn, valid: Any) -> Any:
    """The valid document with one, two or three places replaced, deleted, or given an extra neighbour."""
    document = valid
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(document)
        if not paths:
            return draw(json_values)
        document = _apply(
            document,
            draw(st.sampled_from(paths)),
            draw(st.sampled_from(["replace", "delete", "extra"])),
            draw(json_values),
            draw(hostile_text),
        )
    return document


class Body(bytes):
    """A request body that a failing example shows shortened (a megabyte is no help in a report)."""

    def __repr__(self) -> str:
        shown = bytes.__repr__(self)
        return shown if len(shown) < 300 else f"{shown[:200]}... ({len(self)} bytes)"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def bodies(valid: Any) -> st.SearchStrategy[Body]:
    """Raw request bodies: broken documents, any JSON at all, deep nesting, and bytes that are not JSON."""
    as_json = (broken(valid) | json_values | st.just(valid)).map(lambda v: json.dumps(v).encode())
    deep = st.integers(30, 20_000).map(lambda n: b"[" * n + b"]" * n) | st.integers(30, 5_000).map(
        lambda n: b'{"a":' * n + b"1" + b"}" * n
    )
    not_json = (
        st.binary(max_size=200)
        | st.sampled_from([b"", b"{", b"nul", b"{'referral': 1}", b"\xff\xfe\x00", b"<xml/>", b"1e99999"])
        | st.just(b'"' + b"y" * (1024 * 1024 + 10) + b'"')
    )
    return (as_json | deep | not_json).map(Body)
