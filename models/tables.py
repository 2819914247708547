"""Postgres tables: the case read model, the holds enforcement teams query, the append-only case
record, the notice outbox, and the Home Office reference records. The schema changes only through
Alembic (`migrations/`).

Personal data is never stored in clear here except in the Home Office's own reference records:
a referral is kept sealed (AES-GCM, `infra.keys`) and holds are found by keyed hashes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def _json() -> Any:
    return Field(default_factory=list, sa_column=Column(JSONB, nullable=False))


def _tz(**kwargs: Any) -> Any:
    nullable = kwargs.pop("nullable", True)
    return Field(sa_column=Column(DateTime(timezone=True), nullable=nullable, **kwargs), default=None)


class CaseRow(SQLModel, table=True):
    __tablename__ = "cases"

    case_id: str = Field(primary_key=True)
    revision: int
    policy_version: str
    phase: str = Field(index=True)
    hold_active: bool = Field(index=True)
    hold_grounds: list[str] = _json()
    outcome: str | None = Field(default=None, index=True)
    force_code: str = Field(index=True)
    crime_type: str = Field(index=True)
    role: str
    referral_channel: str
    status_at_referral: str | None = None
    exclusion_indicators: list[str] = _json()
    pending_decisions: list[str] = _json()
    contact_overdue: bool = False
    referred_at: datetime = _tz(nullable=False)
    opened_at: datetime = _tz(nullable=False)
    closed_at: datetime | None = _tz()
    next_contact_due: datetime | None = _tz()
    overdue_since: datetime | None = _tz()
    updated_at: datetime = _tz(nullable=False)
    view: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    # what `mvp report` counts of the case whatever the period (`protocol.statistics.Tally`), written by the
    # store with every step (migration 0010); the defaults are a case not yet screened, with no application
    report_status: str = Field(default="not_screened")
    report_may_apply: bool = True
    report_stage: str | None = None
    first_applied_at: datetime | None = _tz()
    # migration 0009 derives `exclusion_overridden` from the view, a stored generated column for the report;
    # Postgres writes it, so the model leaves it out
    referral_sealed: str | None = None  # the referral as received, encrypted; purged at retention
    crime_ref_key: str | None = Field(default=None, index=True)  # keyed hash: duplicates are found by it
    # keyed hashes `mvp cases find` searches by (`Keys.referral_id_hash`, `Keys.officer_hash`)
    referral_id_key: str | None = Field(default=None, index=True)
    officer_key: str | None = Field(default=None, index=True)  # the referring police officer's id
    case_officer: str | None = Field(default=None, index=True)  # actor label of the IE officer who owns it
    purged_at: datetime | None = _tz()
    # set by the worker's watcher when the case's workflow was ended or deleted outside the service (null: fine)
    engine_alert: str | None = None
    engine_alert_at: datetime | None = _tz()


class HoldRow(SQLModel, table=True):
    """One row per protected person, dependants included. Found by keyed hashes, never by name."""

    __tablename__ = "holds"

    case_id: str = Field(primary_key=True)
    subject: str = Field(primary_key=True)  # "person" or "dependant-1", "dependant-2", ...
    identity_key: str = Field(index=True)  # keyed hash of the normalised name and date of birth
    ho_ref_key: str | None = Field(default=None, index=True)  # keyed hash of the canonical HO reference
    # For possible matches (`protocol.identity`): candidates are found by the keyed hash of the date of
    # birth (and of its near dates), then scored on the normalised name, sealed and bound to this row.
    birth_key: str | None = Field(default=None, index=True)
    name_sealed: str | None = None
    active: bool
    grounds: list[str] = _json()
    placed_at: datetime = _tz(nullable=False)
    lifted_at: datetime | None = _tz()
    lifted_by: str | None = None


class RecordRow(SQLModel, table=True):
    """The case's append-only record (NPCC §10): what happened, and for a sharing what, when, with
    whom and why. Each entry carries the hash of the one before it."""

    __tablename__ = "case_record"

    case_id: str = Field(primary_key=True)
    seq: int = Field(primary_key=True)
    at: datetime = _tz(nullable=False)
    actor: str
    action: str = Field(index=True)
    summary: str
    shared_what: list[str] = _json()
    shared_with: str | None = None
    shared_why: list[str] = _json()
    note_digest: str | None = None  # sha256 of the entry's sealed note in case_notes, if it has one
    prev_hash: str
    entry_hash: str


class OutboxRow(SQLModel, table=True):
    """A notice waiting to go, or gone. Its key makes a retried send a no-op."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_case", "case_id"),)

    key: str = Field(primary_key=True)
    case_id: str
    recipient: str
    kind: str
    channel: str  # phone, email, post, internal; "suppressed" where no safe channel exists
    language: str
    # pending, sending (leased to one dispatcher), sent, failed (rejected or given up: a task),
    # task (addressed inside IE: it became a task), suppressed
    status: str = Field(index=True)
    attempts: int = 0
    facts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    address_sealed: str | None = None
    suppressed_reason: str | None = None
    provider_ref: str | None = None  # the provider's notification id
    created_at: datetime = _tz(nullable=False)
    sent_at: datetime | None = _tz()
    reference: str | None = None  # opaque, random: the provider's `reference`, to find a send again
    lease_until: datetime | None = _tz()
    next_attempt_at: datetime | None = _tz()
    last_error: str | None = None
    failure_reason: str | None = None  # the provider's reason for a permanent rejection, or why we gave up
    delivery_status: str | None = None  # as the provider reports it: delivered, permanent-failure, ...
    status_checked_at: datetime | None = _tz()


class TaskRow(SQLModel, table=True):
    """Work for the case officer or the supervisors: a notice addressed inside IE, a notice to pass on by
    hand, a notice the provider refused. The text is sealed: it may carry the person's circumstances."""

    __tablename__ = "tasks"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    case_id: str = Field(index=True)
    kind: str
    owner: str  # an officer's actor label, or the team "supervisors"
    due_at: datetime = _tz(nullable=False)
    state: str  # open | done
    done_by: str | None = None
    done_at: datetime | None = _tz()
    created_at: datetime = _tz(nullable=False)
    text_sealed: str
    language: str


class ImmigrationStatusRow(SQLModel, table=True):
    __tablename__ = "ho_immigration_status"
    __table_args__ = (Index("ix_ho_status_identity", "family_name", "given_names", "date_of_birth"),)

    home_office_ref: str = Field(primary_key=True)
    given_names: str
    family_name: str
    date_of_birth: date
    status: str
    last_leave: str | None = None
    leave_expires: date | None = None
    notes: str | None = None


class CriminalRecordRow(SQLModel, table=True):
    __tablename__ = "ho_criminal_records"
    __table_args__ = (Index("ix_ho_crime_identity", "family_name", "given_names", "date_of_birth"),)

    home_office_ref: str = Field(primary_key=True)
    given_names: str
    family_name: str
    date_of_birth: date
    convictions: list[dict[str, Any]] = _json()
    markers: list[str] = _json()


class EnforcementCheckRow(SQLModel, table=True):
    """Every enforcement check, permitted or refused: who asked, when, and the answer (PROTOCOL.md §6);
    why they asked is kept sealed apart (`EnforcementCheckReasonRow`). Append-only. The person is named
    only by the keyed hash of what was given (`subject_key`)."""

    __tablename__ = "enforcement_checks"

    check_id: str = Field(primary_key=True)
    at: datetime = _tz(nullable=False)
    actor: str
    verdict: str = Field(index=True)  # permitted | refused
    verdict_reason: str  # case ids and codes only
    case_id: str | None = Field(default=None, index=True)  # the first of case_ids, for statistics
    case_ids: list[str] = _json()
    officers: list[str] = _json()
    subject_kind: str  # ho_ref | name_dob
    possible_match: bool = False  # refused on a possible (not exact) match: the officer must be asked
    # Before 0007 the keyed hash of the person was kept here, for ever; now it is kept apart
    # (`EnforcementSubjectRow`) so that retention can remove it. Always NULL since 0007.
    subject_key: str | None = Field(default=None, index=True)


class EnforcementCheckReasonRow(SQLModel, table=True):
    """Why enforcement asked, as they gave it: free text that may name or describe the person, so sealed,
    and removed at retention with the cases the check concerned. Not append-only."""

    __tablename__ = "enforcement_check_reasons"

    check_id: str = Field(primary_key=True, foreign_key="enforcement_checks.check_id")
    reason_sealed: str


class EnforcementActionRow(SQLModel, table=True):
    """An enforcement action (detained, removed) recorded after a permitted check, for the statistics
    (PROTOCOL.md §9). Append-only; one of each action per check."""

    __tablename__ = "enforcement_actions"
    __table_args__ = (UniqueConstraint("check_id", "action", name="uq_enforcement_actions_check_action"),)

    action_id: str = Field(primary_key=True)
    check_id: str = Field(foreign_key="enforcement_checks.check_id", index=True)
    at: datetime = _tz(nullable=False)
    actor: str
    action: str = Field(index=True)  # detained | removed
    subject_key: str | None = Field(
        default=None, index=True
    )  # always NULL since 0007: see the check's subject
    case_id: str | None = Field(default=None, index=True)


class EnforcementSubjectRow(SQLModel, table=True):
    """Who an enforcement check asked about, as the keyed hash of what was given (`subject_kind` on the check).
    Kept apart from the append-only check log so that retention removes it with the cases the check names:
    a holder of the identity key can then no longer link a purged person to the checks. Not append-only."""

    __tablename__ = "enforcement_subjects"

    check_id: str = Field(primary_key=True, foreign_key="enforcement_checks.check_id")
    subject_key: str = Field(index=True)


class RetentionRunRow(SQLModel, table=True):
    """What each retention run did (`workflows/retention.py`): per case, purged or skipped and why, and what
    was deleted. Case ids, counts and codes only. Written once per run; append-only."""

    __tablename__ = "retention_runs"

    run_id: str = Field(primary_key=True)  # the retention workflow's id
    trigger: str  # schedule | supervisor
    actor: str
    started_at: datetime = _tz(nullable=False)
    finished_at: datetime = _tz(nullable=False)
    due: int
    purged: int
    skipped: int
    cases: list[dict[str, Any]] = _json()


class AccessRow(SQLModel, table=True):
    """Every read of a case or of the case list (PROTOCOL.md §10). Append-only."""

    __tablename__ = "access_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _tz(nullable=False)
    actor: str
    action: str  # case_show, cases_list, report
    case_id: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))


class NoteRow(SQLModel, table=True):
    """An officer's or police officer's free-text note on a record entry, sealed; removed at retention."""

    __tablename__ = "case_notes"

    case_id: str = Field(primary_key=True)
    seq: int = Field(primary_key=True)
    note_sealed: str


class KeyFingerprintRow(SQLModel, table=True):
    """The fingerprint (`infra.keys.fingerprint`) of every key that has sealed or keyed data in this database:
    the identity key (`kind` "identity", `key_id` "identity") and each keyring key by id (`kind` "keyring").
    The first process to use the database records them; a process whose keys do not match refuses to run."""

    __tablename__ = "key_fingerprints"

    kind: str = Field(primary_key=True)
    key_id: str = Field(primary_key=True)
    fingerprint: str
    recorded_at: datetime = _tz(nullable=False)
