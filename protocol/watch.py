"""A case's workflow ended or deleted outside the service (`temporal workflow terminate`, `... delete`): what
the watcher says about it, and which read-model rows it asks Temporal about.

The case's holds are never lifted for it: whoever the case protects stays protected until a supervisor acts
(default deny, fail closed). The watcher only makes the loss loud.
"""

from __future__ import annotations

from datetime import datetime, timedelta

WATCH_ACTOR = "system:watch"
WORKFLOW_LOST = "workflow_lost"  # the record entry's action and the supervisors' task kind

# Temporal's execution statuses (by name) that end a case's workflow without the case closing, and how to say it.
_ENDED = {
    "TERMINATED": "terminated",
    "CANCELED": "cancelled",
    "TIMED_OUT": "timed out",
    "FAILED": "failed",
}


def engine_alert(status: str | None) -> str | None:
    """The alert for a case whose workflow Temporal describes with `status` (None: Temporal has no such
    workflow, it was deleted), or None when the workflow is still there to run the case (running, or
    continued as new, or completed, which it does only after the case closed)."""
    if status is None:
        return "the case's workflow was deleted outside the service"
    ended = _ENDED.get(status)
    if ended is None:
        return None
    return f"the case's workflow was {ended} outside the service"


def worth_asking(updated_at: datetime, now: datetime, grace: timedelta) -> bool:
    """Ask Temporal about a case only once its row has been quiet for `grace`: Temporal's visibility lags
    behind a workflow that has just started or written a step."""
    return updated_at <= now - grace


def alert_summary(alert: str) -> str:
    """The record entry's summary."""
    return f"{alert}; the hold stays in force until a supervisor acts"


def alert_task_text(case_id: str, alert: str) -> str:
    """The supervisors' task: what happened, and that the person is still treated as protected."""
    return (
        f"Case {case_id}: {alert}. The case no longer runs (no contact reminders, no decisions, no notices), "
        "but its hold stays in force and enforcement checks are still refused. Find out who ended it, and "
        "restore the case or decide it by hand."
    )
