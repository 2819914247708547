"""The police referral, field for field as `examples/referral-*.json` (PROTOCOL.md §3).

The field names are the contract with the referring forces: never rename one.
Unknown fields are refused so that a misspelt field is reported instead of silently dropped.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from models.text import LIST_MAX, Code, ForceCode, Identifier, Line, Name, Note


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
    force_code: ForceCode
    officer_id: Identifier
    name: Name = Field(min_length=1)
    phone: Code | None = None
    email: Line | None = None


class Person(Contract):
    given_names: Name = Field(min_length=1)
    family_name: Name = Field(min_length=1)
    date_of_birth: date
    nationality: Code | None = None
    home_office_ref: Code | None = None
    address: Line | None = None
    location: Line | None = None


class AdditionalInformation(Contract):
    """NPCC §6.2: only accepted with the person's views, or why asking was impracticable (§6.3.1)."""

    allegation: Note | None = None
    gravity: Note | None = None
    protective_measures: Note | None = None
    investigation: Note | None = None
    assisting_investigation: Note | None = None
    person_views: Note | None = None
    views_impracticable_reason: Note | None = None


class PersonInformed(Contract):
    """NPCC §9: was the person told, or why was that impracticable."""

    intended: bool
    done: bool
    impracticable_reason: Note | None = None


class SharingDelayed(Contract):
    """NPCC §7.2: sharing delayed for immediate protective measures, and why."""

    delayed: bool
    reason: Note | None = None


class Dependant(Contract):
    given_names: Name = Field(min_length=1)
    family_name: Name = Field(min_length=1)
    date_of_birth: date
    relationship: Line = Field(min_length=1)


class SafeContact(Contract):
    channel: ContactChannel
    phone: Code | None = None
    email: Line | None = None
    post_is_safe: bool = False
    language: Code = Field(min_length=2)
    interpreter_needed: bool = False
    safe_times: Line | None = None
    never_contact_via: list[Line] = Field(default_factory=list, max_length=LIST_MAX)
    # Set by the service, not by police: a contact attempt found it unsafe for the person to talk. Until a
    # contact reaches them or the officer amends the safe contact, notices to the person are held (each
    # becomes a task for the case officer) and nothing is sent to the channel that was unsafe.
    held_since: AwareDatetime | None = None


class Referral(Contract):
    referral_id: Identifier
    channel: Channel
    received_at: AwareDatetime
    referring_officer: ReferringOfficer
    crime_reference: Code = Field(min_length=1)
    crime_type: CrimeType
    role: PersonRole
    person: Person
    suspected_offence_reason: Note = Field(min_length=1)
    additional_information: AdditionalInformation | None = None
    purposes: list[Purpose] = Field(min_length=1)
    person_informed: PersonInformed
    sharing_delayed: SharingDelayed
    dependants: list[Dependant] = Field(default_factory=list, max_length=LIST_MAX)
    safe_contact: SafeContact

    @property
    def force_code(self) -> str:
        return self.referring_officer.force_code
