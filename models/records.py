"""Home Office reference records, field for field as `examples/records.json`."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import Field

from models.referral import Contract
from models.text import CONVICTIONS_MAX, LIST_MAX, SENTENCE_MONTHS_MAX, Code, Line, Name, Note


class ImmigrationStatus(StrEnum):
    british_citizen = "british_citizen"
    settled = "settled"
    leave_to_remain = "leave_to_remain"
    eu_settlement_scheme = "eu_settlement_scheme"
    pending_application = "pending_application"
    asylum_claimant = "asylum_claimant"
    asylum_dependant = "asylum_dependant"
    no_status = "no_status"
    unknown = "unknown"  # no Home Office record matched: said so, and the hold stays


class ImmigrationStatusRecord(Contract):
    home_office_ref: Code = Field(min_length=1)
    given_names: Name
    family_name: Name
    date_of_birth: date
    status: ImmigrationStatus
    last_leave: Line | None = None
    leave_expires: date | None = None
    notes: Note | None = None


class Conviction(Contract):
    offence: Line
    convicted_on: date
    custodial: bool
    sentence_months: int = Field(ge=0, le=SENTENCE_MONTHS_MAX)
    serious_harm: bool = False


class CriminalRecord(Contract):
    home_office_ref: Code = Field(min_length=1)
    given_names: Name
    family_name: Name
    date_of_birth: date
    convictions: list[Conviction] = Field(default_factory=list, max_length=CONVICTIONS_MAX)
    # e.g. deportation_order, national_security
    markers: list[Code] = Field(default_factory=list, max_length=LIST_MAX)


class RecordsFile(Contract):
    immigration_status: list[ImmigrationStatusRecord] = Field(default_factory=list)
    criminal_records: list[CriminalRecord] = Field(default_factory=list)
