"""The checkpoint writer: beside the Temporal worker (like the delivery dispatcher), every
`MVP_CHECKPOINT_INTERVAL` seconds it reads each case's chain head from Postgres in one snapshot, checks the
record against the latest checkpoint, and signs and writes the next one outside the database
(`infra.checkpoint`).

It never signs over tampering it can see: when the record no longer agrees with the latest checkpoint (or
that checkpoint does not verify), it writes nothing and logs the case ids, so a rewrite cannot be laundered
into a fresh checkpoint. What changed since the last checkpoint is only as trustworthy as the database until
the next one: the interval bounds that window.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlmodel import Session, col

from infra.checkpoint import (
    PURGE_ACTION,
    CaseNow,
    Checkpoint,
    DirectoryStore,
    Head,
    Latest,
    compare,
    sign,
)
from infra.errors import RecordTampered
from models.tables import CaseRow, RecordRow

log = logging.getLogger("mvp.checkpoint")

CHUNK = 5000  # (case, seq) pairs per query when reading checkpointed heads
BATCH_STATEMENT_TIMEOUT = (
    "10min"  # the checkpoint's, instead of the service's MVP_DB_STATEMENT_TIMEOUT (15 s)
)


@contextmanager
def snapshot(engine: Engine, statement_timeout: str | None = None) -> Iterator[Session]:
    """A session that sees one consistent moment of the database (REPEATABLE READ), rolled back at the end; with
    `statement_timeout`, its statements may run that long instead of the engine's bound (batch work only)."""
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin(), Session(bind=connection) as session:
            if statement_timeout is not None:
                connection.exec_driver_sql(f"SET LOCAL statement_timeout = '{statement_timeout}'")
            yield session


def heads(session: Session) -> dict[str, Head]:
    """Each case's chain head: its last entry's seq and hash."""
    rows = session.execute(
        select(col(RecordRow.case_id), col(RecordRow.seq), col(RecordRow.entry_hash))
        .ext(distinct_on(col(RecordRow.case_id)))
        .order_by(col(RecordRow.case_id), col(RecordRow.seq).desc())
    )
    return {case_id: Head(seq, entry_hash) for case_id, seq, entry_hash in rows}


def purged_cases(session: Session, only: str | None = None) -> frozenset[str]:
    query = select(col(CaseRow.case_id)).where(col(CaseRow.purged_at).is_not(None))
    if only is not None:
        query = query.where(col(CaseRow.case_id) == only)
    return frozenset(session.execute(query).scalars())


def cases_now(session: Session, checkpoint: Checkpoint | None, only: str | None = None) -> dict[str, CaseNow]:
    """What the database holds now of each case's record (or one case's), as `infra.checkpoint.compare`
    needs it: the last seq, the hash at each checkpointed head, whether it is marked purged, and which of
    its entries record a purge."""
    last = select(col(RecordRow.case_id), func.max(col(RecordRow.seq))).group_by(col(RecordRow.case_id))
    purges = select(col(RecordRow.case_id), col(RecordRow.seq)).where(col(RecordRow.action) == PURGE_ACTION)
    cases = select(col(CaseRow.case_id))
    if only is not None:
        last = last.where(col(RecordRow.case_id) == only)
        purges = purges.where(col(RecordRow.case_id) == only)
        cases = cases.where(col(CaseRow.case_id) == only)
    last_seq: dict[str, int] = {case_id: int(seq) for case_id, seq in session.execute(last)}
    purge_seqs: dict[str, list[int]] = {}
    for case_id, seq in session.execute(purges):
        purge_seqs.setdefault(case_id, []).append(seq)
    wanted = [
        (case_id, head.seq)
        for case_id, head in (checkpoint.heads.items() if checkpoint else [])
        if only in (None, case_id)
    ]
    hash_at: dict[str, dict[int, str]] = {}
    for chunk in _chunks(wanted, CHUNK):
        found = session.execute(
            select(col(RecordRow.case_id), col(RecordRow.seq), col(RecordRow.entry_hash)).where(
                tuple_(col(RecordRow.case_id), col(RecordRow.seq)).in_(chunk)
            )
        )
        for case_id, seq, entry_hash in found:
            hash_at.setdefault(case_id, {})[seq] = entry_hash
    purged = purged_cases(session, only)
    every = set(last_seq) | set(session.execute(cases).scalars())
    return {
        case_id: CaseNow(
            last_seq=last_seq.get(case_id, 0),
            hash_at=hash_at.get(case_id, {}),
            purged=case_id in purged,
            purge_seqs=tuple(purge_seqs.get(case_id, ())),
        )
        for case_id in every
    }


def _chunks(items: list[tuple[str, int]], size: int) -> Iterable[list[tuple[str, int]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Checkpointer:
    """Signs and writes a checkpoint of the case record every `interval`."""

    def __init__(
        self,
        engine: Engine,
        store: DirectoryStore,
        key: Ed25519PrivateKey,
        interval: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.store = store
        self.key = key
        self.interval = interval
        self.clock = clock

    def write_once(self) -> Checkpoint:
        """Check the record against the latest checkpoint, then sign and write the next one (only when the
        record changed since; otherwise the latest is returned). Raises RecordTampered (and writes nothing)
        when the latest checkpoint does not verify or the record no longer agrees with it."""
        if not self.store.public_key_path.exists() and not self.store.numbers():
            latest = Latest("none")  # a new store: its key is published with checkpoint 1, below
        else:
            latest = self.store.latest()
        if latest.status == "forged":
            raise RecordTampered(
                f"The latest checkpoint does not verify ({latest.problem}); none was signed."
            )
        # reading every case's chain is batch work: it may outlast the bound a caller waits on one statement
        with snapshot(self.engine, BATCH_STATEMENT_TIMEOUT) as session:
            findings = compare(latest.checkpoint, cases_now(session, latest.checkpoint))
            if findings:
                named = ", ".join(f.case_id for f in findings[:20])
                raise RecordTampered(
                    f"The record of {len(findings)} case(s) no longer agrees with checkpoint "
                    f"{latest.checkpoint.number if latest.checkpoint else '-'} ({named}); none was signed. "
                    "Run `mvp audit verify`."
                )
            signed_now, purged_now = heads(session), purged_cases(session)
        if latest.checkpoint and (signed_now, purged_now) == (
            latest.checkpoint.heads,
            latest.checkpoint.purged,
        ):
            return latest.checkpoint  # nothing changed since: no new file
        checkpoint = Checkpoint(
            number=(latest.checkpoint.number + 1) if latest.checkpoint else 1,
            at=self.clock(),
            heads=signed_now,
            purged=purged_now,
            previous=latest.digest,
        )
        self.store.publish_key(self.key.public_key())  # refuses a store that another key signed
        self.store.append(checkpoint.number, sign(checkpoint, self.key))
        return checkpoint

    def run(self, stop: threading.Event) -> None:
        """Write a checkpoint now and then every interval until `stop` is set. A failed round is logged and
        tried again at the next interval."""
        while not stop.is_set():
            try:
                written = self.write_once()
                log.info(
                    "checkpoint %d signed: %d case(s), %d entries",
                    written.number,
                    written.cases,
                    written.entries,
                )
            except RecordTampered as error:
                log.error("%s", error)
            except FileExistsError:  # another worker signed this number first: theirs stands
                log.info("another worker signed the checkpoint first")
            except Exception:  # the loop must outlive a database restart
                log.exception("checkpoint round failed; trying again at the next interval")
            stop.wait(self.interval.total_seconds())

    def start(self) -> tuple[threading.Thread, threading.Event]:
        stop = threading.Event()
        thread = threading.Thread(target=self.run, args=(stop,), name="mvp-checkpoint", daemon=True)
        thread.start()
        return thread, stop
