"""Run `mvp` in this process against the test's database, for read-side commands that need no Temporal
server (`cases list`, `report`). The output is what a person would see, captured by pytest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

import cli


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


def point_cli_at(
    monkeypatch: pytest.MonkeyPatch, database_url: str, data_dir: Path, actor: str = "supervisor:NCCU-SUP-7"
) -> None:
    """Settings from the environment as the CLI reads them: this database, no stack files, a reader
    (`--as`), and a wide console so that tables are not wrapped."""
    for name in ("MVP_TASK_QUEUE", "MVP_ENCRYPTION_KEYS", "MVP_IDENTITY_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MVP_ACTOR", actor)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("MVP_DATA_DIR", str(data_dir))
    monkeypatch.setenv("MVP_ENV", "test")
    monkeypatch.setattr(cli, "out", Console(width=240))
    monkeypatch.setattr(cli, "err", Console(stderr=True, width=240))


def mvp(capsys: pytest.CaptureFixture[str], *args: str) -> Ran:
    capsys.readouterr()
    code = cli.run(list(args))
    captured = capsys.readouterr()
    return Ran(code=code, out=captured.out, err=captured.err)
