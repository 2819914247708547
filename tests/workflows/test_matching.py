"""Identity matching on the real servers (issue 8 items 2, 5 and 6): enforcement checks on every kind of
variant of a protected person are refused, recorded and reported to the case officer; screening does
not take another person's record for the referral's; a possible duplicate starts only with a reason.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Select, select
from sqlmodel import Session

from activities.store import CaseStore
from infra.chain import note_binding
from infra.errors import PossibleDuplicate
from models.case import Actor, ActorRole, Phase
from models.enforcement import CheckResult
from models.records import ImmigrationStatus
from models.referral import Referral
from models.tables import CaseRow, EnforcementCheckRow, HoldRow, NoteRow, OutboxRow, RecordRow
from protocol.enforcement import parse_person
from tests.conftest import Running
from tests.support.intake import OFFICER, example_referral, load_example_records
from usecases import cases, enforcement

ENFORCER = Actor(role=ActorRole.enforcement, id="ENF-3")
TODAY = datetime.now(UTC).date()


def petra(**changes: object) -> Referral:
    """Petra Jana Novák-Horvat, born 11 March 1991 (day and month can be swapped), reference HO-9182736."""
    base = example_referral("referral-domestic-abuse.json")
    person = base.person.model_copy(
        update={
            "given_names": "Petra Jana",
            "family_name": "Novák-Horvat",
            "date_of_birth": date(1991, 3, 11),
            "home_office_ref": "HO-9182736",
        }
    )
    fields: dict[str, object] = {
        "referral_id": "NCCU-2026-000500",
        "crime_reference": "WMP/26/11/00500",
        "person": person,
        "dependants": [],
    }
    fields.update(changes)
    return base.model_copy(update=fields)


def with_person(referral: Referral, **person: object) -> Referral:
    return referral.model_copy(update={"person": referral.person.model_copy(update=person)})


async def start(running: Running, referral: Referral, override_reason: str | None = None) -> str:
    case_id = await cases.start_referral(
        running.client,
        running.keys,
        running.settings.task_queue,
        referral,
        OFFICER,
        engine=running.engine,
        override_reason=override_reason,
    )
    assert await cases.wait_until_open(running.client, case_id) is not None, "the worker did not open it"
    return case_id


async def check(running: Running, person: str) -> CheckResult:
    return await enforcement.check(
        running.client,
        running.keys,
        running.settings.task_queue,
        ENFORCER,
        parse_person(person, TODAY),
        "Planned visit to the address",
    )


def all_rows(running: Running, table: type, **where: object) -> list:  # type: ignore[type-arg]
    with Session(running.engine) as session:
        query: Select[Any] = select(table)
        for name, value in where.items():
            query = query.where(getattr(table, name) == value)
        return list(session.execute(query).scalars().all())


async def eventually(condition: Callable[[], bool], within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


# the person as enforcement might give her: what normalisation makes her exactly ...
SAME_AFTER_NORMALISING = {
    "dropped accent": "NOVAK-HORVAT, Petra Jana, 1991-03-11",
    "space for hyphen": "Novák Horvat, Petra Jana, 1991-03-11",
    "swapped name order": "Petra Jana, Novák-Horvat, 1991-03-11",
    "zero-width space": "Novák-Hor\u200bvat, Petra Jana, 1991-03-11",
    "cyrillic look-alike": "Novák-Horv\u0430t, P\u0435tra Jana, 1991-03-11",
    "reference without hyphen": "HO9182736",
    "reference with a leading zero": "HO-09182736",
}
# ... and what makes her a possible match
POSSIBLE = {
    "added middle name": "Novák-Horvat, Petra Jana Maria, 1991-03-11",
    "dropped middle name": "Novák-Horvat, Petra, 1991-03-11",
    "one-letter typo": "Novák-Horvat, Petra Jama, 1991-03-11",
    "date of birth one day off": "Novák-Horvat, Petra Jana, 1991-03-12",
    "day and month swapped": "Novák-Horvat, Petra Jana, 1991-11-03",
    "reference one digit off": "HO-9182737",
}


async def test_checks_on_every_variant_of_a_protected_person_are_refused_and_recorded(
    running: Running,
) -> None:
    case_id = await start(running, petra())

    for kind, person in SAME_AFTER_NORMALISING.items():
        result = await check(running, person)
        assert not result.verdict.permitted, kind
        assert result.verdict.case_ids == [case_id], kind
        assert "the person is protected" in result.verdict.reason, kind

    possible_checks = []
    for kind, person in POSSIBLE.items():
        result = await check(running, person)
        assert not result.verdict.permitted, kind
        assert result.verdict.case_ids == [case_id] and result.verdict.officers == [OFFICER.label()], kind
        assert result.verdict.reason == f"case {case_id}: possible match: contact the case officer", kind
        possible_checks.append(result.check_id)

    # each possible match is recorded as one, with no personal data in the record ...
    recorded = {r.check_id: r for r in all_rows(running, EnforcementCheckRow)}
    assert len(recorded) == len(SAME_AFTER_NORMALISING) + len(POSSIBLE)
    assert {c for c, r in recorded.items() if r.possible_match} == set(possible_checks)
    assert all(r.verdict == "refused" for r in recorded.values())
    dumped = json.dumps([r.model_dump(mode="json") for r in recorded.values()]).lower()
    for personal in ("novak", "petra", "1991", "9182736"):
        assert personal not in dumped

    # ... and the case officer is told of every refused check, and which ones were possible matches
    def told() -> list[OutboxRow]:
        notices = all_rows(running, OutboxRow, case_id=case_id)
        return [n for n in notices if n.kind == "enforcement_check_refused"]

    await eventually(lambda: len(told()) == len(recorded))
    assert {n.facts["check_id"] for n in told() if n.facts.get("match") == "possible"} == set(possible_checks)
    entries = [
        r for r in all_rows(running, RecordRow, case_id=case_id) if r.action == "enforcement_check_refused"
    ]
    assert sum("possible match" in e.summary for e in entries) == len(POSSIBLE)
    # the check's reason reaches the officer, sealed beside the entry
    entry = entries[-1]
    [note] = all_rows(running, NoteRow, case_id=case_id, seq=entry.seq)
    opened = running.keys.sealer.open_text(case_id, note.note_sealed, note_binding(case_id, entry.seq))
    assert opened == "Planned visit to the address"


async def test_an_unrelated_person_born_the_same_day_is_permitted(running: Running) -> None:
    await start(running, petra())
    result = await check(running, "Okafor, Chidi, 1991-03-11")
    assert result.verdict.permitted


async def test_screening_with_another_persons_reference_leaves_status_unknown_and_the_hold_on(
    running: Running,
) -> None:
    load_example_records(running)  # HO-3301877 is Marco Vidal's, born 1979
    case_id = await start(running, with_person(petra(), home_office_ref="HO3301877"))

    view = await cases.state(running.client, case_id)
    assert view.phase is Phase.protection and view.hold.active
    assert view.status_at_referral is ImmigrationStatus.unknown
    assert view.exclusion_indicators == []  # Marco's convictions are not hers
    [notice] = [n for n in all_rows(running, OutboxRow, case_id=case_id) if n.kind == "reference_mismatch"]
    assert notice.recipient == "case_officer"
    assert notice.facts["disagreed"] == "family name, date of birth"
    assert "vidal" not in json.dumps(notice.facts).lower() and "1979" not in json.dumps(notice.facts)
    # her hold keeps the reference the referral gave: a check by it still finds her (fail closed)
    [hold] = all_rows(running, HoldRow, case_id=case_id, subject="person")
    assert hold.active and hold.ho_ref_key == running.keys.reference_hash("HO-3301877")


async def test_a_shortened_given_name_for_the_same_crime_is_a_possible_duplicate_unless_overridden(
    running: Running,
) -> None:
    first = await start(running, petra(referral_id="NCCU-2026-000501"))
    again = with_person(
        petra(referral_id="NCCU-2026-000502", crime_reference="wmp 26 11 00500"),
        given_names="Pet",
        home_office_ref=None,
    )

    with pytest.raises(PossibleDuplicate) as refused:
        await start(running, again)
    assert refused.value.case_ids == [first] and first in str(refused.value)
    assert len(all_rows(running, CaseRow)) == 1

    reason = "Another person: the referring officer confirmed a different passport"
    second = await start(running, again, override_reason=reason)
    assert second != first
    [entry] = [
        r for r in all_rows(running, RecordRow, case_id=second) if r.action == "possible_duplicate_overridden"
    ]
    assert first in entry.summary and reason not in entry.summary  # the reason is kept sealed beside it
    [note] = all_rows(running, NoteRow, case_id=second, seq=entry.seq)
    assert running.keys.sealer.open_text(second, note.note_sealed, note_binding(second, entry.seq)) == reason


async def test_the_same_referral_submitted_twice_is_one_case(running: Running) -> None:
    first = await start(running, petra())
    assert await start(running, petra()) == first
    assert len(all_rows(running, CaseRow)) == 1


async def test_holds_written_before_identity_matching_are_rekeyed_and_found_by_a_variant(
    running: Running,
) -> None:
    case_id = await start(running, petra())
    with Session(running.engine) as session, session.begin():  # as migration 0004 leaves an older row
        hold = session.get(HoldRow, (case_id, "person"))
        assert hold is not None
        hold.identity_key, hold.ho_ref_key, hold.birth_key, hold.name_sealed = "0" * 64, None, None, None
    assert (await check(running, "Novák-Horvat, Petra, 1991-03-11")).verdict.permitted  # missed, as before

    assert CaseStore(running.engine, running.keys).rekey_old_holds() == 1
    assert CaseStore(running.engine, running.keys).rekey_old_holds() == 0  # done once

    result = await check(running, "Novák-Horvat, Petra, 1991-03-11")
    assert not result.verdict.permitted and result.verdict.case_ids == [case_id]
    assert not (await check(running, "HO-09182736")).verdict.permitted
