"""Where settings come from: the environment first, then the running stack's `stack.env` — which the stack
itself never reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.settings import load_settings


@pytest.fixture
def leftover_stack_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("TEMPORAL_ADDRESS", "MVP_TEMPORAL_ADDRESS", "DATABASE_URL", "MVP_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "stack.env").write_text(
        "DATABASE_URL=postgresql://old@/mvp\nTEMPORAL_ADDRESS=127.0.0.1:7001\n"
    )
    return tmp_path


def test_commands_find_a_running_stack_through_its_stack_env(leftover_stack_env: Path) -> None:
    settings = load_settings(data_dir=leftover_stack_env)
    assert (settings.temporal_address, settings.database_url) == ("127.0.0.1:7001", "postgresql://old@/mvp")


def test_the_environment_wins_under_either_name(
    leftover_stack_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MVP_TEMPORAL_ADDRESS", "127.0.0.1:7002")
    assert load_settings(data_dir=leftover_stack_env).temporal_address == "127.0.0.1:7002"


def test_the_stack_never_reads_its_own_stack_env(leftover_stack_env: Path) -> None:
    settings = load_settings(find_stack=False, data_dir=leftover_stack_env)
    assert (settings.temporal_address, settings.database_url) == ("localhost:7233", None)
