"""Hostile input through `mvp` (issue 8, "Hostile input is refused, never echoed"): limits and bad files exit 2
with a sentence before anything is sent, and outside text is shown as text by `case show` and `cases list`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from infra.chain import note_binding, referral_binding
from infra.keys import Keys
from models.documents import MAX_DOCUMENT_BYTES
from models.tables import CaseRow, NoteRow, RecordRow
from tests.support.inprocess import mvp, point_cli_at

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
