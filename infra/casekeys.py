"""Case data keys (crypto-shredding): each case's personal data is encrypted under its own data key, and
purging the case destroys that key, so every copy of the data anywhere (all Temporal runs, archived
histories, database dumps and WAL, backups) becomes unreadable at once.

Envelope encryption: a data key is a random AES-256 key, kept wrapped (AES-GCM, associated data = the case
id) by the keyring's current key. `CaseKeys` is the interface a KMS or Vault implements in production (one
key per case, deleted on purge: `destroy`); `FileCaseKeys` is the development store, one file per case in a
folder (`MVP_CASE_KEY_DIR`, default `<data dir>/case-keys/`).

**The key store is not in the database, and must not be backed up with it.** A database dump taken before a
purge holds the sealed referral and notes but not the data key; a copy of the key store taken before the
purge (with the keyring) would open it again. A file deleted on a disk may also survive in its blocks: the
development store overwrites a key before removing it, but only a KMS with key deletion is the production
answer.

Sealed values name their key: a column value is `case:<case id>:<base64>`, a Temporal payload carries
`case:<case id>` as its key id, so they open without knowing where they came from. Values sealed with the
keyring alone (before this, and for data that is not one case's) still open.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import threading
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from infra.errors import CaseKeyDestroyed, SealedElsewhere, Unavailable
from infra.keys import NONCE_BYTES, Keyring
from infra.settings import Settings

# A case id (protocol/case_ids.py): `MVP-` and ten Crockford base32 characters in two groups.
CASE_ID = re.compile(r"MVP-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}")
PREFIX = "case:"


def is_case_id(value: str | None) -> bool:
    return value is not None and CASE_ID.fullmatch(value) is not None


def case_key_id(case_id: str) -> str:
    """The key id a payload or column sealed under a case's data key carries."""
    return PREFIX + case_id


def case_of_key_id(key_id: str) -> str | None:
    """The case a key id names, or None for a keyring key."""
    if key_id.startswith(PREFIX) and is_case_id(key_id[len(PREFIX) :]):
        return key_id[len(PREFIX) :]
    return None


class CaseKeys(Protocol):
    """Where case data keys live. A KMS or Vault implements this in production."""

    def data_key(self, case_id: str) -> bytes:
        """The case's data key, created on first use. Refuses (CaseKeyDestroyed) once it was destroyed."""
        ...

    def existing_key(self, case_id: str) -> bytes:
        """The case's data key; never creates one. Refuses (CaseKeyDestroyed) when there is none."""
        ...

    def destroy(self, case_id: str) -> bool:
        """Destroy the case's data key for good (purge). True when there was one to destroy."""
        ...

    def exists(self, case_id: str) -> bool: ...


def _missing(case_id: str) -> CaseKeyDestroyed:
    return CaseKeyDestroyed(
        f"Case {case_id} has no data key: it was destroyed when the case's personal data was purged (or "
        "the case key store is not this service's). Its personal data cannot be read."
    )


class FileCaseKeys:
    """Development case key store: `<folder>/<case id>.json` (folder 0700, files 0600, written atomically
    with O_EXCL), each holding the data key wrapped by the keyring. A destroyed key leaves a tombstone, so a
    late write for a purged case cannot quietly make it a new key.

    Written by hand rather than with a library: the development stand-in for a KMS is a dozen lines over
    `cryptography`'s AES-GCM, and a KMS client is what production uses instead."""

    def __init__(self, folder: Path, keyring: Keyring) -> None:
        self.folder = folder
        self.keyring = keyring
        self._lock = threading.Lock()

    def _path(self, case_id: str) -> Path:
        if not is_case_id(case_id):
            raise ValueError("a case data key needs a case id (MVP-XXXXX-XXXXX)")
        return self.folder / f"{case_id}.json"

    def _read(self, case_id: str) -> dict[str, str] | None:
        try:
            content: dict[str, str] = json.loads(self._path(case_id).read_text())
        except FileNotFoundError:
            return None
        return content

    def _unwrap(self, case_id: str, content: dict[str, str]) -> bytes:
        if "wrapped" not in content:
            raise _missing(case_id)
        try:
            return self.keyring.open(
                content["key_id"], base64.b64decode(content["wrapped"]), case_id.encode()
            )
        except InvalidTag:
            raise Unavailable(
                f"The data key of case {case_id} does not open under the keyring: the case key store or "
                "the key file is not this service's. Restore the matching pair."
            ) from None

    def existing_key(self, case_id: str) -> bytes:
        content = self._read(case_id)
        if content is None:
            raise _missing(case_id)
        return self._unwrap(case_id, content)

    def exists(self, case_id: str) -> bool:
        content = self._read(case_id)
        return content is not None and "wrapped" in content

    def data_key(self, case_id: str) -> bytes:
        content = self._read(case_id)
        if content is None:
            with self._lock:
                content = self._create(case_id)
        return self._unwrap(case_id, content)

    def _create(self, case_id: str) -> dict[str, str]:
        """Write a new wrapped key unless another process got there first (then theirs is the key)."""
        key_id, wrapped = self.keyring.seal(AESGCM.generate_key(bit_length=256), case_id.encode())
        content = {"case_id": case_id, "key_id": key_id, "wrapped": base64.b64encode(wrapped).decode()}
        self._ensure_folder()
        try:
            _publish(self._path(case_id), json.dumps(content), replace=False)
        except FileExistsError:
            existing = self._read(case_id)
            if existing is None:  # pragma: no cover - created and destroyed in between
                raise _missing(case_id) from None
            return existing
        return content

    def destroy(self, case_id: str) -> bool:
        path = self._path(case_id)
        with self._lock:
            had_key = self.exists(case_id)
            if path.exists():
                # best effort against the old blocks on this disk; a KMS deletion is the real answer
                size = path.stat().st_size
                with open(path, "r+b") as handle:
                    handle.write(secrets.token_bytes(size))
                    handle.flush()
                    os.fsync(handle.fileno())
            self._ensure_folder()
            _publish(path, json.dumps({"case_id": case_id, "destroyed": True}), replace=True)
        return had_key

    def _ensure_folder(self) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.folder.chmod(0o700)


def _publish(path: Path, text: str, *, replace: bool) -> None:
    """Write `path` whole or not at all, readable by its owner only: a temporary file made with O_EXCL at
    0600, then linked into place (fails if `path` exists) or renamed over it."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            tmp.replace(path)
        else:
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def case_key_store(settings: Settings, keyring: Keyring) -> CaseKeys:
    """The case key store the settings name (the file store; a KMS-backed one goes here)."""
    return FileCaseKeys(settings.resolved_case_key_dir, keyring)


def is_case_sealed(value: str) -> bool:
    """Whether a sealed column value is sealed under a case's own data key (and so bound to its case)."""
    return value.startswith(PREFIX)


class CaseSealer:
    """Seals a case's database columns under its data key, and opens what the keyring or a case key
    sealed. `bound_to` (e.g. `case:seq`) is authenticated with the value as before."""

    def __init__(self, keyring: Keyring, case_keys: CaseKeys | None) -> None:
        self.keyring = keyring
        self.case_keys = case_keys

    def seal_text(self, case_id: str, text: str, bound_to: str = "") -> str:
        if self.case_keys is None or not is_case_id(case_id):  # a keyring alone (no key store, or no case)
            return self.keyring.seal_text(text, bound_to)
        key = self.case_keys.data_key(case_id)
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + AESGCM(key).encrypt(nonce, text.encode(), bound_to.encode())
        return f"{case_key_id(case_id)}:{base64.b64encode(sealed).decode()}"

    def open_text(self, case_id: str, value: str, bound_to: str = "") -> str:
        """Open a column of case `case_id`. A value sealed under another case's key is refused: a sealed
        referral or note moved to another case's row does not open there."""
        head, _, rest = value.partition(":")
        if head + ":" != PREFIX:
            return self.keyring.open_text(value, bound_to)
        owner, _, data = rest.partition(":")
        if owner != case_id:
            raise SealedElsewhere(
                f"The record of case {case_id} does not verify: a sealed value in its rows belongs to another "
                "case (it was moved in the database) and is not opened. Run `mvp audit verify` and tell the "
                "data protection officer."
            )
        if self.case_keys is None:
            raise Unavailable(
                f"Case {case_id}'s data is sealed under its data key and no case key store is set."
            )
        key = self.case_keys.existing_key(case_id)
        sealed = base64.b64decode(data)
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], bound_to.encode()).decode()
