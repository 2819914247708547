"""The retention workflow's messages (PROTOCOL.md §10): one input, one message per activity, one report.

Case ids and counts only: nothing here names a person."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from models.case import Message


class Trigger(StrEnum):
    schedule = "schedule"  # the Temporal Schedule the worker keeps
    supervisor = "supervisor"  # `mvp retention purge`


class PurgeRun(Message):
    """The retention workflow's input."""

    actor: str  # who the purge is recorded as: a supervisor's label, or the system for the schedule
    trigger: Trigger = Trigger.schedule


class FindDue(Message):
    at: datetime


class DueCase(Message):
    case_id: str
    outcome: str | None = None
    closed_at: datetime


class DueCases(Message):
    cases: list[DueCase] = Field(default_factory=list)


class PurgeOne(Message):
    case_id: str
    at: datetime
    actor: str


class CasePurge(Message):
    """What the purge of one case did, or why it was skipped."""

    case_id: str
    purged: bool
    skipped: str | None = None  # a sentence: why the case was left for the next run
    runs_deleted: int = 0  # runs of the case's workflow deleted from Temporal
    enforcement_workflows_deleted: int = 0  # check-… and action-… workflows naming the case
    holds_removed: int = 0
    subject_keys_removed: int = 0


class RecordRun(Message):
    run_id: str
    trigger: Trigger
    actor: str
    started_at: datetime
    finished_at: datetime
    cases: list[CasePurge] = Field(default_factory=list)


class PurgeReport(Message):
    """The retention workflow's result, and what `mvp retention purge` prints."""

    run_id: str
    trigger: Trigger
    started_at: datetime
    finished_at: datetime
    due: int
    purged: list[str] = Field(default_factory=list)
    skipped: list[CasePurge] = Field(default_factory=list)
    cases: list[CasePurge] = Field(default_factory=list)
