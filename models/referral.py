"""The police referral, field for field as `examples/referral-*.json` (PROTOCOL.md §3).

The field names are the contract with the referring forces: never rename one.
Unknown fields are refused so that a misspelt field is reported instead of silently dropped.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Contract(BaseModel):
    """Base of every input that comes from outside: strict about unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Channel(StrEnum):
    phone = "phone"
    email = "email"
    other = "other"


class CrimeType(StrEnum):
    domestic_abuse = "domestic_abuse"
    modern_slavery = "modern_slavery"
    sexual_offence = "sexual_offence"
    honour_based_abuse = "honour_based_abuse"
    stalking_harassment = "stalking_harassment"
    labour_exploitation = "labour_exploitation"
    other = "other"


class PersonRole(StrEnum):
    victim = "victim"
    witness = "witness"


class Purpose(StrEnum):
    """The NPCC §5.4 purposes of sharing."""

    confirm_status = "confirm_status"  # 5.4.1
    seek_advice = "seek_advice"  # 5.4.2
    assist_investigation = "assist_investigation"  # 5.4.3
    identify_vulnerability = "identify_vulnerability"  # 5.4.4
    assist_protection = "assist_protection"  # 5.4.5
    assist_immigration_functions = "assist_immigration_functions"  # 5.4.6


class ContactChannel(StrEnum):
    phone = "phone"
    email = "email"
    post = "post"
    via_support_worker = "via_support_worker"


class ReferringOfficer(Contract):
    force_code: str = Field(min_length=2, max_length=8)
    officer_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    phone: str | None = None
    email: str | None = None


class Person(Contract):
    given_names: str = Field(min_length=1)
    family_name: str = Field(min_length=1)
    date_of_birth: date
    nationality: str | None = None
    home_office_ref: str | None = None
    address: str | None = None
    location: str | None = None


class AdditionalInformation(Contract):
    """NPCC §6.2: only accepted with the person's views, or why asking was impracticable (§6.3.1)."""

    allegation: str | None = None
    gravity: str | None = None
    protective_measures: str | None = None
    investigation: str | None = None
    assisting_investigation: str | None = None
    person_views: str | None = None
    views_impracticable_reason: str | None = None


class PersonInformed(Contract):
    """NPCC §9: was the person told, or why was that impracticable."""

    intended: bool
    done: bool
    impracticable_reason: str | None = None


class SharingDelayed(Contract):
    """NPCC §7.2: sharing delayed for immediate protective measures, and why."""

    delayed: bool
    reason: str | None = None


class Dependant(Contract):
    given_names: str = Field(min_length=1)
    family_name: str = Field(min_length=1)
    date_of_birth: date
    relationship: str = Field(min_length=1)


class SafeContact(Contract):
    channel: ContactChannel
    phone: str | None = None
    email: str | None = None
    post_is_safe: bool = False
    language: str = Field(min_length=2)
    interpreter_needed: bool = False
    safe_times: str | None = None
    never_contact_via: list[str] = Field(default_factory=list)


class Referral(Contract):
    referral_id: str = Field(min_length=1)
    channel: Channel
    received_at: AwareDatetime
    referring_officer: ReferringOfficer
    crime_reference: str = Field(min_length=1)
    crime_type: CrimeType
    role: PersonRole
    person: Person
    suspected_offence_reason: str = Field(min_length=1)
    additional_information: AdditionalInformation | None = None
    purposes: list[Purpose] = Field(min_length=1)
    person_informed: PersonInformed
    sharing_delayed: SharingDelayed
    dependants: list[Dependant] = Field(default_factory=list)
    safe_contact: SafeContact

    @property
    def force_code(self) -> str:
        return self.referring_officer.force_code
