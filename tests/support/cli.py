"""`mvp` as a person runs it in a second terminal: a subprocess, against the case API of the test (the `running`
fixture of tests/cli/conftest.py serves one), with a token from the development issuer for `--as`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from models.tables import CaseRow
from tests.conftest import EXAMPLES, Running

MVP = str(Path(sys.executable).parent / "mvp")
RECORDS_ADMIN = "records_admin:HO-DATA-1"
SERVER_SETTINGS = ("DATABASE_URL", "TEMPORAL_ADDRESS")


def cli_env(running: Running) -> dict[str, str]:
    """What a second terminal has: where the API and the issuer are, and who you are. No database, no
    Temporal address, no keys: the CLI holds no secret."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("MVP_") and k not in SERVER_SETTINGS},
        "MVP_API_URL": running.api_url,
        "MVP_ISSUER_URL": running.issuer_url,
        "MVP_DATA_DIR": str(running.settings.data_dir),
        "MVP_ENV": "test",
        "MVP_ACTOR": "officer:NCCU-0042",
        "COLUMNS": "200",
    }


async def mvp(running: Running, *args: str, actor: str | None = None) -> subprocess.CompletedProcess[str]:
    env = cli_env(running)
    if actor is not None:
        env["MVP_ACTOR"] = actor
    return await asyncio.to_thread(
        subprocess.run, [MVP, *args], env=env, capture_output=True, text=True, timeout=60
    )


def cases_in_postgres(running: Running) -> int:
    with Session(running.engine) as session:
        return int(session.execute(select(func.count()).select_from(CaseRow)).scalar_one())


async def start_example_case(running: Running) -> str:
    loaded = await mvp(running, "records", "load", str(EXAMPLES / "records.json"), actor=RECORDS_ADMIN)
    assert loaded.returncode == 0, loaded.stderr
    started = await mvp(
        running, "referral", "start", str(EXAMPLES / "referral-domestic-abuse.json"), "--json"
    )
    assert started.returncode == 0, started.stderr
    return str(json.loads(started.stdout)["case_id"])
