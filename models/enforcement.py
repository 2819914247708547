"""Enforcement checks and actions (PROTOCOL.md §6, §9): the messages the enforcement workflows and
activities exchange, one model per input and result.

The person checked is named only by a keyed hash (`Subject.key`): no name, date of birth or Home
Office reference enters Temporal or the enforcement tables.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from models.case import Actor, DecisionKind, Message, Outcome, Phase
from models.text import Note


class SubjectKind(StrEnum):
    ho_ref = "ho_ref"  # a Home Office reference
    name_dob = "name_dob"  # family name, given names and date of birth


SUBJECT_BINDING = "enforcement-check-subject"  # what `Subject.name_sealed` is sealed bound to


class Subject(Message):
    """Who a check is about: how they were given, and the keyed hash of it (`Keys.person_hash` or
    `Keys.reference_hash`). For possible matches (`protocol.identity`) it also carries the keyed hashes of
    the near references, or of the date of birth and its near dates with the normalised name sealed
    (`Keyring.seal_text`, bound to `SUBJECT_BINDING`): never a name, date or reference in clear."""

    kind: SubjectKind
    key: str = Field(min_length=16)
    near_ref_keys: list[str] = Field(default_factory=list)
    birth_key: str | None = None
    near_birth_keys: list[str] = Field(default_factory=list)
    name_sealed: str | None = None


class EnforcementAction(StrEnum):
    detained = "detained"
    removed = "removed"


# --- the check -------------------------------------------------------------------------------------


class CheckRequest(Message):
    """The input of `EnforcementCheckWorkflow`."""

    check_id: str
    actor: Actor
    reason: Note = Field(min_length=3)
    subject: Subject


class FindHolds(Message):
    subject: Subject


class HoldMatch(Message):
    """One hold row that matched the subject, with what its case's read model says now."""

    case_id: str
    subject: str  # "person" or "dependant-N"
    hold_active: bool
    phase: Phase
    outcome: Outcome | None = None
    pending_decisions: list[DecisionKind] = Field(default_factory=list)
    lifted_by: str | None = None  # actor label, e.g. "supervisor:SUP-7"
    case_officer: str | None = None  # actor label of the officer who opened the case
    possible: bool = False  # a possible match (near name, date of birth or reference), not an exact one


class HoldMatches(Message):
    matches: list[HoldMatch]


class Verdict(Message):
    """The answer to an enforcement check."""

    permitted: bool
    reason: str
    case_ids: list[str] = Field(default_factory=list)  # refused: the protecting cases; permitted: lifted ones
    officers: list[str] = Field(default_factory=list)  # whom to contact about a refusal
    notify_case_ids: list[str] = Field(default_factory=list)  # open cases whose officer is told
    possible_case_ids: list[str] = Field(default_factory=list)  # refusing only on a possible match

    @property
    def possible_match(self) -> bool:
        """Refused, and only on possible matches: the case officer must say whether it is the person."""
        return not self.permitted and set(self.case_ids) == set(self.possible_case_ids)

    @property
    def word(self) -> str:
        return "permitted" if self.permitted else "refused"


class RecordCheck(Message):
    check_id: str
    at: datetime
    actor: Actor
    reason: str
    subject: Subject
    verdict: Verdict


class CheckResult(Message):
    """What `EnforcementCheckWorkflow` returns and `enforcement check --json` prints."""

    check_id: str
    at: datetime
    actor: str
    verdict: Verdict


# --- the action ------------------------------------------------------------------------------------


class ActionRequest(Message):
    """The input of `EnforcementActionWorkflow`."""

    action_id: str
    check_id: str
    actor: Actor
    action: EnforcementAction


class LoadCheck(Message):
    check_id: str


class CheckOnRecord(Message):
    """A recorded check, as an action is validated against it."""

    check_id: str
    at: datetime
    actor: str
    permitted: bool
    subject: Subject
    case_ids: list[str]
    actions: list[EnforcementAction] = Field(default_factory=list)  # already recorded after it


class CheckFound(Message):
    check: CheckOnRecord | None


class RecordAction(Message):
    action_id: str
    check_id: str
    at: datetime
    actor: Actor
    action: EnforcementAction
    subject_key: str
    case_id: str | None


class ActionRecorded(Message):
    """`recorded` is False when the same action on the same check was recorded by another request."""

    recorded: bool


class ActionResult(Message):
    action_id: str
    check_id: str
    at: datetime
    actor: str
    action: EnforcementAction
    case_id: str | None
