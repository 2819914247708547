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
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from infra.settings import Settings
from models.registry import COMMANDS
from models.tables import CaseRow
from tests.conftest import EXAMPLES
from tests.support.boundary import ACTORS
from tests.support.hostile import bodies
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
