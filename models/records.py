"""Home Office reference records, field for field as `examples/records.json`."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import Field

from models.referral import Contract


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
    home_office_ref: str = Field(min_length=1)
    given_names: str
    family_name: str
    date_of_birth: date
    status: ImmigrationStatus
    last_leave: str | None = None
    leave_expires: date | None = None
    notes: str | None = None


class Conviction(Contract):
    offence: str
    convicted_on: date
    custodial: bool
    sentence_months: int = Field(ge=0)
    serious_harm: bool = False


class CriminalRecord(Contract):
    home_office_ref: str = Field(min_length=1)
    given_names: str
    family_name: str
    date_of_birth: date
    convictions: list[Conviction] = Field(default_factory=list)
    markers: list[str] = Field(default_factory=list)  # e.g. deportation_order, national_security


class RecordsFile(Contract):
    immigration_status: list[ImmigrationStatusRecord] = Field(default_factory=list)
    criminal_records: list[CriminalRecord] = Field(default_factory=list)
