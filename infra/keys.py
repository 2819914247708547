"""Keys: the AES-256-GCM keyring that encrypts every Temporal payload and the personal data kept in
Postgres, and the identity key behind case ids and hold look-ups.

A keyring holds every key by id; new ciphertext uses the current key, old ciphertext is opened by the
id it carries, so a key can be rotated while two-year cases are still running.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from infra.errors import Refused, Unavailable
from infra.settings import Settings
from protocol import identity

if TYPE_CHECKING:
    from infra.casekeys import CaseKeys, CaseSealer

NONCE_BYTES = 12
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# What a fingerprint is derived under: HKDF with this label gives a value that identifies a key and reveals
# nothing about it (and nothing usable as the key itself, which HMACs and seals under other labels).
FINGERPRINT_INFO = b"mvp key fingerprint v1"


def fingerprint(key: bytes) -> str:
    """A value that tells keys apart and reveals nothing about the key (HKDF-SHA256, its own label)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=FINGERPRINT_INFO).derive(key).hex()


@dataclass
class Keyring:
    """Every key by id; `current_id` seals. A keyring loaded from a key file can `refresh` itself from that
    file: the worker then opens payloads sealed with a key rotated in after it started (`mvp keys rotate`),
    and seals with the new current key from then on, without a restart."""

    current_id: str
    keys: dict[str, bytes]
    refresh: Callable[[], Keyring] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.current_id not in self.keys:
            raise ValueError("the current key id is not in the keyring")
        for key_id, key in self.keys.items():
            if len(key) != 32:
                raise ValueError(f"key {key_id!r} is not 32 bytes (AES-256)")
        self._lock = threading.Lock()

    def reload(self) -> bool:
        """Take the keys the `refresh` source now holds (a key is never dropped). True when it changed."""
        if self.refresh is None:
            return False
        with self._lock:
            fresh = self.refresh()
            if fresh.current_id == self.current_id and fresh.keys.keys() <= self.keys.keys():
                return False
            # keys first: a reader of current_id must always find its key
            self.keys = {**self.keys, **fresh.keys}
            self.current_id = fresh.current_id
            return True

    def seal(self, plaintext: bytes, associated: bytes = b"") -> tuple[str, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        key_id = self.current_id
        return key_id, nonce + AESGCM(self.keys[key_id]).encrypt(nonce, plaintext, associated)

    def open(self, key_id: str, sealed: bytes, associated: bytes = b"") -> bytes:
        key = self.keys.get(key_id)
        if key is None and self.reload():
            key = self.keys.get(key_id)
        if key is None:
            raise Unavailable(f"No key with id {key_id!r} is in the keyring; add it back to read this data.")
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated)

    def fingerprints(self) -> dict[str, str]:
        return {key_id: fingerprint(key) for key_id, key in self.keys.items()}

    def seal_text(self, text: str, bound_to: str = "") -> str:
        """A self-describing string `key_id:base64` for a database column. `bound_to` (e.g. `case:seq`) is
        authenticated with it, so the value cannot be moved to another row and still open."""
        key_id, sealed = self.seal(text.encode(), bound_to.encode())
        return f"{key_id}:{base64.b64encode(sealed).decode()}"

    def open_text(self, value: str, bound_to: str = "") -> str:
        key_id, _, data = value.partition(":")
        return self.open(key_id, base64.b64decode(data), bound_to.encode()).decode()


@dataclass(frozen=True)
class Keys:
    keyring: Keyring
    identity_key: bytes
    codec_token: str | None
    # each case's data key (crypto-shredding, infra/casekeys.py); None: the keyring seals everything
    case_keys: CaseKeys | None = None

    @property
    def sealer(self) -> CaseSealer:
        """Seals a case's columns under its data key; opens those and keyring-sealed ones."""
        from infra.casekeys import CaseSealer

        return CaseSealer(self.keyring, self.case_keys)

    @property
    def identity_fingerprint(self) -> str:
        return fingerprint(self.identity_key)

    def identity_hash(self, *parts: str) -> str:
        """A keyed hash of identity parts: cannot be reversed by trying names without the key. Each part
        is folded first (`protocol.identity.fold`: accents, look-alikes, zero-width characters, case and
        punctuation do not count)."""
        message = "\x1f".join(identity.fold(p) for p in parts).encode()
        return hmac.new(self.identity_key, message, hashlib.sha256).hexdigest()

    def person_hash(self, family_name: str, given_names: str, date_of_birth: str) -> str:
        """The exact key of a person: the normalised name (name order ignored) and date of birth."""
        return self.identity_hash(identity.name_key(family_name, given_names), date_of_birth)

    def reference_hash(self, home_office_ref: str) -> str:
        """The key of a Home Office reference however it is written (`HO-0918…` is `HO918…`)."""
        return self.identity_hash("ho_ref", identity.canonical_reference(home_office_ref))

    def birth_hash(self, date_of_birth: str) -> str:
        """The key of a date of birth alone: finds the candidates a possible match is scored among."""
        return self.identity_hash("dob", date_of_birth)

    def crime_reference_hash(self, crime_reference: str) -> str:
        return self.identity_hash("crime_ref", identity.canonical_reference(crime_reference))

    def referral_id_hash(self, referral_id: str) -> str:
        """The key a case is found by from its police referral id (whichever force it came from)."""
        return self.identity_hash("referral_id", referral_id)

    def officer_hash(self, officer_id: str) -> str:
        """The key a case is found by from its referring police officer's id."""
        return self.identity_hash("officer", officer_id)

    def case_id(self, force_code: str, referral_id: str) -> str:
        """The case id: the same referral from the same force always gives the same id (so submitting it
        twice starts one case), and it carries no personal data. Crockford base32, so it reads over the
        phone without O/0 or I/1 confusion."""
        digest = bytes.fromhex(self.identity_hash("referral", force_code, referral_id))
        number = int.from_bytes(digest[:8], "big")
        chars = []
        for _ in range(10):
            number, index = divmod(number, 32)
            chars.append(CROCKFORD[index])
        return "MVP-" + "".join(chars[:5]) + "-" + "".join(chars[5:])


def parse_keyring(spec: str) -> Keyring:
    """`id:base64,id:base64`; the first is current."""
    keys: dict[str, bytes] = {}
    for item in (part.strip() for part in spec.split(",") if part.strip()):
        key_id, sep, b64 = item.partition(":")
        if not sep or not key_id:
            raise Unavailable(
                "MVP_ENCRYPTION_KEYS must read 'id:base64key,id:base64key' (the first is current)."
            )
        keys[key_id] = base64.b64decode(b64)
    if not keys:
        raise Unavailable("MVP_ENCRYPTION_KEYS is empty.")
    return Keyring(current_id=next(iter(keys)), keys=keys)


def new_key_file_content() -> dict[str, object]:
    key_id = "dev-" + secrets.token_hex(3)
    return {
        "current": key_id,
        "keys": {key_id: base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()},
        "identity_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "codec_token": secrets.token_urlsafe(24),
    }


# What a data folder holds once a stack has stored anything: keys written now could not read it.
STORES = ("postgres/PG_VERSION", "temporal.sqlite", "case-keys")


def ensure_development_keys(path: Path, data_dir: Path | None = None) -> bool:
    """Write a development key file if there is none. Returns True when one was written.

    Never where data already exists: new keys cannot read what the old ones sealed, and a new identity key
    would make every hold look-up miss (fail open). The data folder is `data_dir`, else the key file's.
    """
    if path.exists():
        return False
    folder = data_dir if data_dir is not None else path.parent
    stores = [name for name in STORES if (folder / name).exists()]
    if stores:
        raise Refused(
            f"The data folder {folder} already holds data ({', '.join(stores)}) but there is no key file at "
            f"{path}. Put the key file that belongs to this data back; new keys would not read it, and "
            "protected people would no longer be found. Nothing was started."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_new_file(path, json.dumps(new_key_file_content(), indent=2))
    return True


def _write_new_file(path: Path, text: str) -> None:
    """Create `path` readable by its owner only (O_EXCL at 0600: never a moment at another mode)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def rotate_key_file(path: Path) -> str:
    """Add a new current key to a key file; old keys stay to open old payloads. Returns the new id.

    The new file is written beside the old one (created with O_EXCL at 0600) and renamed over it, so a
    reader sees the old file or the new one, never half of one, and the keys are never readable by others.
    """
    content = json.loads(path.read_text())
    key_id = "k-" + secrets.token_hex(3)
    content["keys"][key_id] = base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()
    content["current"] = key_id
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        _write_new_file(tmp, json.dumps(content, indent=2))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return key_id


def load_keys(settings: Settings) -> Keys:
    """Keys from MVP_ENCRYPTION_KEYS / MVP_IDENTITY_KEY, else from the key file.

    Production refuses to run without keys; development has `make run` write a key file first.
    """
    file_content: dict[str, object] = {}
    key_file = settings.resolved_key_file
    if settings.env == "production" and settings.encryption_keys is None and settings.key_file is None:
        raise Unavailable(
            "Production needs its keys: set MVP_ENCRYPTION_KEYS and MVP_IDENTITY_KEY (or MVP_KEY_FILE)."
        )
    if key_file.is_file():
        file_content = json.loads(key_file.read_text())

    if settings.encryption_keys is not None:
        keyring = parse_keyring(settings.encryption_keys.get_secret_value())
    elif file_content:
        keyring = _file_keyring(file_content)
    else:
        raise Unavailable(
            "No encryption key: set MVP_ENCRYPTION_KEYS or MVP_KEY_FILE "
            f"(in development, `make run` writes {key_file})."
        )

    if settings.identity_key is not None:
        identity = base64.b64decode(settings.identity_key.get_secret_value())
    elif "identity_key" in file_content:
        identity = base64.b64decode(str(file_content["identity_key"]))
    else:
        raise Unavailable("No identity key: set MVP_IDENTITY_KEY (base64, 32 bytes) or use a key file.")
    if len(identity) < 32:
        raise Unavailable("MVP_IDENTITY_KEY must be at least 32 bytes.")

    token = settings.codec_token.get_secret_value() if settings.codec_token else None
    if token is None and "codec_token" in file_content:
        token = str(file_content["codec_token"])
    from infra.casekeys import case_key_store

    return Keys(
        keyring=keyring,
        identity_key=identity,
        codec_token=token,
        case_keys=case_key_store(settings, keyring),
    )


def _file_keyring(content: dict[str, object]) -> Keyring:
    raw = content.get("keys")
    if not isinstance(raw, dict):
        raise Unavailable("The key file has no 'keys' object; restore it from its backup.")
    return Keyring(
        current_id=str(content.get("current")), keys={k: base64.b64decode(v) for k, v in raw.items()}
    )


def key_file_keyring(path: Path, check: Callable[[Keyring], None] | None = None) -> Keyring:
    """The keyring in a key file, refreshing itself from that file (see `Keyring.reload`); `check` vets each
    refreshed keyring (the worker records and checks its fingerprints against the database)."""

    def read() -> Keyring:
        fresh = _file_keyring(json.loads(path.read_text()))
        if check is not None:
            check(fresh)
        return fresh

    keyring = read()
    keyring.refresh = read
    return keyring
