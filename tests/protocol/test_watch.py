"""What the watcher says about a case's workflow, and when it asks: pure rules, no server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from protocol.watch import alert_task_text, engine_alert, worth_asking

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "said"),
    [
        ("TERMINATED", "terminated"),
        ("CANCELED", "cancelled"),
        ("TIMED_OUT", "timed out"),
        ("FAILED", "failed"),
        (None, "deleted"),
    ],
)
def test_a_workflow_ended_or_deleted_outside_the_service_is_an_alert(status: str | None, said: str) -> None:
    assert engine_alert(status) == f"the case's workflow was {said} outside the service"


@pytest.mark.parametrize("status", ["RUNNING", "CONTINUED_AS_NEW", "COMPLETED"])
def test_a_workflow_still_running_the_case_is_no_alert(status: str) -> None:
    assert engine_alert(status) is None


def test_a_row_written_within_the_grace_period_is_not_asked_about_yet() -> None:
    grace = timedelta(minutes=5)
    assert not worth_asking(NOW - timedelta(minutes=4), NOW, grace)
    assert worth_asking(NOW - timedelta(minutes=5), NOW, grace)
    assert worth_asking(NOW - timedelta(days=30), NOW, grace)


def test_the_supervisors_are_told_the_hold_stays_in_force() -> None:
    text = alert_task_text("MVP-2026-ABC123", "the case's workflow was terminated outside the service")
    assert text.startswith("Case MVP-2026-ABC123: the case's workflow was terminated")
    assert "hold stays in force" in text and "enforcement checks are still refused" in text
