"""Signed checkpoints: the signature is checked before anything in a checkpoint is believed, checkpoints are
never overwritten, and the signing key is private from its first byte."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from infra.checkpoint import (
    CaseNow,
    Checkpoint,
    DirectoryStore,
    Head,
    compare,
    sign,
    signing_key,
)
from infra.errors import Refused, Unavailable
from infra.settings import Settings

AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CASE_A = "MVP-AAAAA-AAAAA"
CASE_B = "MVP-BBBBB-BBBBB"


def checkpoint(number: int = 1, **heads: Head) -> Checkpoint:
    return Checkpoint(
        number=number,
        at=AT,
        heads=heads or {CASE_A: Head(3, "a" * 64), CASE_B: Head(2, "b" * 64)},
        purged=frozenset(),
    )


def published(tmp_path: Path, key: Ed25519PrivateKey) -> DirectoryStore:
    store = DirectoryStore(tmp_path / "checkpoints")
    store.publish_key(key.public_key())
    return store


def test_a_signed_checkpoint_verifies_with_the_published_key(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    store = published(tmp_path, key)
    store.append(1, sign(checkpoint(), key))
    latest = store.latest()
    assert latest.status == "verified" and latest.checkpoint == checkpoint()
    assert latest.checkpoint.cases == 2 and latest.checkpoint.entries == 5
    assert (store.path(1).stat().st_mode & 0o777) == 0o600
    assert (store.directory.stat().st_mode & 0o777) == 0o700


def test_a_checkpoint_edited_after_signing_is_reported_forged(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    store = published(tmp_path, key)
    document = json.loads(sign(checkpoint(), key))
    document["checkpoint"]["heads"][CASE_A] = [2, "c" * 64]  # hide a deleted tail
    store.append(1, json.dumps(document).encode())
    latest = store.latest()
    assert latest.status == "forged" and latest.checkpoint is None
    assert "signature does not verify" in (latest.problem or "")


def test_a_checkpoint_signed_by_another_key_is_reported_forged(tmp_path: Path) -> None:
    store = published(tmp_path, Ed25519PrivateKey.generate())
    store.append(1, sign(checkpoint(), Ed25519PrivateKey.generate()))
    assert store.latest().status == "forged"


def test_removing_every_checkpoint_but_the_published_key_is_reported(tmp_path: Path) -> None:
    store = published(tmp_path, Ed25519PrivateKey.generate())
    latest = store.latest()
    assert latest.status == "forged" and "no checkpoint" in (latest.problem or "")
    assert DirectoryStore(tmp_path / "nothing-yet").latest().status == "none"


def test_a_checkpoint_is_never_overwritten(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    store = published(tmp_path, key)
    store.append(1, sign(checkpoint(), key))
    with pytest.raises(FileExistsError):
        store.append(1, sign(checkpoint(1, **{CASE_A: Head(1, "d" * 64)}), key))
    assert store.latest().checkpoint == checkpoint()
    assert [p.name for p in store.directory.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_the_development_signing_key_is_created_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    settings = Settings(env="development", data_dir=tmp_path)
    first = signing_key(settings)
    path = settings.resolved_checkpoint_key_file
    assert (path.stat().st_mode & 0o777) == 0o600
    assert signing_key(settings).public_key() == first.public_key()  # the same key again, not a new one


def test_a_new_signing_key_is_refused_where_checkpoints_already_are(tmp_path: Path) -> None:
    settings = Settings(env="development", data_dir=tmp_path)
    key = signing_key(settings)
    DirectoryStore(settings.resolved_checkpoint_dir).publish_key(key.public_key())
    settings.resolved_checkpoint_key_file.unlink()
    with pytest.raises(Refused, match="put the key that signed them back"):
        signing_key(settings)


def test_production_refuses_to_sign_without_a_configured_key(tmp_path: Path) -> None:
    production = Settings.model_construct(env="production", data_dir=tmp_path, checkpoint_key_file=None)
    with pytest.raises(Unavailable, match="MVP_CHECKPOINT_KEY_FILE"):
        signing_key(production)


def now(last_seq: int, hashes: dict[int, str], purged: bool = False, purges: tuple[int, ...] = ()) -> CaseNow:
    return CaseNow(last_seq=last_seq, hash_at=hashes, purged=purged, purge_seqs=purges)


def test_compare_accepts_entries_added_since_the_checkpoint() -> None:
    signed = checkpoint()
    assert compare(signed, {CASE_A: now(5, {3: "a" * 64}), CASE_B: now(2, {2: "b" * 64})}) == []


def test_compare_names_a_deleted_case_a_deleted_tail_and_a_rewritten_prefix() -> None:
    signed = checkpoint()
    assert [(f.case_id, f.first_broken) for f in compare(signed, {CASE_B: now(2, {2: "b" * 64})})] == [
        (CASE_A, 1)
    ]
    [tail] = compare(signed, {CASE_A: now(2, {}), CASE_B: now(2, {2: "b" * 64})})
    assert tail.first_broken == 3 and "entries 3 to 3" in tail.problem and "tail" in tail.problem
    [rewritten] = compare(signed, {CASE_A: now(4, {3: "e" * 64}), CASE_B: now(2, {2: "b" * 64})})
    assert "rewritten" in rewritten.problem and "checkpoint 1" in rewritten.problem


def test_compare_names_a_purge_that_is_neither_signed_nor_recorded_since() -> None:
    signed = checkpoint()
    by_hand = {CASE_A: now(3, {3: "a" * 64}, purged=True), CASE_B: now(2, {2: "b" * 64})}
    [finding] = compare(signed, by_hand)
    assert finding.case_id == CASE_A and "marked purged but no purge is recorded" in finding.problem
    recorded_since = {CASE_A: now(4, {3: "a" * 64}, purged=True, purges=(4,)), CASE_B: now(2, {2: "b" * 64})}
    assert compare(signed, recorded_since) == []
    # a purge entry inside the signed prefix does not cover a purge the checkpoint does not know
    old_entry = {CASE_A: now(3, {3: "a" * 64}, purged=True, purges=(2,)), CASE_B: now(2, {2: "b" * 64})}
    assert len(compare(signed, old_entry)) == 1


def test_a_removed_or_replaced_earlier_checkpoint_is_reported(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    store = published(tmp_path, key)
    store.append(1, sign(checkpoint(1), key))
    digest = store.latest().digest
    store.append(2, sign(Checkpoint(2, AT, checkpoint().heads, frozenset(), previous=digest), key))
    assert store.latest().status == "verified"

    store.path(1).unlink()
    store.append(1, sign(checkpoint(1, **{CASE_A: Head(1, "f" * 64)}), key))  # re-signed by the key holder
    replaced = store.latest()
    assert replaced.status == "forged" and "checkpoint 1 is not the one" in (replaced.problem or "")

    store.path(1).unlink()
    removed = store.latest()
    assert removed.status == "forged" and "checkpoint(s) 1 were removed" in (removed.problem or "")
