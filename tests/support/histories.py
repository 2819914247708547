"""Recorded workflow histories: the key they are encrypted with, and recording them from a test.

Every scenario test in tests/workflows/test_scenarios.py carries the `record_history` marker. Run

    MVP_RECORD_HISTORIES=1 .venv/bin/python -m pytest -q tests/workflows/test_scenarios.py

and each of those tests runs with the test-only keyring below and, when it finishes, writes the history of
every case workflow it ran (each run of a case that continued-as-new, in order) to
tests/workflows/histories/<test name>[-<n>].json. tests/workflows/test_replay.py replays them all.
"""

from __future__ import annotations

import asyncio
import base64
import os
from pathlib import Path

from temporalio.client import Client

from infra.keys import Keyring

HISTORIES = Path(__file__).resolve().parents[1] / "workflows" / "histories"
RECORD = "MVP_RECORD_HISTORIES"
MARKER = "record_history"

# Test data only: the histories in the repository are encrypted with this key so that they can be replayed.
REPLAY_KEYRING = Keyring(
    current_id="replay", keys={"replay": base64.b64decode("dGVzdC1vbmx5LXJlcGxheS1rZXktMzItYnl0ZXMhISE=")}
)


def recording() -> bool:
    """Whether this test run records histories (MVP_RECORD_HISTORIES=1)."""
    return os.environ.get(RECORD, "") not in ("", "0")


async def record_histories(
    client: Client, task_queue: str, name: str, directory: Path = HISTORIES
) -> list[Path]:
    """Write the history of every case workflow run on `task_queue` to `directory`, oldest run first.

    Visibility is eventually consistent, so the listing is read until it settles on closed and open runs."""
    query = f'TaskQueue="{task_queue}" AND WorkflowType="ProtocolCaseWorkflow"'
    runs: list[tuple[str, str]] = []
    for _ in range(20):
        listed = [wf async for wf in client.list_workflows(query)]
        found = sorted(listed, key=lambda wf: wf.start_time)
        runs = [(wf.id, wf.run_id) for wf in found]
        if runs:
            break
        await asyncio.sleep(0.25)
    assert runs, f"no case workflow ran on {task_queue}: nothing to record"
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for n, (workflow_id, run_id) in enumerate(runs, start=1):
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        path = directory / (f"{name}.json" if len(runs) == 1 else f"{name}-{n}.json")
        path.write_text(history.to_json())
        written.append(path)
    return written
