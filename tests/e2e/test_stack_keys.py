"""`make run` and its keys (issue 8 item 7): a key rotated on a running stack is used at once, and a stack
whose key file was moved aside or replaced refuses to start instead of failing open."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from infra.keys import ensure_development_keys
from tests.support.stack import BIN, REPO_ROOT, StackPorts, processes_using, running_stack

pytestmark = pytest.mark.e2e


def test_a_rotated_key_is_used_at_once_and_a_lost_or_replaced_key_file_stops_the_next_start(
    tmp_path: Path,
) -> None:
    ports = StackPorts.free()
    officer = "officer:NCCU-0042"
    with running_stack(tmp_path, ports=ports) as stack:
        stack.mvp("records", "load", "examples/records.json", actor="records_admin:HO-DATA-1")
        started = stack.mvp("referral", "start", "examples/referral-domestic-abuse.json", actor=officer)
        case_id = next(word for word in started.stdout.split() if word.startswith("MVP-"))

        rotated = stack.mvp("keys", "rotate", actor=officer)
        assert "a running worker and API pick it up" in " ".join(rotated.stdout.split())

        # the command is sealed with the new key; the worker, not restarted, opens it and answers
        contact = stack.mvp("officer", "contact", case_id, "--result", "reached", "--json", actor=officer)
        assert json.loads(contact.stdout)["view"]["contact_overdue"] is False
        assert stack.stop(signal.SIGINT) == 0

    key_file = stack.data_dir / "keys.json"
    key_file.rename(tmp_path / "keys-moved-aside.json")

    def start() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "mvp"), "stack", "run"],
            cwd=REPO_ROOT,
            env=stack.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    moved = start()
    assert moved.returncode == 3, moved.stdout + moved.stderr
    assert "there is no key file" in " ".join(moved.stderr.split())
    assert not key_file.exists()

    ensure_development_keys(key_file, data_dir=tmp_path / "nothing-here")  # fresh keys where the old were
    replaced = start()
    assert replaced.returncode == 5, replaced.stdout + replaced.stderr
    assert "These keys do not match the database" in " ".join(replaced.stderr.split())
    assert "Traceback" not in replaced.stderr
    assert not processes_using(stack.data_dir)
