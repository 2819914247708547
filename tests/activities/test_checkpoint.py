"""The record proves itself against the database owner (issue 11). Each attack is made as the tests'
database login, a superuser like the one that owns the tables, with the record's triggers switched off and
the unkeyed hash chain recomputed. Each passes the chain check alone (`audit.verify`, what `mvp audit verify`
did before checkpoints) and is named by `audit.verify_record`, which checks the chains against the latest
signed checkpoint written outside the database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlmodel import Session, col

from activities.checkpoint import BATCH_STATEMENT_TIMEOUT, Checkpointer, snapshot
from activities.delivery import Dispatcher
from activities.notify import MailboxChannel
from activities.retention import purge_case
from activities.store import CaseStore
from infra.chain import CHAINED_FIELDS, GENESIS, entry_hash, note_binding
from infra.checkpoint import DirectoryStore, signing_key, store_for
from infra.db import Waits, engine_for
from infra.errors import RecordTampered
from infra.keys import Keys
from infra.settings import Settings
from models.case import Actor, ActorRole, RecordEntry
from models.tables import CaseRow, OutboxRow, RecordRow
from tests.support.cases import opened_case_with_notices
from tests.support.intake import OFFICER, example_referral
from usecases import audit, reads
from usecases.context import Services

SUPERVISOR = Actor(role=ActorRole.supervisor, id="SUP-7")


def open_two_cases(engine: Engine, keys: Keys) -> tuple[str, str]:
    """Two cases as the workflow writes them, each with two notes on its record."""
    opened = []
    for name in ("referral-domestic-abuse.json", "referral-trafficking.json"):
        referral = example_referral(name)
        case_id = opened_case_with_notices(
            engine, keys, keys.case_id(referral.force_code, referral.referral_id), referral, OFFICER
        )
        for note in ("Seen at the refuge with an interpreter", "Prefers calls in the afternoon"):
            add_entry(engine, keys, case_id, "contact_recorded", note)
        opened.append(case_id)
    return opened[0], opened[1]


def add_entry(engine: Engine, keys: Keys, case_id: str, action: str, note: str | None = None) -> int:
    with Session(engine) as session, session.begin():
        seq = CaseStore.last_seq(session, case_id) + 1
        sealed = keys.keyring.seal_text(note, note_binding(case_id, seq)) if note else None
        entry = RecordEntry(
            seq=seq, at=datetime.now(UTC), actor="officer:NCCU-0042", action=action, summary=action
        )
        CaseStore.append_entry(session, case_id, entry, sealed)
    return seq


@contextmanager
def as_database_owner(engine: Engine) -> Iterator[Session]:
    """A session of the database owner with every trigger off (`session_replication_role = replica`)."""
    with Session(engine) as session, session.begin():
        session.execute(text("SET LOCAL session_replication_role = replica"))
        yield session


def recompute_chain(session: Session, case_id: str) -> None:
    """What an owner who knows `infra.chain` does after a rewrite: every hash of the case made anew."""
    prev = GENESIS
    rows = session.execute(
        text("SELECT * FROM case_record WHERE case_id = :c ORDER BY seq"), {"c": case_id}
    ).mappings()
    for row in list(rows):
        fields = {name: row[name] for name in CHAINED_FIELDS}
        new = entry_hash(prev, case_id, row["seq"], row["at"], fields)
        session.execute(
            text("UPDATE case_record SET prev_hash = :p, entry_hash = :h WHERE case_id = :c AND seq = :s"),
            {"p": prev, "h": new, "c": case_id, "s": row["seq"]},
        )
        prev = new


def checkpointer(settings: Settings, engine: Engine) -> Checkpointer:
    return Checkpointer(engine, store_for(settings), signing_key(settings), timedelta(minutes=5))


def chains_alone_pass(engine: Engine) -> bool:
    return all(r.intact for r in audit.verify(engine))


def problems(engine: Engine, settings: Settings, keys: Keys) -> dict[str, str | None]:
    result = audit.verify_record(engine, store_for(settings), keys)
    return {r.case_id: r.problem for r in result.cases if not r.intact}


def test_a_clean_database_verifies_against_its_checkpoint_and_entries_added_since_are_fine(
    engine: Engine, keys: Keys, settings: Settings
) -> None:
    first, second = open_two_cases(engine, keys)
    written = checkpointer(settings, engine).write_once()
    assert (written.number, written.cases) == (1, 2)
    add_entry(engine, keys, first, "contact_recorded", "A third call")
    result = audit.verify_record(engine, store_for(settings), keys)
    assert result.intact and result.checkpoint.status == "verified"
    assert {r.case_id for r in result.cases} == {first, second}
    assert checkpointer(settings, engine).write_once().previous == result.checkpoint.digest  # they chain


def test_entries_rewritten_with_the_chain_recomputed_are_named(
    engine: Engine, keys: Keys, settings: Settings
) -> None:
    first, second = open_two_cases(engine, keys)
    checkpointer(settings, engine).write_once()
    with as_database_owner(engine) as session:
        session.execute(
            text(
                "UPDATE case_record SET actor = 'officer:SOMEONE-ELSE', shared_with = NULL "
                "WHERE case_id = :c AND seq = 2"
            ),
            {"c": first},
        )
        recompute_chain(session, first)
    assert chains_alone_pass(engine)  # what verify said before checkpoints
    found = problems(engine, settings, keys)
    assert list(found) == [first]
    assert "were rewritten (and the chain recomputed)" in (found[first] or "")


def test_a_swapped_note_with_its_digest_rewritten_and_the_chain_recomputed_is_named(
    engine: Engine, keys: Keys, settings: Settings
) -> None:
    first, second = open_two_cases(engine, keys)
    checkpointer(settings, engine).write_once()
    with as_database_owner(engine) as session:
        notes = session.execute(
            text("SELECT seq, note_sealed FROM case_notes WHERE case_id = :c ORDER BY seq"), {"c": first}
        ).all()
        (seq_a, a), (seq_b, b) = notes[-2:]  # two notes (screening keeps its detail in a note too)
        # the two notes change places, each digest follows its note, the chain is made anew
        session.execute(
            text("DELETE FROM case_notes WHERE case_id = :c AND seq IN (:a, :b)"),
            {"c": first, "a": seq_a, "b": seq_b},
        )
        for seq, note in ((seq_a, b), (seq_b, a)):
            session.execute(
                text("INSERT INTO case_notes (case_id, seq, note_sealed) VALUES (:c, :s, :n)"),
                {"c": first, "s": seq, "n": note},
            )
            session.execute(
                text(
                    "UPDATE case_record SET note_digest = encode(sha256(convert_to(:n, 'UTF8')), 'hex') "
                    "WHERE case_id = :c AND seq = :s"
                ),
                {"c": first, "s": seq, "n": note},
            )
        recompute_chain(session, first)
    assert chains_alone_pass(engine)
    assert "rewritten" in (problems(engine, settings, keys)[first] or "")


def test_a_deleted_tail_is_named(engine: Engine, keys: Keys, settings: Settings) -> None:
    first, second = open_two_cases(engine, keys)
    checkpointer(settings, engine).write_once()
    with Session(engine) as session:
        last = CaseStore.last_seq(session, second)
    with as_database_owner(engine) as session:
        session.execute(
            text("DELETE FROM case_record WHERE case_id = :c AND seq >= :s"), {"c": second, "s": last - 1}
        )
        session.execute(
            text("DELETE FROM case_notes WHERE case_id = :c AND seq >= :s"), {"c": second, "s": last - 1}
        )
    assert chains_alone_pass(engine)
    result = audit.verify_record(engine, store_for(settings), keys)
    [broken] = [r for r in result.cases if not r.intact]
    assert broken.case_id == second and broken.first_broken == last - 1
    assert f"the tail of the record was deleted: entries {last - 1} to {last}" in (broken.problem or "")


def test_a_deleted_case_is_named(engine: Engine, keys: Keys, settings: Settings) -> None:
    first, second = open_two_cases(engine, keys)
    checkpointer(settings, engine).write_once()
    with as_database_owner(engine) as session:
        for table in ("case_record", "case_notes", "holds", "outbox", "tasks", "cases"):
            session.execute(text(f"DELETE FROM {table} WHERE case_id = :c"), {"c": first})
    assert chains_alone_pass(engine) and {r.case_id for r in audit.verify(engine)} == {second}
    found = problems(engine, settings, keys)
    assert list(found) == [first] and "the case's whole record was deleted" in (found[first] or "")


def test_swapped_referrals_do_not_open_and_case_show_answers_with_a_sentence(
    engine: Engine, keys: Keys, settings: Settings
) -> None:
    first, second = open_two_cases(engine, keys)
    checkpointer(settings, engine).write_once()
    with as_database_owner(engine) as session:
        a = session.get(CaseRow, first)
        b = session.get(CaseRow, second)
        assert a is not None and b is not None
        a.referral_sealed, b.referral_sealed = b.referral_sealed, a.referral_sealed
    assert chains_alone_pass(engine)
    found = problems(engine, settings, keys)
    assert set(found) == {first, second}
    assert all("sealed referral does not open for this case" in (p or "") for p in found.values())
    services = Services(settings=settings, engine=engine, keys=keys, temporal=None)  # type: ignore[arg-type]
    with pytest.raises(RecordTampered, match=f"The record of case {first} does not verify") as refused:
        reads.case_detail(services, SUPERVISOR, first)
    assert "Fatima" not in str(refused.value) and "Akter" not in str(refused.value)


def test_purged_at_set_by_hand_to_hide_a_deleted_note_is_named(
    engine: Engine, keys: Keys, settings: Settings
) -> None:
    first, second = open_two_cases(engine, keys)
    checkpointer(settings, engine).write_once()
    with as_database_owner(engine) as session:
        session.execute(
            text(
                "DELETE FROM case_notes WHERE case_id = :c AND seq = (SELECT max(seq) FROM case_notes "
                "WHERE case_id = :c)"
            ),
            {"c": first},
        )
        session.execute(text("UPDATE cases SET purged_at = now() WHERE case_id = :c"), {"c": first})
    assert chains_alone_pass(engine)
    found = problems(engine, settings, keys)
    assert list(found) == [first]
    assert "marked purged but no purge is recorded" in (found[first] or "")


def test_a_real_purge_after_the_checkpoint_verifies(engine: Engine, keys: Keys, settings: Settings) -> None:
    first, second = open_two_cases(engine, keys)
    checkpointer(settings, engine).write_once()
    closed_at = datetime.now(UTC)
    with Session(engine) as session, session.begin():  # the case closed, as the workflow writes it
        row = session.get(CaseRow, first)
        assert row is not None
        row.phase, row.closed_at, row.outcome = "closed", closed_at, "withdrawn"
    with Session(engine) as session:
        row = session.get(CaseRow, first)
    assert row is not None
    purge_case(engine, keys, row, closed_at + timedelta(days=800), "supervisor:SUP-7")
    assert problems(engine, settings, keys) == {}
    assert first in checkpointer(settings, engine).write_once().purged
    assert problems(engine, settings, keys) == {}


def test_a_forged_checkpoint_is_reported(engine: Engine, keys: Keys, settings: Settings) -> None:
    open_two_cases(engine, keys)
    store = store_for(settings)
    checkpointer(settings, engine).write_once()
    forged = store.path(1).read_bytes().replace(b'"number": 1', b'"number": 2')
    store.path(1).unlink()  # (an owner who could reach the store; the signature still gives it away)
    store.append(2, forged)
    result = audit.verify_record(engine, store, keys)
    assert not result.intact and result.checkpoint.status == "forged"
    assert "signature does not verify" in (result.checkpoint.problem or "")


def test_the_checkpointer_signs_nothing_over_tampering(
    engine: Engine, keys: Keys, settings: Settings
) -> None:
    first, second = open_two_cases(engine, keys)
    writer = checkpointer(settings, engine)
    writer.write_once()
    with as_database_owner(engine) as session:
        session.execute(text("DELETE FROM case_record WHERE case_id = :c AND seq > 1"), {"c": second})
    with pytest.raises(RecordTampered, match=f"no longer agrees with checkpoint 1 \\({second}\\)"):
        writer.write_once()
    assert DirectoryStore(settings.resolved_checkpoint_dir).numbers() == [1]


def test_old_unbound_referrals_are_bound_to_their_own_case_and_a_moved_one_is_not(
    engine: Engine, keys: Keys
) -> None:
    first, second = open_two_cases(engine, keys)
    with Session(engine) as session, session.begin():
        a = session.get(CaseRow, first)
        b = session.get(CaseRow, second)
        assert a is not None and b is not None
        # as sealed before binding; the second case's row then gets the first case's referral
        referral = example_referral("referral-domestic-abuse.json").model_dump_json()
        a.referral_sealed = keys.keyring.seal_text(referral)
        b.referral_sealed = keys.keyring.seal_text(referral)
    assert CaseStore(engine, keys).bind_old_seals() == 1
    with Session(engine) as session:
        services = Services(settings=None, engine=engine, keys=keys, temporal=None)  # type: ignore[arg-type]
        assert reads.case_detail(services, SUPERVISOR, first)["circumstances"]["referral_id"]
        with pytest.raises(RecordTampered):
            reads.case_detail(services, SUPERVISOR, second)
        assert session.get(RecordRow, (first, 1)) is not None


def test_a_notice_address_moved_to_another_notice_is_never_sent_there(
    engine: Engine, keys: Keys, tmp_path: Path
) -> None:
    first, second = open_two_cases(engine, keys)
    with as_database_owner(engine) as session:
        a, b = (
            session.execute(
                select(OutboxRow).where(
                    col(OutboxRow.case_id) == case, col(OutboxRow.address_sealed).is_not(None)
                )
            )
            .scalars()
            .first()
            for case in (first, second)
        )
        assert a is not None and b is not None
        a.address_sealed, b.address_sealed = b.address_sealed, a.address_sealed
        moved = {a.key, b.key}
    dispatcher = Dispatcher(engine, keys, MailboxChannel(tmp_path / "notices"))
    while dispatcher.run_once():
        pass
    with Session(engine) as session:
        rows = session.execute(select(OutboxRow).where(col(OutboxRow.key).in_(moved))).scalars().all()
        assert {r.status for r in rows} == {"failed"}
        assert all("does not open for this notice" in (r.failure_reason or "") for r in rows)
        sent = session.execute(select(OutboxRow).where(col(OutboxRow.status) == "sent")).scalars().all()
    assert sent, "the other notices went out"
    assert {p.stem for p in (tmp_path / "notices").iterdir()} == {r.reference for r in sent}


def test_the_worker_signs_a_checkpoint_at_start_and_again_when_the_record_changed(
    engine: Engine, keys: Keys, settings: Settings
) -> None:
    from worker import build_checkpointer

    first, second = open_two_cases(engine, keys)
    store = store_for(settings)

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 10
        while len(store.numbers()) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    every_fifth_of_a_second = settings.model_copy(update={"checkpoint_interval": 0.2})
    thread, stop = build_checkpointer(every_fifth_of_a_second, engine).start()
    try:
        wait_for(1)
        time.sleep(0.5)  # intervals pass with nothing new: no new file
        assert store.numbers() == [1]
        before = store.latest().checkpoint
        add_entry(engine, keys, first, "contact_recorded")
        wait_for(2)
    finally:
        stop.set()
        thread.join(10)
    assert store.numbers() == [1, 2]
    latest = store.latest().checkpoint
    assert latest is not None and before is not None
    assert (
        latest.heads[first].seq == before.heads[first].seq + 1
        and latest.heads[second] == before.heads[second]
    )
    assert audit.verify_record(engine, store, keys).intact


def test_the_checkpoint_may_outlast_the_callers_statement_bound_but_nothing_else_does(
    database_url: str,
) -> None:
    """The checkpoint reads every case's chain in one snapshot: batch work, with its own bound; every other
    statement, `audit verify`'s snapshot for a caller of the API included, keeps the service's
    (MVP_DB_STATEMENT_TIMEOUT, 15 s by default)."""
    engine = engine_for(database_url, waits=Waits(statement=15.0))
    try:
        with snapshot(engine, BATCH_STATEMENT_TIMEOUT) as session:
            assert session.execute(text("SHOW statement_timeout")).scalar_one() == BATCH_STATEMENT_TIMEOUT
        with snapshot(engine) as session:
            assert session.execute(text("SHOW statement_timeout")).scalar_one() == "15s"
        with engine.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "15s"
    finally:
        engine.dispose()
