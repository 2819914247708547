"""The production topology: the compose file validates and describes every part the service needs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="Debian's docker-compose is not installed")
def test_the_compose_file_validates() -> None:
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_the_compose_file_describes_postgres_temporal_ui_worker_and_codec() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for service in ("postgres:", "temporal:", "temporal-ui:", "worker:", "codec:"):
        assert f"\n  {service}" in text
    assert "DB: postgres12" in text  # Temporal persists in the same Postgres
    assert "build: ." in text and (ROOT / "Dockerfile").is_file()


def test_the_dockerfile_migrates_then_runs_the_worker() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "mvp db migrate && exec mvp worker" in dockerfile
    assert "USER mvp" in dockerfile  # not as root
