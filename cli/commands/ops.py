"""Running the service (operators and developers): the embedded stack, the worker, the API, the schema and
the keys. These run server-side and import the server's code only when they run."""

from __future__ import annotations

import typer

from cli import render

stack_app = typer.Typer(no_args_is_help=True, help="The embedded development stack.")
db_app = typer.Typer(no_args_is_help=True, help="The Postgres schema.")
keys_app = typer.Typer(no_args_is_help=True, help="Encryption keys.")


def _settings(find_stack: bool = True):  # type: ignore[no-untyped-def]
    from pydantic import ValidationError

    from cli.client import CliError
    from infra.settings import load_settings

    try:
        return load_settings(find_stack=find_stack)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in error.errors()
        )
        raise CliError(f"Settings are not valid: {problems}", 5) from None


@stack_app.command("run")
def stack_run(
    training: bool = typer.Option(
        False,
        "--training",
        help="Training mode (as MVP_TRAINING=1): a rehearsal stack in .data/training/ on its own ports, where "
        "a supervisor may move a case's clock (`mvp training advance`). Refused with production settings.",
    ),
) -> None:
    """Start Postgres, Temporal, the worker, the API and the development token issuer under .data/; Ctrl-C
    stops them and the data stays."""
    import os

    from devstack.stack import run_stack

    if training:  # before the settings are read: the data folder and ports follow it, and so do the children
        os.environ["MVP_TRAINING"] = "1"
    raise typer.Exit(run_stack(_settings(find_stack=False)))


def worker() -> None:
    """Run the case worker against TEMPORAL_ADDRESS and DATABASE_URL until SIGINT or SIGTERM."""
    import asyncio
    import logging

    from worker import run_until_signalled

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(run_until_signalled(_settings()))


def api(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int | None = typer.Option(None, help="Port (default MVP_API_PORT, 8235)."),
) -> None:
    """Serve the case API (FastAPI on uvicorn) until SIGINT or SIGTERM."""
    import logging

    import uvicorn

    from api.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = _settings()
    uvicorn.run(create_app(settings), host=host, port=port or settings.api_port, log_level="warning")


@db_app.command("migrate")
def db_migrate() -> None:
    """Bring the schema at DATABASE_URL to the newest revision (Alembic; safe to run again)."""
    from cli.client import CliError
    from infra.db import migrate

    settings = _settings()
    url = settings.migration_database_url or settings.database_url
    if not url:
        raise CliError("DATABASE_URL (or MVP_MIGRATION_DATABASE_URL) is not set.", 5)
    migrate(url, service_role=settings.service_role)
    render.out.print("Schema is up to date.")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new current key to the key file; old keys stay so running cases' payloads still open."""
    import contextlib

    from cli.client import CliError
    from infra.errors import Unavailable
    from infra.keyguard import checked_keys
    from infra.keys import rotate_key_file

    settings = _settings()
    if settings.encryption_keys is not None:
        raise CliError("Keys come from MVP_ENCRYPTION_KEYS: put the new id:key first there and restart.", 2)
    path = settings.resolved_key_file
    if not path.is_file():
        raise CliError(f"No key file at {path}.", 5)
    key_id = rotate_key_file(path)
    with contextlib.suppress(Unavailable):  # no database configured: the next command records it
        checked_keys(settings)  # records the new key's fingerprint
    render.out.print(
        f"New current key {key_id} in {path}; a running worker and API pick it up within seconds."
    )
