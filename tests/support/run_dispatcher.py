"""The worker's delivery dispatcher alone, in its own process, configured from the environment as the
worker is: for tests that kill it mid-delivery."""

from __future__ import annotations

import threading

from infra.db import make_engine
from infra.keys import load_keys
from infra.settings import load_settings
from worker import build_dispatcher


def main() -> None:
    settings = load_settings(find_stack=False)
    build_dispatcher(settings, make_engine(settings), load_keys(settings)).run(threading.Event())


if __name__ == "__main__":
    main()
