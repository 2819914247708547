"""`mvp stack run` as `make run` starts it, on a private data folder and free ports, for end-to-end tests.

with running_stack(tmp_path) as stack:
    stack.mvp("records", "load", "examples/records.json", actor="officer:NCCU-0042")
    assert stack.stop() == 0
assert not processes_using(stack.data_dir)
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from devstack.stack import READY_LINE
from tests.support.api import free_port

BIN = Path(sys.executable).parent
REPO_ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 120.0
STOP_SECONDS = 30.0

# Settings a developer's shell might carry that would point the stack or the CLI somewhere else.
_INHERITED_SETTINGS = ("DATABASE_URL", "TEMPORAL_ADDRESS")


@dataclass(frozen=True)
class StackPorts:
    temporal: int
    ui: int
    api: int
    issuer: int

    @classmethod
    def free(cls) -> StackPorts:
        ports: set[int] = set()
        while len(ports) < 4:
            ports.add(free_port())
        temporal, ui, api, issuer = sorted(ports)
        return cls(temporal=temporal, ui=ui, api=api, issuer=issuer)


@dataclass
class StackHandle:
    """A running `mvp stack run`. `env` is what a second terminal needs: `mvp` commands run with it find
    the stack through `<data_dir>/stack.env`, as a developer's would."""

    process: subprocess.Popen[str]
    data_dir: Path
    env: dict[str, str]
    ports: StackPorts
    lines: list[str] = field(default_factory=list)
    stack_env: dict[str, str] = field(default_factory=dict)
    children: list[psutil.Process] = field(default_factory=list)  # the stack's children once it was ready

    @property
    def output(self) -> str:
        return "".join(self.lines)

    @property
    def temporal_address(self) -> str:
        return self.stack_env["TEMPORAL_ADDRESS"]

    @property
    def database_url(self) -> str:
        return self.stack_env["DATABASE_URL"]

    def mvp(
        self, *args: str, actor: str | None = None, check: bool = True, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """`.venv/bin/mvp ARGS` from the project folder, as typed in a second terminal."""
        env = dict(self.env)
        if actor is not None:
            env["MVP_ACTOR"] = actor
        result = subprocess.run(
            [str(BIN / "mvp"), *args],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"`mvp {' '.join(args)}` exited {result.returncode}\n"
                f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
            )
        return result

    def stop(self, sig: int = signal.SIGINT, timeout: float = STOP_SECONDS) -> int:
        """Send `sig` (Ctrl-C by default) and return the exit code; fails if it takes over `timeout`."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the stack did not stop within {timeout:.0f} s of {signal.Signals(sig).name}:\n{self.output}"
            ) from None

    def wait(self, timeout: float = STOP_SECONDS) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the stack still ran after {timeout:.0f} s:\n{self.output}") from None

    def leftover_processes(self) -> list[psutil.Process]:
        """The stack's children that outlived it, and any process still using its data folder."""
        found = {p.pid: p for p in processes_using(self.data_dir)}
        for child in self.children:
            with contextlib.suppress(psutil.NoSuchProcess):
                if child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
                    found[child.pid] = child
        return list(found.values())


def stack_environment(data_dir: Path, ports: StackPorts) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _INHERITED_SETTINGS and not k.startswith("MVP_")}
    env.update(
        MVP_DATA_DIR=str(data_dir),
        MVP_TEMPORAL_ADDRESS=f"127.0.0.1:{ports.temporal}",
        MVP_TEMPORAL_UI_PORT=str(ports.ui),
        MVP_API_PORT=str(ports.api),
        MVP_ISSUER_PORT=str(ports.issuer),
        PYTHONUNBUFFERED="1",
    )
    return env


@contextlib.contextmanager
def running_stack(
    tmp_path: Path,
    *,
    ports: StackPorts | None = None,
    command: Sequence[str] | None = None,
    timeout: float = START_SECONDS,
) -> Iterator[StackHandle]:
    """Start `mvp stack run` on `<tmp_path>/data` and wait until it says it is ready.

    On leaving, a stack still running gets Ctrl-C, and any process it left behind fails the test. After a
    failure the stack and whatever it started are killed, so a failing test does not leave servers running.
    """
    data_dir = tmp_path / "data"
    ports = ports or StackPorts.free()
    env = stack_environment(data_dir, ports)
    process = subprocess.Popen(
        list(command or [str(BIN / "mvp"), "stack", "run"]),
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    handle = StackHandle(process=process, data_dir=data_dir, env=env, ports=ports)
    reader = threading.Thread(target=_read_lines, args=(process, handle.lines), daemon=True)
    reader.start()
    stopped_cleanly = False
    try:
        _wait_until_ready(handle, timeout)
        yield handle
        if process.poll() is None:
            handle.stop()
        stopped_cleanly = True
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        leftovers = _kill(handle.leftover_processes())
        reader.join(5)
        if process.stdout is not None:
            process.stdout.close()
    if stopped_cleanly and leftovers:
        raise AssertionError(f"the stack left processes running (now killed): {leftovers}")


def processes_using(data_dir: Path) -> list[psutil.Process]:
    """Processes whose command line, working folder or MVP_DATA_DIR is in `data_dir` (Postgres' backends
    work inside their data folder; the worker has MVP_DATA_DIR)."""
    needle = str(data_dir)
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd", "environ", "status"]):
        if proc.pid == os.getpid() or proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        places = [*(proc.info["cmdline"] or []), proc.info["cwd"] or ""]
        places.append((proc.info["environ"] or {}).get("MVP_DATA_DIR", ""))
        if any(needle in place for place in places):
            found.append(proc)
    return found


def _kill(processes: list[psutil.Process]) -> list[str]:
    described = []
    for proc in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            described.append(f"{proc.pid} {' '.join(proc.cmdline())}")
            proc.kill()
    return described


def _read_lines(process: subprocess.Popen[str], lines: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)


def _wait_until_ready(handle: StackHandle, timeout: float) -> None:
    stack_env = handle.data_dir / "stack.env"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = handle.process.poll()
        if code is not None:
            time.sleep(0.2)  # let the reader take the last lines
            raise AssertionError(f"`mvp stack run` exited {code} before it was ready:\n{handle.output}")
        if any(READY_LINE in line for line in handle.lines) and stack_env.exists():
            handle.stack_env = _read_env(stack_env)
            with contextlib.suppress(psutil.NoSuchProcess):
                handle.children = psutil.Process(handle.process.pid).children(recursive=True)
            return
        time.sleep(0.2)
    raise AssertionError(f"`mvp stack run` was not ready within {timeout:.0f} s:\n{handle.output}")


def _read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values
