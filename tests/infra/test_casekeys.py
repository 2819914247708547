"""Case data keys (crypto-shredding): one key per case, wrapped by the keyring, kept outside the database,
and destroyed on purge. No server needed: the key store is files."""

from __future__ import annotations

import secrets
import stat
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import ActivitySerializationContext, WorkflowSerializationContext

from infra.casekeys import CaseSealer, FileCaseKeys
from infra.codec import KEY_ID, EncryptionCodec, PayloadRefused
from infra.errors import CaseKeyDestroyed, SealedElsewhere, Unavailable
from infra.keys import Keyring

CASE = "MVP-7K3QX-2M9RB"
OTHER = "MVP-ABCDE-FGHJK"


def keyring() -> Keyring:
    return Keyring(current_id="k1", keys={"k1": secrets.token_bytes(32)})


@pytest.fixture
def store(tmp_path: Path) -> FileCaseKeys:
    return FileCaseKeys(tmp_path / "case-keys", keyring())


def test_a_case_data_key_is_created_once_and_reused(store: FileCaseKeys) -> None:
    assert not store.exists(CASE)
    first = store.data_key(CASE)
    assert store.exists(CASE)
    assert store.data_key(CASE) == first
    assert FileCaseKeys(store.folder, store.keyring).data_key(CASE) == first  # another process reads it
    assert len(first) == 32


def test_the_key_store_is_private_and_holds_only_wrapped_keys(store: FileCaseKeys) -> None:
    key = store.data_key(CASE)
    path = store.folder / f"{CASE}.json"
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key not in path.read_bytes()
    assert [p.name for p in store.folder.iterdir()] == [path.name]  # no temporary file left behind


def test_two_cases_have_different_keys(store: FileCaseKeys) -> None:
    assert store.data_key(CASE) != store.data_key(OTHER)


def test_a_wrapped_key_does_not_open_under_another_keyring(store: FileCaseKeys) -> None:
    store.data_key(CASE)
    with pytest.raises(Unavailable, match="does not open under the keyring"):
        FileCaseKeys(store.folder, keyring()).existing_key(CASE)


def test_a_missing_key_is_refused_with_a_sentence(store: FileCaseKeys) -> None:
    with pytest.raises(CaseKeyDestroyed, match=f"Case {CASE} has no data key: it was destroyed"):
        store.existing_key(CASE)


def test_a_destroyed_key_is_gone_for_good(store: FileCaseKeys) -> None:
    store.data_key(CASE)
    assert store.destroy(CASE) is True
    assert not store.exists(CASE)
    with pytest.raises(CaseKeyDestroyed):
        store.existing_key(CASE)
    with pytest.raises(CaseKeyDestroyed):  # never quietly made again for a purged case
        store.data_key(CASE)
    assert store.destroy(CASE) is False  # idempotent


def test_a_sealed_column_opens_only_in_its_own_case_and_not_after_the_key_is_destroyed(
    store: FileCaseKeys,
) -> None:
    sealer = CaseSealer(store.keyring, store)
    sealed = sealer.seal_text(CASE, "she hides in the blue flat", f"{CASE}:3")
    assert sealed.startswith(f"case:{CASE}:")
    assert "blue flat" not in sealed
    assert sealer.open_text(CASE, sealed, f"{CASE}:3") == "she hides in the blue flat"
    with pytest.raises(SealedElsewhere, match="belongs to another case"):  # swapped into another case
        sealer.open_text(OTHER, sealed, f"{CASE}:3")
    older = store.keyring.seal_text("sealed before case keys", "b")
    assert sealer.open_text(CASE, older, "b") == "sealed before case keys"
    store.destroy(CASE)
    with pytest.raises(CaseKeyDestroyed):
        sealer.open_text(CASE, sealed, f"{CASE}:3")


async def test_the_codec_seals_a_case_workflow_under_its_key_and_the_rest_with_the_keyring(
    store: FileCaseKeys,
) -> None:
    codec = EncryptionCodec(store.keyring, store)
    payload = Payload(metadata={"encoding": b"json/plain"}, data=b'"Zephyrine"')
    [case] = await codec.with_context(WorkflowSerializationContext("default", CASE)).encode([payload])
    [activity] = await codec.with_context(
        ActivitySerializationContext("default", "1", "persist", "q", OTHER, "ProtocolCase", False)
    ).encode([payload])
    [check] = await codec.with_context(WorkflowSerializationContext("default", "chk-1")).encode([payload])
    [bare] = await codec.encode([payload])
    assert case.metadata[KEY_ID] == f"case:{CASE}".encode()
    assert activity.metadata[KEY_ID] == f"case:{OTHER}".encode()
    assert check.metadata[KEY_ID] == bare.metadata[KEY_ID] == b"k1"
    # decoded by the metadata alone, with or without a context
    assert await codec.decode([case, activity, check, bare]) == [payload] * 4
    store.destroy(CASE)
    with pytest.raises(PayloadRefused, match=f"payload of case {CASE} was refused: the case's data key was"):
        await codec.decode([case])
    assert await codec.decode([activity]) == [payload]  # the other case is untouched


async def test_the_codec_still_refuses_unencrypted_payloads(store: FileCaseKeys) -> None:
    codec = EncryptionCodec(store.keyring, store).with_context(WorkflowSerializationContext("default", CASE))
    with pytest.raises(PayloadRefused, match="not encrypted"):
        await codec.decode([Payload(metadata={"encoding": b"json/plain"}, data=b'"a command"')])
