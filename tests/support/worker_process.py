"""`mvp worker` as an operator runs it: a separate process with the test's settings in its environment, so a
test can SIGKILL it mid-flight and start another, as a crashed host and its restart would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from infra.settings import Settings

MVP = str(Path(sys.executable).parent / "mvp")
READY_LINE = "worker polling"
READY_SECONDS = 30.0


def worker_env(settings: Settings, temporal_address: str) -> dict[str, str]:
    """The environment of a worker for the test's database, task queue, keys and data folder; nothing of
    the developer's own shell that could point it elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MVP_")}
    env.pop("DATABASE_URL", None)
    env.pop("TEMPORAL_ADDRESS", None)
    assert settings.database_url is not None
    assert settings.encryption_keys is not None and settings.identity_key is not None
    env.update(
        {
            "DATABASE_URL": settings.database_url,
            "TEMPORAL_ADDRESS": temporal_address,
            "MVP_TASK_QUEUE": settings.task_queue,
            "MVP_ENCRYPTION_KEYS": settings.encryption_keys.get_secret_value(),
            "MVP_IDENTITY_KEY": settings.identity_key.get_secret_value(),
            "MVP_DATA_DIR": str(settings.data_dir),
            "MVP_ENV": "test",
        }
    )
    if settings.case_key_dir is not None:
        env["MVP_CASE_KEY_DIR"] = str(settings.case_key_dir)
    return env


class WorkerProcess:
    """One `mvp worker`; its output goes to a file under the test's folder (read it when a test fails)."""

    def __init__(self, settings: Settings, temporal_address: str, log: Path) -> None:
        self._log = log.open("ab")
        self._log_path = log
        self._start = log.stat().st_size
        self.process = subprocess.Popen(
            [MVP, "worker"],
            env=worker_env(settings, temporal_address),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self) -> None:
        """Until the worker says it polls its task queue (bounded)."""
        deadline = time.monotonic() + READY_SECONDS
        while READY_LINE not in self.output():
            if self.process.poll() is not None:
                raise AssertionError(f"the worker exited ({self.process.returncode}):\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the worker did not start polling:\n{self.output()}")
            time.sleep(0.1)

    def output(self) -> str:
        with self._log_path.open("rb") as read:
            read.seek(self._start)
            return read.read().decode(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no graceful shutdown, in-flight tasks abandoned."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


@contextmanager
def worker_process(settings: Settings, temporal_address: str, log: Path) -> Iterator[WorkerProcess]:
    """A running worker process until the block ends (killed or stopped by then, or stopped here)."""
    log.touch()
    worker = WorkerProcess(settings, temporal_address, log)
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()
