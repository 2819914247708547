"""Signed checkpoints of the case record, kept outside the database.

The record's hash chain (`infra.chain`) shows an entry altered in place, but whoever owns the database can
rewrite entries and recompute the chain, delete a case's tail or its whole record. A checkpoint closes that:
every so often the worker signs, with an Ed25519 key the database login cannot reach, each case's chain head
(seq and hash), the number of entries and cases, and the set of purged cases, and writes it where the
database cannot (`<data_dir>/checkpoints/` in development; an append-only object store in production).
`mvp audit verify` then checks the chains against the latest checkpoint: a rewritten prefix no longer
reaches the signed head, a deleted tail or case is missing, a purge that is not in a checkpoint or in the
record since is named.

Ed25519 comes from `cryptography` (already the keyring's library); the checkpoint is canonical JSON so that
anyone with the public key can check it with any Ed25519 implementation.

File layout of a store: `checkpoint-00000001.json`, `checkpoint-00000002.json`, … (one file per checkpoint,
never rewritten: each is created with O_EXCL and linked into place) and `checkpoint-key.pub` (the public key,
PEM). Each checkpoint names the SHA-256 of the one before it, so a removed checkpoint shows too.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from infra.errors import Refused, Unavailable
from infra.settings import Settings

FORMAT = 1
PUBLIC_KEY_FILE = "checkpoint-key.pub"
NAME = re.compile(r"^checkpoint-(\d{8})\.json$")
PURGE_ACTION = "personal_data_purged"  # the record entry a purge appends (`activities.retention`)


@dataclass(frozen=True)
class Head:
    """A case's chain head: the last entry's number and hash."""

    seq: int
    hash: str


@dataclass(frozen=True)
class Checkpoint:
    """What one checkpoint signs."""

    number: int
    at: datetime
    heads: dict[str, Head]
    purged: frozenset[str]
    previous: str | None = None  # SHA-256 of the previous checkpoint's file; None for the first

    @property
    def cases(self) -> int:
        return len(self.heads)

    @property
    def entries(self) -> int:
        return sum(h.seq for h in self.heads.values())

    def body(self) -> bytes:
        """The signed bytes: canonical JSON (sorted keys, no spaces)."""
        content = {
            "format": FORMAT,
            "number": self.number,
            "at": self.at.astimezone(UTC).isoformat(),
            "cases": self.cases,
            "entries": self.entries,
            "heads": {case: [h.seq, h.hash] for case, h in sorted(self.heads.items())},
            "purged": sorted(self.purged),
            "previous": self.previous,
        }
        return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_body(cls, body: bytes) -> Checkpoint:
        content = json.loads(body)
        if content.get("format") != FORMAT:
            raise ValueError("unknown checkpoint format")
        heads = {case: Head(int(seq), str(h)) for case, (seq, h) in content["heads"].items()}
        checkpoint = cls(
            number=int(content["number"]),
            at=datetime.fromisoformat(content["at"]),
            heads=heads,
            purged=frozenset(content["purged"]),
            previous=content.get("previous"),
        )
        if (checkpoint.cases, checkpoint.entries) != (content["cases"], content["entries"]):
            raise ValueError("the checkpoint's counts disagree with its heads")
        return checkpoint


def key_id(public: Ed25519PublicKey) -> str:
    """A short name for a public key: the SHA-256 of its raw bytes, first 16 hex digits."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def sign(checkpoint: Checkpoint, private: Ed25519PrivateKey) -> bytes:
    """The checkpoint file's bytes: the signed body, the signing key's id and the signature."""
    body = checkpoint.body()
    document = {
        "checkpoint": json.loads(body),
        "key": key_id(private.public_key()),
        "signature": base64.b64encode(private.sign(body)).decode(),
    }
    return json.dumps(document, indent=1, sort_keys=True).encode()


class ForgedCheckpoint(Exception):
    """A checkpoint file whose signature does not verify under the trusted public key, or that does not parse."""


def open_signed(data: bytes, public: Ed25519PublicKey) -> Checkpoint:
    """The checkpoint in `data`, once its signature verifies under `public` (signature first: nothing of an
    unverified file is believed)."""
    try:
        document = json.loads(data)
        body = json.dumps(document["checkpoint"], sort_keys=True, separators=(",", ":")).encode()
        public.verify(base64.b64decode(document["signature"], validate=True), body)
        return Checkpoint.from_body(body)
    except InvalidSignature:
        raise ForgedCheckpoint("its signature does not verify under the published checkpoint key") from None
    except (ValueError, KeyError, TypeError) as error:
        raise ForgedCheckpoint(f"it cannot be read ({type(error).__name__})") from None


# --- the store ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Latest:
    """The latest checkpoint in a store, as verification finds it."""

    status: Literal["verified", "none", "forged"]
    checkpoint: Checkpoint | None = None
    file: str | None = None
    problem: str | None = None
    digest: str | None = None  # SHA-256 of the file, which the next checkpoint names as `previous`


@dataclass
class DirectoryStore:
    """Checkpoints as files in one directory, append-only by convention: each file is created once (O_EXCL)
    and never rewritten. In production, the same layout belongs in an object store with object lock
    (README: "A record that proves itself"); this class is the development store and the interface."""

    directory: Path
    trusted_public_key: Path | None = None  # a pinned public key; default the one published in the store
    _created: bool = field(default=False, repr=False)

    @property
    def public_key_path(self) -> Path:
        return self.directory / PUBLIC_KEY_FILE

    def numbers(self) -> list[int]:
        if not self.directory.is_dir():
            return []
        found = (NAME.match(p.name) for p in self.directory.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def path(self, number: int) -> Path:
        return self.directory / f"checkpoint-{number:08d}.json"

    def public_key(self) -> Ed25519PublicKey | None:
        path = self.trusted_public_key or self.public_key_path
        if not path.is_file():
            return None
        return load_public_key(path.read_bytes())

    def latest(self) -> Latest:
        """The newest checkpoint, its signature checked first. With a published key but no checkpoint, or a
        checkpoint but no key, the store is not trusted (fail closed)."""
        numbers = self.numbers()
        public = self.public_key()
        if not numbers:
            if public is not None:
                return Latest(
                    "forged",
                    problem=(
                        "a checkpoint key is published but there is no checkpoint: they were removed, or the "
                        "first was never written after its key"
                    ),
                )
            return Latest("none")
        path = self.path(numbers[-1])
        if public is None:
            return Latest("forged", file=path.name, problem="there is a checkpoint but no published key")
        data = path.read_bytes()
        try:
            checkpoint = open_signed(data, public)
        except ForgedCheckpoint as error:
            return Latest("forged", file=path.name, problem=f"{path.name}: {error}")
        if checkpoint.number != numbers[-1]:
            return Latest("forged", file=path.name, problem=f"{path.name} carries number {checkpoint.number}")
        missing = sorted(set(range(1, numbers[-1])) - set(numbers))
        if missing:
            return Latest("forged", file=path.name, problem=f"checkpoint(s) {_listed(missing)} were removed")
        if len(numbers) > 1:
            before = hashlib.sha256(self.path(numbers[-2]).read_bytes()).hexdigest()
            if checkpoint.previous != before:
                return Latest(
                    "forged",
                    file=path.name,
                    problem=f"checkpoint {numbers[-2]} is not the one {path.name} follows",
                )
        return Latest("verified", checkpoint, path.name, digest=hashlib.sha256(data).hexdigest())

    def publish_key(self, public: Ed25519PublicKey) -> None:
        """Write the public key beside the checkpoints once; a different key already published is refused."""
        _private_dir(self.directory)
        pem = public_pem(public)
        if self.public_key_path.exists():
            if self.public_key_path.read_bytes() != pem:
                raise Refused(
                    f"{self.public_key_path} holds another checkpoint key than the signing key: put the signing "
                    "key that belongs to these checkpoints back (checkpoints are never re-signed)."
                )
            return
        _create_file(self.public_key_path, pem, mode=0o644)

    def append(self, number: int, data: bytes) -> Path:
        """Add one checkpoint file; an existing number is never overwritten (FileExistsError)."""
        _private_dir(self.directory)
        final = self.path(number)
        tmp = self.directory / f".{final.name}.{secrets.token_hex(4)}.tmp"
        _create_file(tmp, data, mode=0o600)
        try:
            os.link(tmp, final)  # fails if the number exists: a checkpoint is never replaced
        finally:
            tmp.unlink(missing_ok=True)
        return final


def _listed(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10])
    return shown + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def _create_file(path: Path, data: bytes, mode: int) -> None:
    """Create `path` with `mode` from the first byte (O_EXCL: never an existing file, never another mode)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


# --- the signing key ------------------------------------------------------------------------------


def store_for(settings: Settings) -> DirectoryStore:
    return DirectoryStore(settings.resolved_checkpoint_dir, settings.checkpoint_public_key)


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The checkpoint signing key from MVP_CHECKPOINT_KEY_FILE (PEM, PKCS#8). Development creates one under
    the data dir on first use (0600, O_EXCL), unless checkpoints signed by another key are already there;
    production refuses to run without one."""
    path = settings.resolved_checkpoint_key_file
    if not path.is_file():
        if settings.env == "production":
            raise Unavailable(
                "Production needs its checkpoint signing key: set MVP_CHECKPOINT_KEY_FILE to an Ed25519 key "
                "(PEM) on the worker's host, out of the database's reach."
            )
        store = store_for(settings)
        if store.numbers() or store.public_key_path.exists():
            raise Refused(
                f"There are checkpoints in {store.directory} but no signing key at {path}: put the key that "
                "signed them back. Nothing was started."
            )
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            _create_file(path, pem, mode=0o600)
        except FileExistsError:  # another worker made it first: use theirs
            pass
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise Unavailable(f"{path} is not an Ed25519 private key.")
    return key


# --- comparing the database with a checkpoint -------------------------------------------------------


@dataclass(frozen=True)
class CaseNow:
    """What the database holds now of one case's record, as far as a checkpoint is concerned."""

    last_seq: int  # 0: no entry at all
    hash_at: Mapping[int, str]  # entry hashes by seq, at least at the checkpointed head
    purged: bool  # `cases.purged_at` is set
    purge_seqs: tuple[int, ...] = ()  # entries that record a purge


@dataclass(frozen=True)
class Finding:
    case_id: str
    problem: str
    first_broken: int | None = None


def compare(
    checkpoint: Checkpoint | None, now: Mapping[str, CaseNow], only: str | None = None
) -> list[Finding]:
    """Each case whose record does not agree with the checkpoint, with the problem named (`only`: one case's).
    A case with entries added since the checkpoint agrees as long as its checkpointed prefix is intact.
    Without a checkpoint only the purge rule is checked (a purge must be in the record)."""
    findings: list[Finding] = []
    label = f"checkpoint {checkpoint.number} ({checkpoint.at:%Y-%m-%d %H:%M} UTC)" if checkpoint else ""
    heads = {c: h for c, h in (checkpoint.heads if checkpoint else {}).items() if only in (None, c)}
    for case_id, head in sorted(heads.items()):
        case = now.get(case_id)
        if case is None or case.last_seq == 0:
            findings.append(
                Finding(case_id, f"the case's whole record was deleted: {label} holds {head.seq} entries", 1)
            )
        elif case.last_seq < head.seq:
            findings.append(
                Finding(
                    case_id,
                    f"the tail of the record was deleted: entries {case.last_seq + 1} to {head.seq} are in "
                    f"{label} but no longer in the database",
                    case.last_seq + 1,
                )
            )
        elif case.hash_at.get(head.seq) != head.hash:
            findings.append(
                Finding(
                    case_id,
                    f"entries up to {head.seq} were rewritten (and the chain recomputed): the record no longer "
                    f"reaches the head signed in {label}",
                )
            )
    for case_id, case in sorted(now.items()):
        if any(f.case_id == case_id for f in findings):
            continue
        if case.purged and case_id not in (checkpoint.purged if checkpoint else frozenset()):
            signed = heads.get(case_id)
            since = [s for s in case.purge_seqs if signed is None or s > signed.seq]
            if not since:
                findings.append(
                    Finding(
                        case_id,
                        "the case is marked purged but no purge is recorded"
                        + (
                            f": {label} has it unpurged and its record shows no purge since" if signed else ""
                        ),
                    )
                )
        elif checkpoint and not case.purged and case_id in checkpoint.purged:
            findings.append(Finding(case_id, f"{label} has the case purged but the database no longer does"))
    return findings


def describe(latest: Latest) -> dict[str, Any]:
    """The checkpoint part of a verification report."""
    checkpoint = latest.checkpoint
    return {
        "status": latest.status,
        "file": latest.file,
        "problem": latest.problem,
        "number": checkpoint.number if checkpoint else None,
        "at": checkpoint.at.isoformat() if checkpoint else None,
        "cases": checkpoint.cases if checkpoint else None,
        "entries": checkpoint.entries if checkpoint else None,
    }
