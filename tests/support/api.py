"""The case API and the development token issuer, served on free loopback ports in threads of the test process,
exactly as `mvp api` and the stack serve them (uvicorn; the API fetches the issuer's JWKS to verify tokens)."""

from __future__ import annotations

import base64
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from api.app import create_app
from infra.settings import Settings

READY_SECONDS = 20.0
PORTS_FROM = 20_000  # above the well-known and most registered services


def free_port() -> int:
    """A free loopback port below the kernel's ephemeral range. A port the kernel hands out for `bind(0)` is free
    only until someone else asks: the Temporal dev server picks its internal ports that way, and once took the
    frontend port a test had just chosen for it (the server then panics). Below the range, no `bind(0)` can."""
    lowest_ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    while True:
        port = secrets.SystemRandom().randrange(PORTS_FROM, lowest_ephemeral)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


@contextmanager
def serving(app: Callable[..., Any], port: int) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a thread until the block ends; yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + READY_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server on port {port} did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def serving_api(settings: Settings) -> Iterator[str]:
    with serving(create_app(settings), settings.api_port) as url:
        yield url


def api_settings(database_url: str, temporal_address: str, issuer: str, data_dir: Path) -> Settings:
    """Settings of an API on its own database (fresh keys: it reads, and writes only the access log)."""
    return Settings(
        env="test",
        data_dir=data_dir,
        database_url=database_url,
        temporal_address=temporal_address,
        encryption_keys=f"api-1:{base64.b64encode(secrets.token_bytes(32)).decode()}",
        identity_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        oidc_issuer=issuer,
        dev_issuer_url=issuer,
        api_port=free_port(),
    )
