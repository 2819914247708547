"""CLI tests run `mvp` against a real case API: here `running` (a worker on the test's task queue) also serves
the API and names the development issuer, as `make run` does."""

from __future__ import annotations

import dataclasses

import pytest

from tests.conftest import Running


@pytest.fixture
def running(running: Running, api: str, issuer: str) -> Running:
    return dataclasses.replace(running, api_url=api, issuer_url=issuer)
