"""The case record's hash chain: each entry's hash covers its content and the hash before it, so an
entry altered, removed or reordered in Postgres is found by `mvp audit verify`."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def entry_hash(prev_hash: str, case_id: str, seq: int, at: datetime, fields: dict[str, Any]) -> str:
    canonical = json.dumps(
        {"prev": prev_hash, "case_id": case_id, "seq": seq, "at": at.astimezone(UTC).isoformat(), **fields},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


CHAINED_FIELDS = ("actor", "action", "summary", "shared_what", "shared_with", "shared_why", "note_digest")


def note_binding(case_id: str, seq: int) -> str:
    """What a sealed note is bound to: its own case and entry."""
    return f"{case_id}:{seq}"


def referral_binding(case_id: str) -> str:
    """What a case's sealed referral is bound to (AES-GCM associated data): its own case, so a referral
    moved onto another case's row does not open there."""
    return f"referral:{case_id}"


def address_binding(notice_key: str) -> str:
    """What a notice's sealed address is bound to: its own outbox row."""
    return f"outbox:{notice_key}"


def note_digest(note_sealed: str) -> str:
    """The digest of a sealed note that the chain carries: a note removed or replaced breaks the chain's
    check, while the note itself (personal data) stays out of the record."""
    return hashlib.sha256(note_sealed.encode()).hexdigest()
