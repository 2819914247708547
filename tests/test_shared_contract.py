"""The shared example inputs are the contract: this service accepts each as it is, from an exact copy."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from protocol.intake import parse_records, parse_referral


def referral_problems(raw: object, now: datetime) -> list[str]:
    return parse_referral(raw, now)[1]


def records_problems(raw: object, now: datetime) -> list[str]:
    return parse_records(raw, now)[1]


REPO = Path(__file__).parents[1]
SHARED_EXAMPLES = REPO.parent / "shared" / "examples"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

if not SHARED_EXAMPLES.is_dir():
    pytest.skip(f"{SHARED_EXAMPLES} is absent: a fresh clone has no shared folder", allow_module_level=True)

SHARED = sorted(SHARED_EXAMPLES.glob("*.json"))


@pytest.mark.parametrize("shared", SHARED, ids=lambda path: path.name)
def test_shared_example_parses_without_problems(shared: Path) -> None:
    raw = json.loads(shared.read_bytes())
    problems = records_problems(raw, NOW) if shared.name == "records.json" else referral_problems(raw, NOW)

    assert problems == []


@pytest.mark.parametrize("shared", SHARED, ids=lambda path: path.name)
def test_shared_example_is_copied_byte_for_byte(shared: Path) -> None:
    assert (REPO / "examples" / shared.name).read_bytes() == shared.read_bytes()


def test_every_shared_example_is_checked() -> None:
    assert SHARED, f"no JSON examples in {SHARED_EXAMPLES}"
