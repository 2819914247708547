"""Keys and data belong together (issue 8 item 7): keys are never made afresh where data exists, the database
keeps a fingerprint of the keys its data was sealed and keyed with, and the worker and every command refuse
to run with others; a rotated key file is picked up by a running worker."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.api.common.v1 import Payload
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from devstack.stack import run_stack
from infra.codec import EncryptionCodec
from infra.errors import KeysMismatch, Refused
from infra.keyguard import check_keyring, check_keys, checked_keys, worker_keys
from infra.keys import Keyring, Keys, ensure_development_keys, fingerprint, rotate_key_file
from infra.settings import Settings
from worker import serve

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def some_keys() -> Keys:
    return Keys(
        keyring=Keyring(current_id="k1", keys={"k1": secrets.token_bytes(32)}),
        identity_key=secrets.token_bytes(32),
        codec_token=None,
    )


def file_settings(data_dir: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings that take the keys from <data_dir>/keys.json, as the development stack's do."""
    for name in ("MVP_ENCRYPTION_KEYS", "MVP_IDENTITY_KEY", "MVP_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    return Settings(env="test", data_dir=data_dir, database_url=database_url)


# --- the stack never makes keys where data exists ---


@pytest.mark.parametrize("store", ["postgres/PG_VERSION", "temporal.sqlite"])
def test_no_keys_are_written_where_a_store_already_holds_data(tmp_path: Path, store: str) -> None:
    (tmp_path / store).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / store).write_text("data sealed with keys that are now missing")
    with pytest.raises(Refused, match="already holds data .* but there is no key file"):
        ensure_development_keys(tmp_path / "keys.json")
    assert not (tmp_path / "keys.json").exists()


def test_a_fresh_data_folder_gets_keys_readable_by_its_owner_only(tmp_path: Path) -> None:
    assert ensure_development_keys(tmp_path / "keys.json")
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600
    assert not ensure_development_keys(tmp_path / "keys.json")  # written once


def test_the_stack_refuses_to_start_when_its_key_file_was_moved_aside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make run` with .data/keys.json moved aside: a sentence and a non-zero exit, no new keys."""
    (tmp_path / "postgres").mkdir()
    (tmp_path / "postgres" / "PG_VERSION").write_text("16\n")
    (tmp_path / "temporal.sqlite").write_bytes(b"SQLite format 3\x00")

    code = run_stack(Settings(env="development", data_dir=tmp_path))

    assert code == Refused.exit_code
    err = " ".join(capsys.readouterr().err.split())
    assert "there is no key file" in err and "Nothing was started" in err
    assert "Traceback" not in err
    assert not (tmp_path / "keys.json").exists()


# --- the database keeps fingerprints ---


def test_a_fingerprint_tells_keys_apart_and_is_not_the_key() -> None:
    key = secrets.token_bytes(32)
    assert fingerprint(key) == fingerprint(key)
    assert fingerprint(key) != fingerprint(secrets.token_bytes(32))
    assert key.hex() not in fingerprint(key) and base64.b64encode(key).decode() not in fingerprint(key)


def test_the_first_keys_are_recorded_and_another_identity_key_is_refused(engine: Engine) -> None:
    first = some_keys()
    check_keys(engine, first)
    check_keys(engine, first)  # the same keys again: fine

    other_identity = Keys(keyring=first.keyring, identity_key=secrets.token_bytes(32), codec_token=None)
    with pytest.raises(KeysMismatch, match="identity key is not the one"):
        check_keys(engine, other_identity)


def test_a_rotation_is_recorded_and_a_keyring_that_lost_a_seen_key_is_refused(engine: Engine) -> None:
    first = some_keys()
    check_keys(engine, first)
    rotated = Keyring(current_id="k2", keys={"k2": secrets.token_bytes(32), **first.keyring.keys})
    check_keyring(engine, rotated)  # a new key id: a rotation, recorded

    only_new = Keyring(current_id="k2", keys={"k2": rotated.keys["k2"]})
    with pytest.raises(KeysMismatch, match=r"lacks key\(s\) k1"):
        check_keyring(engine, only_new)
    swapped = Keyring(current_id="k1", keys={"k1": secrets.token_bytes(32), "k2": rotated.keys["k2"]})
    with pytest.raises(KeysMismatch, match=r"key\(s\) k1 differ"):
        check_keyring(engine, swapped)


async def test_the_worker_refuses_to_run_with_keys_that_do_not_match(
    engine: Engine, settings: Settings
) -> None:
    check_keys(engine, some_keys())  # the database's data belongs to other keys

    with pytest.raises(KeysMismatch, match="do not match the database"):
        await asyncio.wait_for(serve(settings, asyncio.Event()), timeout=30)


async def test_the_api_refuses_to_start_with_keys_that_do_not_match_the_database(
    engine: Engine, settings: Settings, temporal_env: WorkflowEnvironment
) -> None:
    """The keys were replaced by fresh ones: the API (which keys every referral and check) does not start
    with keys that would miss every existing case and hold; it says why."""
    check_keys(engine, some_keys())
    served = settings.model_copy(
        update={"temporal_address": temporal_env.client.service_client.config.target_host}
    )
    app = create_app(served)

    with pytest.raises(KeysMismatch, match="These keys do not match the database"):
        async with app.router.lifespan_context(app):
            pass


# --- rotation ---


def test_rotate_keeps_old_keys_and_writes_the_file_at_0600_in_one_step(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    ensure_development_keys(path)
    before = json.loads(path.read_text())

    new_id = rotate_key_file(path)

    after = json.loads(path.read_text())
    assert after["current"] == new_id and new_id not in before["keys"]
    assert before["keys"].items() <= after["keys"].items()
    assert after["identity_key"] == before["identity_key"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.json"]  # no temporary file left


async def test_a_running_worker_opens_payloads_sealed_with_a_key_rotated_in_after_it_started(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mvp keys rotate` while the worker runs: a command seals with the new key, and the worker's codec
    opens it without a restart (and records nothing the database would refuse)."""
    settings = file_settings(tmp_path, database_url, monkeypatch)
    ensure_development_keys(settings.resolved_key_file)
    running = worker_keys(settings, engine)
    old_id = running.keyring.current_id

    new_id = rotate_key_file(settings.resolved_key_file)
    command = checked_keys(settings)  # the next command after the rotation
    sent = await EncryptionCodec(command.keyring).encode([Payload(data=b'"a command"')])
    assert sent[0].metadata["encryption-key-id"] == new_id.encode()

    received = await EncryptionCodec(running.keyring).decode(sent)

    assert received[0].data == b'"a command"'
    assert running.keyring.current_id == new_id  # and the worker seals with the new key from now on
    assert old_id in running.keyring.keys
    checked_keys(settings)  # the database accepts the rotated keyring
