"""Enforcement checks (PROTOCOL.md §6): before any enforcement step, IE enforcement teams ask whether the
person is protected. Pure rules: who may ask, how the person is given, the answer, and whether an
enforcement action may be recorded after a check.

The answer, for every case whose hold covers the person (as the person or as a dependant):

- a hold in force refuses the check, naming the case and the officer to contact; so does an exclusion
  or release decision still awaiting a supervisor;
- a closed case permits it only where a supervisor lifted the hold (excluded, or hold released);
- any other closed case (regularised, status confirmed, departed, withdrawn) refuses it: no supervisor
  decided that enforcement may follow, so the case officer must be asked;
- a person with no case is not protected by the protocol: permitted;
- a *possible* match (`protocol.identity`) is answered as an exact one would be, and a refusal says
  "possible match: contact the case officer" (fail closed: when unsure, the person is protected).

Messages never echo a name, a date of birth or a reference: they may end up in logs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from models.case import Actor, ActorRole, DecisionKind, Outcome, Phase
from models.enforcement import CheckOnRecord, EnforcementAction, HoldMatch, SubjectKind, Verdict
from protocol.identity import POSSIBLE_MATCH

OLDEST_AGE_YEARS = 120  # as at intake: a date of birth further back than this is a mistyped year
PERSON_FORMAT = 'a Home Office reference (e.g. HO-1234567) or "FAMILY_NAME, GIVEN_NAMES, YYYY-MM-DD"'

# Outcomes whose hold only a supervisor lifts (PROTOCOL.md §4, §6).
SUPERVISOR_LIFTS = frozenset({Outcome.excluded, Outcome.hold_released})

_HO_REF = re.compile(r"[A-Z0-9][A-Z0-9/-]{3,23}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

_CLOSED_WITHOUT_SUPERVISOR = {
    Outcome.regularised: "the person was granted leave",
    Outcome.status_confirmed: "Home Office records confirmed a secure status",
    Outcome.departed: "closed as departed, not lifted by a supervisor",
    Outcome.withdrawn: "closed as withdrawn, not lifted by a supervisor",
}


@dataclass(frozen=True)
class PersonSpec:
    """The person as `--person` gives them: a Home Office reference, or name and date of birth."""

    kind: SubjectKind
    parts: tuple[str, ...]  # (reference,) or (family name, given names, date of birth ISO)


# --- who and whom ----------------------------------------------------------------------------------


def parse_person(value: str, today: date) -> PersonSpec:
    """`HO-7781203` or `Rahman, Amina, 1998-03-14`; raises ValueError naming the problem (never the value)."""
    text = value.strip()
    if not text:
        raise ValueError(f"--person is empty: give {PERSON_FORMAT}")
    if "," not in text:
        ref = "".join(text.split()).upper()  # "ho 9182736" is HO9182736 (`protocol.identity`)
        if not _HO_REF.fullmatch(ref) or not any(c.isdigit() for c in ref):
            raise ValueError(f"--person is not a Home Office reference: give {PERSON_FORMAT}")
        return PersonSpec(SubjectKind.ho_ref, (ref,))
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3:
        raise ValueError(
            f"--person has {len(parts)} comma-separated parts; a name and date of birth needs 3: "
            f"{PERSON_FORMAT}"
        )
    family, given, born = parts
    for label, name in (("family name", family), ("given names", given)):
        if not any(c.isalpha() for c in name):
            raise ValueError(f"--person: the {label} is missing or has no letters ({PERSON_FORMAT})")
    if not _ISO_DATE.fullmatch(born):
        raise ValueError("--person: the date of birth must be written YYYY-MM-DD")
    try:
        dob = date.fromisoformat(born)
    except ValueError:
        raise ValueError("--person: the date of birth is not a real date") from None
    if dob > today:
        raise ValueError("--person: the date of birth is in the future")
    if dob.year < today.year - OLDEST_AGE_YEARS:
        raise ValueError(f"--person: the date of birth is more than {OLDEST_AGE_YEARS} years ago")
    return PersonSpec(SubjectKind.name_dob, (family, given, dob.isoformat()))


# --- the answer ------------------------------------------------------------------------------------


def _who(match: HoldMatch) -> str:
    return "the person" if match.subject == "person" else "a dependant"


def _refusal(match: HoldMatch) -> str | None:
    """Why this case refuses the check, or None if its hold was lifted by a supervisor. A possible match
    (a near name, date of birth or reference) refuses as an exact one does, saying so: only the case
    officer can tell whether it is the same person."""
    why = _exact_refusal(match)
    if why is None or not match.possible:
        return why
    return f"case {match.case_id}: {POSSIBLE_MATCH}"


def _exact_refusal(match: HoldMatch) -> str | None:
    case = f"case {match.case_id}"
    if match.phase is not Phase.closed or match.hold_active:
        if DecisionKind.exclusion in match.pending_decisions:
            return f"{case}: an exclusion decision is pending with a supervisor; the hold stays in force"
        if DecisionKind.release in match.pending_decisions:
            return f"{case}: a release decision is pending with a supervisor; the hold stays in force"
        return f"{case}: {_who(match)} is protected (hold in force)"
    if match.outcome in SUPERVISOR_LIFTS:
        if (match.lifted_by or "").startswith(f"{ActorRole.supervisor.value}:"):
            return None
        return f"{case}: closed as {match.outcome.value} but no supervisor's lifting of the hold is on record"
    if match.outcome is None:
        return f"{case}: closed with no outcome on record"
    return f"{case}: {_CLOSED_WITHOUT_SUPERVISOR[match.outcome]}; ask the case officer"


def _unique(values: Sequence[str | None]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def decide(matches: Sequence[HoldMatch]) -> Verdict:
    """The answer to a check, from every hold that matched the person (PROTOCOL.md §6)."""
    if not matches:
        return Verdict(permitted=True, reason="no protocol case matches this person: no hold applies")
    ordered = sorted(matches, key=lambda m: (m.case_id, m.subject))
    refusing = [(m, why) for m in ordered if (why := _refusal(m)) is not None]
    if refusing:
        exact = {m.case_id for m, _ in refusing if not m.possible}
        return Verdict(
            permitted=False,
            reason="; ".join(_unique([why for _, why in refusing])),
            case_ids=_unique([m.case_id for m, _ in refusing]),
            officers=_unique([m.case_officer for m, _ in refusing]),
            notify_case_ids=_unique([m.case_id for m, _ in refusing if m.phase is not Phase.closed]),
            possible_case_ids=_unique([m.case_id for m, _ in refusing if m.case_id not in exact]),
        )
    lifted = _unique(
        [f"case {m.case_id} ({m.outcome.value if m.outcome else '-'} by {m.lifted_by})" for m in ordered]
    )
    return Verdict(
        permitted=True,
        reason="the hold was lifted by a supervisor: " + ", ".join(lifted),
        case_ids=_unique([m.case_id for m in ordered]),
    )


# --- actions after a check -------------------------------------------------------------------------


def action_refusal(
    actor: Actor,
    check_id: str,
    check: CheckOnRecord | None,
    action: EnforcementAction,
    current: Verdict | None,
) -> str | None:
    """Why this enforcement action may not be recorded, or None. `current` is the check's question
    asked again now: a person protected since a permitted check is protected."""
    if actor.role is not ActorRole.enforcement:
        return f"only enforcement teams record enforcement actions; you are {actor.role.value}"
    if check is None:
        return f"no enforcement check {check_id} is on record: run `mvp enforcement check` first"
    if not check.permitted:
        return f"check {check_id} was refused: no enforcement action may follow it"
    if action in check.actions:
        return f"{action.value} is already recorded after check {check_id}"
    if current is None or not current.permitted:
        why = current.reason if current is not None else "it could not be asked again"
        return f"the person is protected again since check {check_id} ({why}): run a new check"
    return None
