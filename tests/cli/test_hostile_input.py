"""Hostile input through `mvp` (issue 8, "Hostile input is refused, never echoed"): limits and bad files exit 2
with a sentence before anything is sent, and outside text is shown as text by `case show` and `cases list`."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer.main
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from cli.app import app as cli_app
from infra.chain import note_binding, referral_binding
from infra.keys import Keys
from infra.settings import Settings
from models.documents import MAX_DOCUMENT_BYTES
from models.tables import CaseRow, NoteRow, RecordRow
from tests.support.boundary import ACTORS
from tests.support.cli import MVP
from tests.support.hostile import bodies, hostile_text
from tests.support.inprocess import Ran, mvp, point_cli_at
from tests.support.worker_process import worker_process

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CASE = "MVP-ABCDE-12345"
NOW = datetime.now(UTC).replace(microsecond=0)
HOSTILE_NOTE = (
    "closing [/] then [red]x[/red] then \x1b[31mANSI\x1b[0m then \u202eevil then [link=http://x]y[/link]"
)


@pytest.fixture
def officer(monkeypatch: pytest.MonkeyPatch, api: str, issuer: str, tmp_path: Path) -> None:
    """An officer's terminal. The commands below are refused by the CLI or by the API's validation: no case
    exists, and nothing reaches a workflow."""
    point_cli_at(monkeypatch, api, issuer, tmp_path, actor="officer:NCCU-0042")


# --- limits: exit 2 before anything is sent ---


@pytest.mark.usefixtures("officer")
def test_route_days_that_would_overflow_a_date_exit_2_with_a_sentence(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ran = mvp(capsys, "officer", "route", CASE, "--route", "domestic_abuse_concession", "--days", "99999999")
    assert ran.code == 2
    assert "days: must be 3650 or less" in ran.err and "Traceback" not in ran.err


@pytest.mark.usefixtures("officer")
def test_an_overlong_note_exits_2_with_a_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    ran = mvp(capsys, "officer", "contact", CASE, "--result", "reached", "--note", "x" * 5000)
    assert ran.code == 2
    assert "note: must be at most 4000 characters" in ran.err and "x" * 100 not in ran.err


@pytest.mark.usefixtures("officer")
def test_an_actor_id_with_markup_exits_2_without_echoing_it(capsys: pytest.CaptureFixture[str]) -> None:
    ran = mvp(capsys, "officer", "departure", CASE, "--as", "officer:[red]x[/red]")
    assert ran.code == 2
    assert "--as was refused" in ran.err and "letters, digits" in ran.err
    assert "[red]" not in ran.err and "Traceback" not in ran.err


# --- files: one sentence, exit 2 ---


def _files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    binary = tmp_path / "photo.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes('{"family_name": "Novák"}'.encode("latin-1"))
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps({"notes": "x" * (MAX_DOCUMENT_BYTES + 10)}))
    return {
        "directory": (folder, "is a folder, not a file"),
        "binary": (binary, "is a binary file, not a JSON document"),
        "non-UTF-8": (latin1, "is not UTF-8 text"),
        "deep nesting": (deep, "nests lists or objects more than 32 deep"),
        "huge": (huge, "is larger than 1024 KiB"),
    }


@pytest.mark.usefixtures("officer")
@pytest.mark.parametrize("command", [["referral", "start"], ["records", "load"]])
@pytest.mark.parametrize("kind", ["directory", "binary", "non-UTF-8", "deep nesting", "huge"])
def test_a_file_that_is_not_a_small_json_text_exits_2_with_one_sentence(
    command: list[str], kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, sentence = _files(tmp_path)[kind]
    ran = mvp(capsys, *command, str(path))
    assert ran.code == 2
    assert ran.err.strip().startswith(f"{path} {sentence}")
    assert len(ran.err.strip().splitlines()) == 1 and "Traceback" not in ran.err


@pytest.mark.usefixtures("officer")
@pytest.mark.parametrize("body", [b"1e310", b"NaN", b'{"a": -Infinity}', b"1" * 200])
def test_a_number_json_cannot_carry_exits_2_with_a_sentence(
    body: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by the file fuzz below: `1e310` (infinity to Python) once crashed the CLI as it sent the referral."""
    path = tmp_path / "referral.json"
    path.write_bytes(body)
    ran = mvp(capsys, "referral", "start", str(path))
    assert ran.code == 2
    assert ran.err.strip().startswith(str(path)) and "number" in ran.err and "Traceback" not in ran.err


@pytest.mark.usefixtures("officer")
@pytest.mark.parametrize("typed", ["\x1b", "../../records", "MVP-ABCDE-12345/departure?x=1#y", " ", ""])
def test_a_case_id_with_controls_or_slashes_is_sent_as_text_and_refused_with_a_sentence(
    typed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by the option fuzz below: a control character in a case id once exited 1 with a traceback, and an
    empty one exited 1 on the API's redirect."""
    ran = mvp(capsys, "officer", "departure", typed)
    assert ran.code in (2, 4), ran.err
    assert ran.err.strip() and "Traceback" not in ran.err


# --- outside text is shown as text ---


@pytest.fixture
def hostile_case(
    engine: Engine, keys: Keys, api: str, issuer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A case whose stored text carries markup, an ANSI escape and a bidi override (as rows written before
    intake refused them could), sealed with the API's keys."""
    point_cli_at(monkeypatch, api, issuer, tmp_path)
    referral = json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text())
    referral["person"]["family_name"] = "Rahman [/] [bold]\x1b[5m\u202e"
    referral["person"]["location"] = "[link=http://evil.example]refuge[/link]"
    with Session(engine) as session, session.begin():
        session.add(
            CaseRow(
                case_id=CASE,
                revision=1,
                policy_version="2026.1",
                phase="protection",
                hold_active=True,
                hold_grounds=["investigation_live"],
                force_code="[/]",
                crime_type="domestic_abuse",
                role="victim",
                referral_channel="phone",
                status_at_referral="no_status",
                referred_at=NOW - timedelta(days=3),
                opened_at=NOW - timedelta(days=3),
                next_contact_due=NOW + timedelta(days=20),
                updated_at=NOW,
                view={},
                referral_sealed=keys.keyring.seal_text(json.dumps(referral), referral_binding(CASE)),
            )
        )
        session.add(
            RecordRow(
                case_id=CASE,
                seq=1,
                at=NOW,
                actor="officer:[red]NCCU[/red]",
                action="contact",
                summary="reached [/]",
                prev_hash="0" * 64,
                entry_hash="1" * 64,
            )
        )
        session.add(
            NoteRow(
                case_id=CASE, seq=1, note_sealed=keys.keyring.seal_text(HOSTILE_NOTE, note_binding(CASE, 1))
            )
        )


@pytest.mark.usefixtures("hostile_case")
def test_case_show_prints_markup_escapes_and_bidi_literally_without_crashing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ran = mvp(capsys, "case", "show", CASE)
    assert ran.code == 0, ran.err
    for literal in (
        "[/]",
        "[red]x[/red]",
        "[link=http://x]y[/link]",
        "officer:[red]NCCU[/red]",
        "Rahman [/] [bold]",
    ):
        assert literal in ran.out
    assert "[link=http://evil.example]refuge[/link]" in ran.out
    assert "\x1b" not in ran.out and "\u202e" not in ran.out
    assert "ANSI" in ran.out and "evil" in ran.out  # the text stays; only the controls go


@pytest.mark.usefixtures("hostile_case")
def test_cases_list_prints_a_markup_force_code_literally_without_crashing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ran = mvp(capsys, "cases", "list")
    assert ran.code == 0, ran.err
    assert CASE in ran.out and "[/]" in ran.out


# --- property tests (hypothesis): hostile files and hostile options, never a traceback ---

FUZZ = hypothesis_settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
OPTION_EXAMPLES = 80
# Server-side operations that start long-running servers, wait on a person (login's device grant) or change
# the keys or the schema: not reachable by a caller's typing, and not part of the API's boundary.
NOT_FUZZED = {("login",), ("worker",), ("api",), ("stack", "run"), ("keys", "rotate"), ("db", "migrate")}
CLI_EXITS = (0, 2, 3, 4, 5)


def _case_rows(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(CaseRow)).scalar_one())


def _assert_a_sentence_not_a_traceback(ran: Ran, allowed: tuple[int, ...]) -> None:
    """Exit 0 or one of the README's codes, and a refusal says why in words; never a traceback."""
    assert "Traceback" not in ran.out + ran.err and 'File "' not in ran.err, ran.err[-2000:]
    assert ran.code in allowed, (ran.code, ran.err[-500:])
    if ran.code != 0:
        assert re.search(r"[A-Za-z]{3,}", ran.err), f"exit {ran.code} with no sentence: {ran.err!r}"


def _fuzz_file(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    valid: object,
    command: list[str],
    after: Callable[[Ran], None],
) -> None:
    @FUZZ
    @given(body=bodies(valid))
    def run(body: bytes) -> None:
        path = tmp_path / "fuzzed.json"
        path.write_bytes(body)
        after(mvp(capsys, *command, str(path)))

    run()


def test_hostile_referral_files_are_refused_with_problems_named_or_start_a_case_and_never_half_write(
    settings: Settings,
    engine: Engine,
    api: str,
    issuer: str,
    temporal_env: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_cli_at(monkeypatch, api, issuer, tmp_path, actor="officer:NCCU-0042")
    valid = json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text())
    started: set[str] = set()

    def after(ran: Ran) -> None:
        _assert_a_sentence_not_a_traceback(ran, (0, 2, 3))
        if ran.code == 0:
            started.update(re.findall(r"MVP-[0-9A-Z]{5}-[0-9A-Z]{5}", ran.out)[:1])
        else:
            assert _case_rows(engine) <= len(started), "a refused referral left a case row"
        if ran.code == 2 and "problem(s)" in ran.err:
            assert re.search(r"^\s+- .*\S", ran.err, re.MULTILINE), "a refusal that names no problem"

    address = temporal_env.client.service_client.config.target_host
    with worker_process(settings, address, tmp_path / "worker.log"):
        _fuzz_file(capsys, tmp_path, valid, ["referral", "start"], after)
    assert _case_rows(engine) == len(started)


def test_hostile_records_files_are_refused_with_problems_named_or_loaded(
    api: str, issuer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_cli_at(monkeypatch, api, issuer, tmp_path, actor="records_admin:HO-DATA-1")
    valid = json.loads((EXAMPLES / "records.json").read_text())
    _fuzz_file(
        capsys,
        tmp_path,
        valid,
        ["records", "load"],
        lambda ran: _assert_a_sentence_not_a_traceback(ran, (0, 2)),
    )


def _commands() -> list[tuple[tuple[str, ...], Any]]:
    """Every leaf command of the `mvp` tree, with its click command (its parameters)."""
    found: list[tuple[tuple[str, ...], Any]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, (*path, name))
        elif path not in NOT_FUZZED:
            found.append((path, command))

    walk(typer.main.get_command(cli_app), ())
    return found


ACTOR_VALUES = st.sampled_from(list(ACTORS.values())) | hostile_text.filter(lambda t: "\x00" not in t)


@st.composite
def argvs(draw: st.DrawFn, case_id: str) -> list[str]:
    """A command of the tree with hostile values for its arguments and any of its options."""
    path, command = draw(st.sampled_from(_commands()))
    argv = list(path)
    text = hostile_text.filter(lambda t: "\x00" not in t) | st.just(case_id) | st.just("2026-11-30")
    for param in command.params:
        if param.name == "help":
            continue
        if not param.opts[0].startswith("-"):  # an argument: a case id, a task id or a path
            argv.append(draw(text))
        elif param.opts[0] == "--as":
            if draw(st.booleans()):
                argv += ["--as", draw(ACTOR_VALUES)]
        elif getattr(param, "is_flag", False):
            if draw(st.booleans()):
                argv.append(param.opts[0])
        elif param.required or draw(st.booleans()):
            for _ in range(draw(st.integers(1, 2)) if getattr(param, "multiple", False) else 1):
                argv += [param.opts[0], draw(text)]
    return argv


def test_every_command_with_hostile_options_exits_with_a_code_and_a_sentence_never_a_traceback(
    settings: Settings,
    api: str,
    issuer: str,
    temporal_env: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Generated argv for every command of the tree (in this process, against a real API and a worker with one
    open case to aim at), then a few of them again as `mvp` processes, as typed in a terminal."""
    point_cli_at(monkeypatch, api, issuer, tmp_path, actor="officer:NCCU-0042")
    address = temporal_env.client.service_client.config.target_host
    seen: list[list[str]] = []
    with worker_process(settings, address, tmp_path / "worker.log"):
        started = mvp(capsys, "referral", "start", str(EXAMPLES / "referral-domestic-abuse.json"), "--json")
        assert started.code == 0, started.err
        case_id = str(json.loads(started.out)["case_id"])

        @hypothesis_settings(
            max_examples=OPTION_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(argv=argvs(case_id))
        def run(argv: list[str]) -> None:
            seen.append(argv)
            _assert_a_sentence_not_a_traceback(mvp(capsys, *argv), CLI_EXITS)

        run()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MVP_")},
            "MVP_API_URL": api,
            "MVP_ISSUER_URL": issuer,
            "MVP_DATA_DIR": str(tmp_path),
            "MVP_ENV": "test",
            "MVP_ACTOR": "officer:NCCU-0042",
        }
        for argv in seen[-3:]:
            done = subprocess.run([MVP, *argv], env=env, capture_output=True, text=True, timeout=60)
            _assert_a_sentence_not_a_traceback(Ran(done.returncode, done.stdout, done.stderr), CLI_EXITS)
    assert len({tuple(a[:2]) for a in seen}) >= len(_commands()) // 2, "the fuzz reached few of the commands"
