"""The CLI starts fast because it loads only what a command needs: never the server side (Temporal's SDK,
SQLAlchemy, SQLModel, cryptography, pydantic), and the HTTP client only when a command calls the API."""

from __future__ import annotations

import json
import subprocess
import sys

SERVER_SIDE = ("temporalio", "sqlalchemy", "sqlmodel", "cryptography", "pydantic")


def loaded_after(code: str) -> set[str]:
    """The top-level packages a fresh interpreter has loaded after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_the_command_tree_loads_nothing_of_the_server_side_nor_httpx() -> None:
    loaded = loaded_after("import cli.app")
    assert loaded.isdisjoint(SERVER_SIDE), sorted(loaded & set(SERVER_SIDE))
    assert "httpx" not in loaded  # `mvp --help` makes no call


def test_help_runs_without_the_server_side() -> None:
    code = "import cli\ntry:\n    cli.run(['--help'])\nexcept SystemExit:\n    pass"
    loaded = loaded_after(code)
    assert "typer" in loaded  # the help was built
    assert loaded.isdisjoint(SERVER_SIDE), sorted(loaded & set(SERVER_SIDE))
