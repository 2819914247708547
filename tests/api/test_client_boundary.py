"""What a client holds cannot change what the service answers: `mvp` as a subprocess, against the case API of the
test (a worker running). The enforcement check is keyed server-side, so keys in the client's environment are
ignored; in production, `--as` and `MVP_ACTOR` are refused before any request is made."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import secrets
import subprocess

import httpx
import pytest

from tests.conftest import Running
from tests.support.boundary import ACTORS, access_rows, start_example_case
from tests.support.cli import MVP, cli_env

PROTECTED = ("HO-7781203", "RAHMAN, AMINA, 1998-03-14")  # the example referral's person, two ways


def bogus_keys() -> dict[str, str]:
    """Well-formed keys that are not the service's: a client that tried to key the person itself."""
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    return {"MVP_IDENTITY_KEY": key, "MVP_ENCRYPTION_KEYS": f"client-1:{key}"}


async def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, [MVP, *args], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def served(running: Running, api: str, issuer: str) -> Running:
    return dataclasses.replace(running, api_url=api, issuer_url=issuer)


async def test_the_enforcement_check_answers_the_same_whatever_keys_the_client_holds(served: Running) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await start_example_case(http, served.api_url, served.issuer_url)
    plain = {**cli_env(served), "MVP_ACTOR": ACTORS["enforcement"]}
    assert not any(name in plain for name in ("MVP_IDENTITY_KEY", "MVP_ENCRYPTION_KEYS"))
    verdicts = []
    for person in PROTECTED:
        for env in (plain, {**plain, **bogus_keys()}):
            checked = await run(
                env, "enforcement", "check", "--person", person, "--reason", "visit", "--json"
            )
            assert checked.returncode == 3, checked.stdout + checked.stderr  # refused
            assert "Traceback" not in checked.stderr
            answer = json.loads(checked.stdout)
            verdicts.append((answer["verdict"], answer["permitted"], answer.get("case_ids")))
    assert verdicts == [("refused", False, [case_id])] * len(verdicts)


async def test_as_and_mvp_actor_are_refused_by_the_cli_in_production_with_a_sentence(served: Running) -> None:
    production = {**cli_env(served), "MVP_ENV": "production"}
    del production["MVP_ACTOR"]
    logged_before = len(access_rows(served.engine))
    by_flag = await run(production, "cases", "list", "--as", "supervisor:NCCU-SUP-7")
    by_env = await run({**production, "MVP_ACTOR": "supervisor:NCCU-SUP-7"}, "cases", "list")
    for refused in (by_flag, by_env):  # MVP_ACTOR is the environment's --as, and named so
        assert refused.returncode in (2, 3), refused.stdout + refused.stderr
        assert "--as is for development only" in refused.stderr, refused.stderr
        assert "mvp login" in refused.stderr and "Traceback" not in refused.stderr
        assert refused.stdout == ""
    assert len(access_rows(served.engine)) == logged_before  # nothing reached the API

    development = await run(cli_env(served), "cases", "list", "--as", "supervisor:NCCU-SUP-7")
    assert development.returncode == 0, development.stderr  # the same command works in development
