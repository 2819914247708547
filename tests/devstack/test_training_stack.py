"""`MVP_TRAINING=1 make run` / `mvp stack run --training` (README "Training mode"): the stack says TRAINING, tells
the second terminal how to find it, runs its worker and API in training mode, and refuses production settings
before it starts anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

import cli
from devstack.stack import TRAINING_LINE, _Stack
from infra.settings import Settings


def stack(tmp_path: Path, training: bool) -> _Stack:
    return _Stack(Settings(env="development", data_dir=tmp_path, training=training), Console())


def test_a_training_stack_says_so_first_and_runs_its_worker_and_api_in_training_mode(tmp_path: Path) -> None:
    training = stack(tmp_path, training=True)
    text = training.ready_text()
    assert text.splitlines()[0] == f"[bold reverse] {TRAINING_LINE} [/]"
    assert "export MVP_TRAINING=1" in text and "mvp training advance CASE_ID 30d" in text
    env = training._server_env()
    assert env["MVP_TRAINING"] == "1" and env["MVP_DEV_ISSUER_URL"] == env["MVP_OIDC_ISSUER"]


def test_a_normal_stack_says_nothing_of_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MVP_TRAINING", raising=False)
    normal = stack(tmp_path, training=False)
    text = normal.ready_text()
    assert TRAINING_LINE not in text and "MVP_TRAINING" not in text and "training advance" not in text
    assert "MVP_TRAINING" not in normal._server_env()


def test_the_training_stack_refuses_production_settings_before_starting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(
        "MVP_TRAINING", "0"
    )  # restored afterwards: `--training` sets it for the stack's children
    monkeypatch.setenv("MVP_ENV", "production")
    monkeypatch.setenv("MVP_DATA_DIR", str(tmp_path / "data"))
    code = cli.run(["stack", "run", "--training"])
    assert code == 5
    said = " ".join(capsys.readouterr().err.split())
    assert "training mode is refused with production settings: MVP_ENV is 'production'" in said
    assert not (tmp_path / "data").exists()
