"""The guard between keys and data: a process runs only with the keys the database's data belongs to.

The database keeps a fingerprint (`infra.keys.fingerprint`, which reveals nothing about the key) of the
identity key and of every keyring key it has seen (table `key_fingerprints`). The first process to use the
database records them; after that every process that loads keys checks them here first and refuses to run
when the identity key differs (hold look-ups and duplicate checks would silently miss: fail open) or when
its keyring lacks, or has a different, key under an id the database has seen (old data could not be read).
A key id the database has not seen is recorded: that is a rotation (`mvp keys rotate`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text
from sqlmodel import Session, select

from infra.casekeys import case_key_store
from infra.db import make_engine
from infra.errors import KeysMismatch
from infra.keys import Keyring, Keys, key_file_keyring, load_keys
from infra.settings import Settings
from models.tables import KeyFingerprintRow

IDENTITY = "identity"
KEYRING = "keyring"

_RESTORE = (
    "Restore the key file (or MVP_ENCRYPTION_KEYS / MVP_IDENTITY_KEY) that belongs to this database; "
    "nothing was run."
)


def check_keys(engine: Engine, keys: Keys, now: datetime | None = None) -> None:
    """Refuse (KeysMismatch) unless `keys` are the ones this database's data belongs to; record new ones."""
    _check(engine, keys.keyring, keys.identity_fingerprint, now)


def check_keyring(engine: Engine, keyring: Keyring, now: datetime | None = None) -> None:
    """As `check_keys` for a keyring alone (a worker's keyring reloaded after a rotation)."""
    _check(engine, keyring, None, now)


def _check(engine: Engine, keyring: Keyring, identity: str | None, now: datetime | None) -> None:
    now = now or datetime.now(UTC)
    mine = keyring.fingerprints()
    with Session(engine) as session, session.begin():
        # one process at a time: two first users must not both record different keys
        session.execute(text("LOCK TABLE key_fingerprints IN SHARE ROW EXCLUSIVE MODE"))
        seen = {(row.kind, row.key_id): row.fingerprint for row in session.exec(select(KeyFingerprintRow))}
        problems = []
        if identity is not None and seen.get((IDENTITY, IDENTITY), identity) != identity:
            problems.append(
                "the identity key is not the one this database's holds and case ids were made with"
            )
        missing = sorted(k for kind, k in seen if kind == KEYRING and k not in mine)
        if missing:
            problems.append(
                f"the keyring lacks key(s) {', '.join(missing)} that sealed data in this database"
            )
        different = sorted(
            k for (kind, k), value in seen.items() if kind == KEYRING and k in mine and mine[k] != value
        )
        if different:
            problems.append(
                f"key(s) {', '.join(different)} differ from the keys of that id this database has seen"
            )
        if problems:
            raise KeysMismatch(
                "These keys do not match the database: " + "; ".join(problems) + ". " + _RESTORE
            )
        new = [(KEYRING, k, value) for k, value in mine.items() if (KEYRING, k) not in seen]
        if identity is not None and (IDENTITY, IDENTITY) not in seen:
            new.append((IDENTITY, IDENTITY, identity))
        for kind, key_id, value in new:
            session.add(KeyFingerprintRow(kind=kind, key_id=key_id, fingerprint=value, recorded_at=now))


def checked_keys(settings: Settings) -> Keys:
    """The keys, checked against the database (see the module docstring): what every command that loads
    keys uses. Refuses with KeysMismatch (exit 5) when they do not match."""
    keys = load_keys(settings)
    engine = make_engine(settings, pooled=False)
    try:
        check_keys(engine, keys)
    finally:
        engine.dispose()
    return keys


def worker_keys(settings: Settings, engine: Engine) -> Keys:
    """The worker's keys, checked against the database. When they come from a key file, the keyring
    re-reads the file when a payload names a key it does not hold or when `Keyring.reload` is called (the
    worker does so when the file changes), checking each new keyring first: a worker picks up
    `mvp keys rotate` without a restart."""
    keys = load_keys(settings)
    check_keys(engine, keys)
    key_file = settings.resolved_key_file
    if settings.encryption_keys is None and key_file.is_file():
        keyring = key_file_keyring(key_file, lambda fresh: check_keyring(engine, fresh))
        keys = Keys(
            keyring=keyring,
            identity_key=keys.identity_key,
            codec_token=keys.codec_token,
            case_keys=case_key_store(settings, keyring),
        )
    return keys
