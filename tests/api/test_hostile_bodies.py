"""Hostile request bodies, fuzzed with hypothesis, against the real case API (uvicorn, verified tokens) and a real
worker process: wrong types, missing and extra fields, huge strings, odd Unicode, control characters,
injection-shaped strings, deep nesting and bytes that are not JSON at all. Each body is refused with its problems
named (a JSON error body, 4xx) or accepted as valid — never a 500, never a traceback, and a refused referral
leaves no case behind."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from infra.settings import Settings
from models.registry import COMMANDS
from models.tables import CaseRow
from tests.conftest import EXAMPLES
from tests.support.boundary import ACTORS
from tests.support.worker_process import worker_process

EXAMPLES_PER_ROUTE = 60
FUZZ = settings(
    max_examples=EXAMPLES_PER_ROUTE,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
TIMEOUT = httpx.Timeout(30.0)
ROLE_ACTOR = {
    "officer": ACTORS["officer"],
    "supervisor": ACTORS["supervisor"],
    "police": ACTORS["police_own"],
}

# A valid body per command route; the fuzz starts from these and breaks them.
COMMAND_BODIES: dict[str, dict[str, Any]] = {
    "police-update": {"investigation": "under_investigation"},
    "withdrawal": {"reason": "referral withdrawn in the fuzz"},
    "contact": {"result": "no_answer"},
    "application": {"route": "domestic_abuse_concession", "stage": "submitted"},
    "route": {"route": "domestic_abuse_concession"},
    "departure": {},
    "exclusion-decision": {"verdict": "confirm", "reason": "confirmed in the fuzz"},
    "release-decision": {"reason": "released in the fuzz"},
    "fact": {"fact_kind": "relationship_ended", "source": "police"},
    "fact-verification": {"fact_number": 1, "verified": False},
    "amend": {
        "phone": "+44 7700 900999",
        "never_contact_via": ["landlord"],
        "add_dependants": [
            {
                "family_name": "Fuzz",
                "given_names": "Test",
                "date_of_birth": "2020-01-01",
                "relationship": "child",
            }
        ],
    },
}

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


def _token(issuer: str, actor: str) -> dict[str, str]:
    minted = httpx.post(f"{issuer}/dev/token", json={"actor": actor}, timeout=TIMEOUT)
    assert minted.status_code == 200, minted.text
    return {"Authorization": f"Bearer {minted.json()['access_token']}", "Content-Type": "application/json"}


def _case_rows(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(CaseRow)).scalar_one())


def _assert_answered_without_failing(answer: httpx.Response, accepted: tuple[int, ...]) -> None:
    """Accepted as valid, or refused with a JSON error naming its problems; never a 500 or a traceback."""
    assert "Traceback" not in answer.text and 'File "' not in answer.text
    assert answer.status_code in (*accepted, 404, 409, 413, 422), (answer.status_code, answer.text[:500])
    if answer.status_code in accepted:
        return
    error = answer.json()["error"]
    assert error["message"].strip()
    if answer.status_code in (413, 422):
        assert error["problems"], error
        assert all(isinstance(p, str) and p.strip() for p in error["problems"])
        assert error["exit_code"] == 2


def _fuzz(valid: Any, check: Callable[[bytes], None]) -> None:
    @FUZZ
    @given(body=bodies(valid))
    def run(body: bytes) -> None:
        check(body)

    run()


def test_hostile_referral_bodies_are_refused_with_problems_named_and_start_nothing(
    settings: Settings, engine: Engine, api: str, issuer: str, temporal_env: Any, tmp_path: Path
) -> None:
    address = temporal_env.client.service_client.config.target_host
    officer = _token(issuer, ACTORS["officer"])
    valid = {"referral": json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text())}
    started: set[str] = set()

    def check(body: bytes) -> None:
        rows = _case_rows(engine)
        answer = http.post(f"{api}/referrals", content=body, headers=officer)
        _assert_answered_without_failing(answer, (201,))
        if answer.status_code == 201:
            started.add(answer.json()["case_id"])
        else:
            assert _case_rows(engine) <= max(rows, len(started)), "a refused referral left a case row"

    with worker_process(settings, address, tmp_path / "worker.log"), httpx.Client(timeout=TIMEOUT) as http:
        _fuzz(valid, check)
        deadline = time.monotonic() + 20
        while _case_rows(engine) < len(started) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert _case_rows(engine) == len(started), "a case row for a referral that was refused"


def test_hostile_records_bodies_are_refused_with_problems_named(
    engine: Engine, api: str, issuer: str
) -> None:
    admin = _token(issuer, ACTORS["records_admin"])
    valid = json.loads((EXAMPLES / "records.json").read_text())
    with httpx.Client(timeout=TIMEOUT) as http:
        _fuzz(
            valid,
            lambda body: _assert_answered_without_failing(
                http.post(f"{api}/records", content=body, headers=admin), (200,)
            ),
        )


@pytest.mark.parametrize("route", sorted(COMMAND_BODIES))
def test_hostile_command_bodies_are_refused_with_problems_named(
    route: str, settings: Settings, api: str, issuer: str, temporal_env: Any, tmp_path: Path
) -> None:
    """Against an open case, as a role that may give the command (so a valid body is accepted)."""
    spec = next(s for s in COMMANDS.values() if s.route == route)
    sender = _token(issuer, ROLE_ACTOR[sorted(spec.roles & set(ROLE_ACTOR))[0]])
    referral = json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text())
    address = temporal_env.client.service_client.config.target_host
    with worker_process(settings, address, tmp_path / "worker.log"), httpx.Client(timeout=TIMEOUT) as http:
        opened = http.post(
            f"{api}/referrals", json={"referral": referral}, headers=_token(issuer, ACTORS["officer"])
        )
        assert opened.status_code == 201, opened.text
        case_id = opened.json()["case_id"]
        _fuzz(
            COMMAND_BODIES[route],
            lambda body: _assert_answered_without_failing(
                http.post(f"{api}/cases/{case_id}/{route}", content=body, headers=sender), (200,)
            ),
        )
