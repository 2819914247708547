"""Least privilege in Postgres: the API and the worker connect as a service role that may read every table and
append to the record and the access log, but cannot rewrite either: no UPDATE, DELETE or TRUNCATE, and no way
round it by disabling the append-only triggers (only the tables' owner may). The other tables stay writable."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors

from infra.db import APPEND_ONLY, create_login_role, grant_service_role, with_user

RECORD_ROW = (
    "INSERT INTO case_record (case_id, seq, at, actor, action, summary, shared_what, shared_why, prev_hash, "
    "entry_hash) VALUES ('WMP-TEST', 1, now(), 'officer:T-1', 'test', 'a test entry', '[]', '[]', "
    "'genesis', 'h1')"
)
ACCESS_ROW = "INSERT INTO access_log (at, actor, action, detail) VALUES (now(), 'officer:T-1', 'test', '{}')"
REWRITES = {
    "UPDATE": "UPDATE {table} SET actor = 'someone else'",
    "DELETE": "DELETE FROM {table}",
    "TRUNCATE": "TRUNCATE {table}",
    "DISABLE TRIGGER": "ALTER TABLE {table} DISABLE TRIGGER USER",
}


@pytest.fixture
def service_url(database_url: str) -> Iterator[str]:
    """A fresh database (from the migrated template) and a fresh service role granted as `make run` grants
    it; yields the URL that connects as that role."""
    role = "svc_" + uuid.uuid4().hex[:10]
    create_login_role(database_url, role)
    grant_service_role(database_url, role)
    yield with_user(database_url, role)


def tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return sorted(name for (name,) in rows)


def test_the_service_role_appends_to_the_record_and_access_log_and_reads_them(service_url: str) -> None:
    with psycopg.connect(service_url, autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone() != ("postgres",)
        conn.execute(RECORD_ROW)
        conn.execute(ACCESS_ROW)
        assert conn.execute("SELECT count(*) FROM case_record").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM access_log").fetchone() == (1,)


@pytest.mark.parametrize("table", ["case_record", "access_log"])
def test_the_service_role_cannot_rewrite_the_record_or_the_access_log(
    service_url: str, database_url: str, table: str
) -> None:
    with psycopg.connect(service_url, autocommit=True) as conn:
        conn.execute(RECORD_ROW if table == "case_record" else ACCESS_ROW)
        for what, statement in REWRITES.items():
            with pytest.raises(errors.InsufficientPrivilege) as refused:
                conn.execute(statement.format(table=table))
            message = str(refused.value)
            assert "permission denied" in message or "must be owner" in message, (what, message)
        # the triggers are still on, and the entry is still there
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (1,)
    with psycopg.connect(database_url) as owner:
        enabled = owner.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal "
            "AND tgenabled = 'O'",
            (table,),
        ).fetchone()
        assert enabled == (2,)  # append-only (UPDATE, DELETE) and no-truncate


def test_the_service_role_may_write_the_other_tables_but_not_the_migration_version(
    service_url: str, database_url: str
) -> None:
    writable = [t for t in tables(database_url) if t not in APPEND_ONLY and t != "alembic_version"]
    assert {"cases", "outbox"} <= set(writable), writable
    with psycopg.connect(service_url, autocommit=True) as conn:
        for table in writable:
            conn.execute(f"SELECT * FROM {table} LIMIT 1")
            column = conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s LIMIT 1", (table,)
            ).fetchone()
            assert column is not None
            conn.execute(f"UPDATE {table} SET {column[0]} = {column[0]} WHERE false")
            conn.execute(f"DELETE FROM {table} WHERE false")
        for table in APPEND_ONLY:
            conn.execute(f"SELECT * FROM {table} LIMIT 1")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("DELETE FROM alembic_version")
