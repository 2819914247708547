"""Activity inputs and outputs: one model per activity."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from models.case import CaseView, Message, Notice, RecordEntry
from models.records import CriminalRecord, ImmigrationStatusRecord
from models.referral import Referral


class PersistStep(Message):
    """Everything one step of a case writes, in one transaction. `referral` only when the case opens."""

    case_id: str
    at: datetime
    view: CaseView
    records: list[RecordEntry]
    notices: list[Notice]
    referral: Referral | None = None
    # an officer amended the referral (issue 12): stored sealed again, holds for new dependants, pending
    # notices re-routed
    amended_referral: Referral | None = None
    lifted_by: str | None = None
    # the Home Office reference screening matched, so that a check by reference finds a person referred
    # without one
    matched_home_office_ref: str | None = None


class DeliverNotices(Message):
    case_id: str


class Delivered(Message):
    sent: int
    suppressed: int
    pending: int


class LookUpPerson(Message):
    home_office_ref: str | None
    family_name: str
    given_names: str
    date_of_birth: date


class RecordsFound(Message):
    immigration_status: ImmigrationStatusRecord | None
    criminal_record: CriminalRecord | None
    # found by the referral's Home Office reference but disagreeing with the referral ("family name",
    # "date of birth"): the records are not used (PROTOCOL.md §4); the fields only, never their values
    reference_mismatch: list[str] = Field(default_factory=list)
