"""Activity inputs and outputs: one model per activity."""

from __future__ import annotations

from datetime import date, datetime

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
