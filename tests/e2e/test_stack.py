"""`make run` end to end: the stack comes up, answers, stops cleanly on Ctrl-C and finds its data again."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import date
from pathlib import Path

import psycopg
import pytest
from temporalio.client import Client

from tests.support.stack import BIN, REPO_ROOT, StackPorts, processes_using, running_stack

pytestmark = pytest.mark.e2e

MIGRATED_TABLES = {"cases", "holds", "case_record", "ho_immigration_status", "ho_criminal_records", "outbox"}


def _tables(database_url: str) -> set[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {name for (name,) in rows}


async def test_the_stack_serves_stops_on_ctrl_c_and_finds_its_data_again(tmp_path: Path) -> None:
    ports = StackPorts.free()

    with running_stack(tmp_path, ports=ports) as stack:
        assert stack.temporal_address == f"127.0.0.1:{ports.temporal}"
        assert f"http://localhost:{ports.ui}" in stack.output

        client = await Client.connect(stack.temporal_address)
        assert [w async for w in client.list_workflows()] == []

        assert MIGRATED_TABLES <= _tables(stack.database_url)
        with psycopg.connect(stack.database_url) as conn:
            conn.execute(
                "INSERT INTO ho_immigration_status (home_office_ref, given_names, family_name, "
                "date_of_birth, status) VALUES ('HO-E2E-1', 'Test', 'Person', %s, 'no_leave')",
                (date(1990, 1, 1),),
            )

        assert stack.stop(signal.SIGINT) == 0

    assert "Stopped." in stack.output
    assert not (stack.data_dir / "stack.env").exists()
    assert not (stack.data_dir / "stack.pid").exists()
    assert not processes_using(stack.data_dir)
    assert (stack.data_dir / "temporal.sqlite").exists()
    assert (stack.data_dir / "postgres" / "PG_VERSION").exists()

    with running_stack(tmp_path, ports=ports) as again:
        with psycopg.connect(again.database_url) as conn:
            row = conn.execute(
                "SELECT status FROM ho_immigration_status WHERE home_office_ref = 'HO-E2E-1'"
            ).fetchone()
        assert row == ("no_leave",)
        assert again.stop(signal.SIGTERM) == 0


def test_a_second_stack_on_the_same_data_folder_is_refused(tmp_path: Path) -> None:
    with running_stack(tmp_path) as stack:
        second = subprocess.run(
            [str(BIN / "mvp"), "stack", "run"],
            cwd=REPO_ROOT,
            env=stack.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 3, second.stdout + second.stderr
        assert "already running" in second.stderr
        assert (stack.data_dir / "stack.env").exists()  # the first stack's, untouched
        assert stack.process.poll() is None
        assert stack.stop() == 0


def test_the_stack_restarts_a_worker_that_dies_and_says_so(tmp_path: Path) -> None:
    with running_stack(tmp_path) as stack:
        (worker,) = [p for p in stack.children if "worker" in p.cmdline() and "temporal" not in p.name()]
        worker.kill()
        deadline = time.monotonic() + 30
        while "The worker restarted." not in stack.output and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "The worker stopped unexpectedly (killed by SIGKILL); restarting it in 1 s" in stack.output
        assert "The worker restarted." in stack.output
        stack.mvp("records", "load", "examples/records.json", actor="records_admin:HO-DATA-1")
        started = stack.mvp(
            "referral", "start", "examples/referral-domestic-abuse.json", "--json", actor="officer:NCCU-0042"
        )
        assert json.loads(started.stdout)["state"] is not None  # the restarted worker opened and screened it
        assert stack.stop(signal.SIGINT) == 0
    assert not processes_using(stack.data_dir)


def test_the_stack_stops_with_a_sentence_when_temporal_dies(tmp_path: Path) -> None:
    with running_stack(tmp_path) as stack:
        (temporal,) = [p for p in stack.children if "start-dev" in p.cmdline()]
        temporal.kill()

        assert stack.wait() == 1
    assert "The Temporal server stopped unexpectedly (killed by SIGKILL), so the stack stops" in stack.output
    assert not (stack.data_dir / "stack.env").exists()
    assert not processes_using(stack.data_dir)


def test_a_new_user_walks_the_quick_start_and_a_second_run_finds_the_case(tmp_path: Path) -> None:
    """README steps 2–4 as typed in a second terminal, then Ctrl-C, `make run` again, and the case is
    there, still protected, and the workflow still answers."""
    ports = StackPorts.free()
    officer = "officer:NCCU-0042"
    with running_stack(tmp_path, ports=ports) as stack:
        loaded = stack.mvp("records", "load", "examples/records.json", actor="records_admin:HO-DATA-1")
        assert "Loaded 3 immigration status record(s)" in loaded.stdout

        started = stack.mvp("referral", "start", "examples/referral-domestic-abuse.json", actor=officer)
        case_id = next(word for word in started.stdout.split() if word.startswith("MVP-"))
        assert "first contact due" in started.stdout

        shown = json.loads(stack.mvp("case", "show", case_id, "--json", actor=officer).stdout)
        assert shown["phase"] == "protection" and shown["hold"]["active"] is True
        assert shown["next_contact_due"] and shown["outcome"] is None
        listed = json.loads(stack.mvp("cases", "list", "--json", actor=officer).stdout)
        assert [(c["case_id"], c["phase"], c["hold"]) for c in listed] == [(case_id, "protection", True)]

        duplicate = stack.mvp(
            "referral", "start", "examples/referral-domestic-abuse.json", actor=officer, check=False
        )
        # the same referral again is the same case: nothing new is started
        assert duplicate.returncode == 0 and case_id in duplicate.stdout
        assert stack.stop(signal.SIGINT) == 0

    assert not processes_using(stack.data_dir)

    with running_stack(tmp_path, ports=ports) as again:
        shown = json.loads(again.mvp("case", "show", case_id, "--json", actor=officer).stdout)
        assert shown["phase"] == "protection" and shown["hold"]["active"] is True
        # the workflow itself survived the restart: it takes a command and answers
        contact = again.mvp("officer", "contact", case_id, "--result", "reached", "--json", actor=officer)
        assert json.loads(contact.stdout)["view"]["contact_overdue"] is False
        # the first run's worker signed a checkpoint outside the database, with a key only it can read
        verified = again.mvp("audit", "verify", actor="auditor:AUD-1")
        assert "signature verified" in verified.stdout and case_id in verified.stdout
        assert (again.data_dir / "checkpoint-signing.key").stat().st_mode & 0o777 == 0o600
        assert again.stop(signal.SIGINT) == 0
