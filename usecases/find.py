"""`GET /cases/find` (and `POST`, the search in the body): a case found the way police and the person ask
for it (issue 12; the rules are `protocol.finding`). Everything typed is keyed here, server-side, with the keys
the cases and holds are stored under (`infra.keys`), and compared as keyed hashes; a name is scored against the
holds' sealed names by the enforcement check's rules (`protocol.identity`), as `activities.enforcement` does.
The answer is case ids and codes only, to those allowed to see each case, and the search is in the access log
with the keys it was made of and the cases it listed (never the values typed)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from infra.errors import InputError
from infra.keys import Keys
from models.case import Actor
from models.tables import AccessRow, CaseRow, HoldRow
from protocol import authority, finding, identity
from protocol.identity import Match
from usecases.context import Services, allowed

Found = dict[str, Match]  # case id: how strongly


def find(services: Services, actor: Actor, **typed: str | None) -> list[dict[str, Any]]:
    """The cases matching every key typed (`protocol.finding.parse_search` names them), exact first."""
    allowed(authority.may_find(actor))
    now = datetime.now(UTC)
    search, problems = finding.parse_search(now.date(), **typed)
    if search is None:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise InputError(f"The search was refused ({len(problems)} problem(s)):\n{listed}", problems)
    keys = services.keys
    with Session(services.engine) as session, session.begin():
        found_by_key: list[Found] = []
        if search.crime_ref is not None:
            found_by_key.append(
                _by_case(session, col(CaseRow.crime_ref_key), keys.crime_reference_hash(search.crime_ref))
            )
        if search.referral_id is not None:
            found_by_key.append(
                _by_case(session, col(CaseRow.referral_id_key), keys.referral_id_hash(search.referral_id))
            )
        if search.officer is not None:
            found_by_key.append(
                _by_case(session, col(CaseRow.officer_key), keys.officer_hash(search.officer))
            )
        if search.ho_ref is not None:
            found_by_key.append(_by_reference(session, keys, search.ho_ref))
        if search.born is not None and search.family_name and search.given_names:  # parse_search: all or none
            found_by_key.append(
                _by_person(session, keys, search.family_name, search.given_names, search.born)
            )
        found = finding.combined(found_by_key)
        cases = session.execute(select(CaseRow).where(col(CaseRow.case_id).in_(sorted(found)))).scalars()
        shown = sorted(
            (case for case in cases if finding.may_see(actor, case.force_code)),
            key=lambda case: (found[case.case_id] is not Match.exact, case.referred_at, case.case_id),
        )
        session.add(
            AccessRow(
                at=now,
                actor=actor.label(),
                action="cases_find",
                case_id=None,
                detail={"by": search.by, "case_ids": [case.case_id for case in shown]},
            )
        )
        return [
            {
                "case_id": case.case_id,
                "match": found[case.case_id].value,
                "phase": case.phase,
                "hold": case.hold_active,
                "force": case.force_code,
                "crime_type": case.crime_type,
                "outcome": case.outcome,
                "case_officer": case.case_officer,
            }
            for case in shown
        ]


def _by_case(session: Session, column: Any, key: str) -> Found:
    rows = session.execute(select(col(CaseRow.case_id)).where(column == key)).scalars()
    return dict.fromkeys(rows, Match.exact)


def _by_reference(session: Session, keys: Keys, reference: str) -> Found:
    """The case whose person has this Home Office reference (given at referral or matched at screening);
    possibly, one whose reference is one digit off or has two digits swapped."""
    exact = keys.reference_hash(reference)
    near = {keys.reference_hash(r) for r in identity.near_references(reference)}
    query = select(HoldRow).where(col(HoldRow.ho_ref_key).in_(sorted({exact} | near)))
    found: Found = {}
    for hold in session.execute(query).scalars():
        how = Match.exact if hold.ho_ref_key == exact else Match.possible
        found[hold.case_id] = identity.strongest([how, found.get(hold.case_id, Match.none)])
    return found


def _by_person(session: Session, keys: Keys, family: str, given: str, born: date) -> Found:
    """The cases whose person or a dependant has this name and date of birth: exact by the keyed hash;
    possible among the holds whose date of birth is the same or near (found by keyed hashes), scored on
    the hold's sealed name, as the enforcement check scores them (`activities.enforcement`)."""
    found: Found = {}
    exact = keys.person_hash(family, given, born.isoformat())
    for case_id in session.execute(
        select(col(HoldRow.case_id)).where(col(HoldRow.identity_key) == exact)
    ).scalars():
        found[case_id] = Match.exact
    birth_key = keys.birth_hash(born.isoformat())
    near = {keys.birth_hash(d.isoformat()) for d in identity.near_dates_of_birth(born)}
    tokens = identity.name_tokens(family, given)
    candidates = select(HoldRow).where(col(HoldRow.birth_key).in_(sorted(near | {birth_key})))
    for hold in session.execute(candidates).scalars():
        if hold.name_sealed is None:
            continue
        sealed = keys.sealer.open_text(hold.case_id, hold.name_sealed, f"{hold.case_id}:{hold.subject}")
        how = identity.match_name_and_birth(
            tokens,
            tuple(sealed.split()),
            same_birth=hold.birth_key == birth_key,
            near_birth=hold.birth_key in near,
        )
        found[hold.case_id] = identity.strongest([how, found.get(hold.case_id, Match.none)])
    return found
