"""The case record is append-only and tamper-evident."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import text
from sqlmodel import Session

from cli import run
from tests.conftest import Running
from tests.support.inprocess import point_cli_at
from tests.support.intake import OFFICER, open_case
from usecases import cases
from usecases.audit import verify


async def test_postgres_refuses_to_update_or_delete_a_record_entry(running: Running) -> None:
    case_id = await open_case(running)
    for statement in (
        "UPDATE case_record SET summary = 'nothing happened' WHERE case_id = :c AND seq = 1",
        "DELETE FROM case_record WHERE case_id = :c",
        "TRUNCATE case_record",
    ):
        with (
            Session(running.engine) as session,
            pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"),
        ):
            session.execute(text(statement), {"c": case_id})
    assert verify(running.engine, case_id)[0].intact


async def test_an_entry_altered_directly_in_postgres_is_named_by_audit_verify(
    running: Running,
    api: str,
    issuer: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    case_id = await open_case(running)
    intact = verify(running.engine, case_id)[0]
    assert intact.intact and intact.entries >= 4

    # someone with the database owner's rights switches the trigger off and rewrites history
    with Session(running.engine) as session, session.begin():
        session.execute(text("ALTER TABLE case_record DISABLE TRIGGER case_record_append_only"))
        session.execute(
            text("UPDATE case_record SET shared_with = 'nobody' WHERE case_id = :c AND seq = 2"),
            {"c": case_id},
        )
        session.execute(text("ALTER TABLE case_record ENABLE TRIGGER case_record_append_only"))

    report = verify(running.engine, case_id)[0]
    assert (report.intact, report.first_broken) == (False, 2)

    point_cli_at(monkeypatch, api, issuer, running.settings.data_dir, actor="supervisor:SUP-7")
    assert run(["audit", "verify", case_id]) == 6
    printed = capsys.readouterr()
    assert f"{case_id}: entry 2 was altered" in printed.err
    assert run(["audit", "verify"]) == 6


async def test_a_removed_entry_is_named(running: Running) -> None:
    case_id = await open_case(running)
    with Session(running.engine) as session, session.begin():
        session.execute(text("ALTER TABLE case_record DISABLE TRIGGER case_record_append_only"))
        session.execute(text("DELETE FROM case_record WHERE case_id = :c AND seq = 3"), {"c": case_id})
        session.execute(text("ALTER TABLE case_record ENABLE TRIGGER case_record_append_only"))
    report = verify(running.engine, case_id)[0]
    assert report.first_broken == 3 and "missing" in (report.problem or "")


def test_keys_rotate_adds_a_current_key_and_keeps_the_old(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from infra.keys import ensure_development_keys, load_keys
    from infra.settings import Settings

    key_file = tmp_path / "keys.json"
    assert ensure_development_keys(key_file)
    before = load_keys(Settings(data_dir=tmp_path, env="development"))
    sealed = before.keyring.seal_text("kept under the old key")
    monkeypatch.setenv("MVP_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MVP_ENCRYPTION_KEYS", raising=False)
    assert run(["keys", "rotate"]) == 0
    after = load_keys(Settings(data_dir=tmp_path, env="development"))
    assert after.keyring.current_id != before.keyring.current_id
    assert set(before.keyring.keys) < set(after.keyring.keys)
    assert after.keyring.open_text(sealed) == "kept under the old key"
    assert after.identity_key == before.identity_key  # case ids must not change
    assert (key_file.stat().st_mode & 0o777) == 0o600
    assert json.loads(key_file.read_text())["current"] == after.keyring.current_id


def test_production_refuses_to_run_without_its_keys(tmp_path: Path) -> None:
    from infra.errors import Unavailable
    from infra.keys import ensure_development_keys, load_keys
    from infra.settings import Settings

    ensure_development_keys(tmp_path / "keys.json")  # a development key file lying about is not enough
    production = Settings(
        data_dir=tmp_path,
        env="production",
        notify_channel="http",
        notify_url="https://notify.example.gov.uk",
        notify_api_key="k-" + "7f3a9c1e5b2d8a40" * 2,
        notify_templates=tmp_path / "templates.json",
        contact_team_phone="0300 123 0000",
        contact_team_email="nccu-team@homeoffice.gov.uk",
    )
    with pytest.raises(Unavailable, match="Production needs its keys"):
        load_keys(production)


def test_production_refuses_the_development_mailbox_and_placeholder_secrets(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from infra.settings import Settings

    with pytest.raises(ValidationError, match="Notify-style API"):
        Settings(data_dir=tmp_path, env="production")
    notify: dict[str, Any] = {
        "notify_channel": "http",
        "notify_url": "https://notify.example.gov.uk",
        "notify_templates": tmp_path / "templates.json",
    }
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(data_dir=tmp_path, env="production", notify_api_key="changeme", **notify)
    key = "k-" + "7f3a9c1e5b2d8a40" * 2
    with pytest.raises(ValidationError, match="MVP_CONTACT_TEAM_PHONE"):  # the fictional development contact
        Settings(data_dir=tmp_path, env="production", notify_api_key=key, **notify)
    contact: dict[str, Any] = {
        "contact_team_phone": "0300 123 0000",
        "contact_team_email": "nccu-team@homeoffice.gov.uk",
    }
    real = Settings(data_dir=tmp_path, env="production", notify_api_key=key, **notify, **contact)
    assert real.notify_channel == "http"


async def test_a_note_removed_or_swapped_in_postgres_is_named_by_audit_verify(running: Running) -> None:
    from models.case import ContactRecord, ContactResult

    case_id = await open_case(running)
    for note in ("First visit: seen with the refuge worker", "Second call: prefers afternoons"):
        await cases.send(
            running.client, case_id, ContactRecord(actor=OFFICER, result=ContactResult.reached, note=note)
        )
    assert verify(running.engine, case_id)[0].intact

    with Session(running.engine) as session, session.begin():
        notes = session.execute(
            text("SELECT seq, note_sealed FROM case_notes WHERE case_id = :c ORDER BY seq"), {"c": case_id}
        ).all()
        first, second = notes[-2:]  # the two contacts' notes (screening keeps its detail in a note too)
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="never rewritten"), session.begin_nested():
            session.execute(
                text("UPDATE case_notes SET note_sealed = 'x' WHERE case_id = :c"), {"c": case_id}
            )
        # swap: move the second note onto the first entry
        session.execute(
            text("DELETE FROM case_notes WHERE case_id = :c AND seq IN (:a, :b)"),
            {"c": case_id, "a": first.seq, "b": second.seq},
        )
        session.execute(
            text("INSERT INTO case_notes (case_id, seq, note_sealed) VALUES (:c, :s, :n)"),
            {"c": case_id, "s": first.seq, "n": second.note_sealed},
        )
    report = verify(running.engine, case_id)[0]
    assert (report.first_broken, report.problem) == (first.seq, f"the note of entry {first.seq} was replaced")
    # and a sealed note cannot even be opened away from its own entry
    with pytest.raises(Exception):  # noqa: B017 (AES-GCM says only that it failed)
        running.keys.sealer.open_text(case_id, second.note_sealed, f"{case_id}:{first.seq}")
