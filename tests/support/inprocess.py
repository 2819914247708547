"""Run `mvp` in this process against a real case API (the `api` fixture), as a person would: the output is
what they would see, captured by pytest. For async tests with a worker in the test's event loop, use
`amvp`, which runs the CLI in a thread so that the loop keeps serving the worker."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest

import cli
from cli import render


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


def point_cli_at(
    monkeypatch: pytest.MonkeyPatch,
    api_url: str,
    issuer_url: str,
    data_dir: Path,
    actor: str = "supervisor:NCCU-SUP-7",
) -> None:
    """The CLI's settings from the environment, as a second terminal would have them: this API and issuer,
    no stack files, an actor (`--as`), and a wide console so that tables are not wrapped."""
    for name in ("MVP_TOKEN", "MVP_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MVP_ACTOR", actor)
    monkeypatch.setenv("MVP_API_URL", api_url)
    monkeypatch.setenv("MVP_ISSUER_URL", issuer_url)
    monkeypatch.setenv("MVP_DATA_DIR", str(data_dir))
    monkeypatch.setenv("MVP_ENV", "test")
    monkeypatch.setattr(render, "out", render.Screen(width=240))
    monkeypatch.setattr(render, "err", render.Screen(stderr=True, width=240))


def mvp(capsys: pytest.CaptureFixture[str], *args: str) -> Ran:
    capsys.readouterr()
    code = cli.run(list(args))
    captured = capsys.readouterr()
    return Ran(code=code, out=captured.out, err=captured.err)


async def amvp(capsys: pytest.CaptureFixture[str], *args: str) -> Ran:
    capsys.readouterr()
    code = await asyncio.to_thread(cli.run, list(args))
    captured = capsys.readouterr()
    return Ran(code=code, out=captured.out, err=captured.err)


async def start_example_case(capsys: pytest.CaptureFixture[str]) -> str:
    """Records loaded by a records administrator, then the example referral started by the terminal's actor:
    the case id."""
    import json

    from tests.conftest import EXAMPLES

    loaded = await amvp(
        capsys, "records", "load", str(EXAMPLES / "records.json"), "--as", "records_admin:HO-DATA-1"
    )
    assert loaded.code == 0, loaded.err
    started = await amvp(
        capsys, "referral", "start", str(EXAMPLES / "referral-domestic-abuse.json"), "--json"
    )
    assert started.code == 0, started.err
    return str(json.loads(started.out)["case_id"])
