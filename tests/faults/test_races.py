"""Races through the real API (uvicorn, verified tokens) and a real worker: the same referral from two callers at
once is one case; commands from different actors at once on one case are each applied once or refused, and the
case ends as a serial replay of the accepted ones would leave it."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlmodel import Session, col

from models.tables import CaseRow, RecordRow
from tests.conftest import EXAMPLES, Running
from tests.support.boundary import ACTORS, bearer, dev_token, record_rows
from tests.support.intake import OFFICER, example_referral, open_case
from usecases import cases

TIMEOUT = httpx.Timeout(40.0)

# Commands given at once by different actors: (who, route, body). Police of another force and a supervisor's
# exclusion decision with none pending are refused; the rest are accepted in whatever order the case takes them.
CONCURRENT: list[tuple[str, str, dict[str, Any]]] = [
    ("police_own", "police-update", {"investigation": "under_investigation"}),
    ("officer", "contact", {"result": "no_answer"}),
    ("officer", "contact", {"result": "reached", "support_active": True}),
    ("officer", "route", {"route": "domestic_abuse_concession"}),
    ("police_own", "fact", {"fact_kind": "relationship_ended", "source": "police"}),
    ("officer", "application", {"route": "domestic_abuse_concession", "stage": "submitted"}),
    ("police_other", "police-update", {"investigation": "no_further_action"}),
    ("supervisor", "exclusion-decision", {"verdict": "confirm", "reason": "no decision is pending"}),
    ("officer", "contact", {"result": "declined"}),
]
# Moments and the case's own ids differ between two cases given the same commands, and so does the revision
# (a refusal the workflow records is a step of the raced case); nothing else may.
_DIFFERS = ("case_id", "referral_id", "at", "due", "since", "date", "expires", "revision")


def _comparable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if not k.endswith(_DIFFERS)}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


def _case_rows(running: Running) -> int:
    with Session(running.engine) as session:
        return int(session.execute(select(func.count()).select_from(CaseRow)).scalar_one())


async def test_the_same_referral_from_two_callers_at_once_is_one_case(
    running: Running, api: str, issuer: str
) -> None:
    referral = json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text())
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        tokens = [
            await dev_token(http, issuer, actor) for actor in ("officer:NCCU-0042", "officer:NCCU-0077")
        ]
        answers = await asyncio.gather(
            *(http.post(f"{api}/referrals", json={"referral": referral}, headers=bearer(t)) for t in tokens)
        )
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    named = {a.json()["case_id"] for a in answers}
    assert len(named) == 1
    case_id = named.pop()
    assert await cases.wait_until_open(running.client, case_id) is not None
    assert _case_rows(running) == 1
    actions = Counter(e.action for e in record_rows(running.engine, case_id))
    assert actions["information_received"] == 1
    assert actions["hold_placed"] == 1


async def test_commands_from_different_actors_at_once_end_as_a_serial_replay_of_the_accepted_ones(
    running: Running, api: str, issuer: str
) -> None:
    raced = await open_case(running)
    replayed_referral = example_referral("referral-domestic-abuse.json").model_copy(
        update={"referral_id": "NCCU-2026-REPLAY-1"}
    )
    replayed = await cases.start_referral(
        running.client, running.keys, running.settings.task_queue, replayed_referral, OFFICER
    )
    assert await cases.wait_until_open(running.client, replayed) is not None

    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        headers = {role: bearer(await dev_token(http, issuer, ACTORS[role])) for role in ACTORS}

        async def send(case_id: str, who: str, route: str, body: dict[str, Any]) -> httpx.Response:
            return await http.post(f"{api}/cases/{case_id}/{route}", json=body, headers=headers[who])

        answers = await asyncio.gather(*(send(raced, *command) for command in CONCURRENT))
        assert all(a.status_code in (200, 403, 409) for a in answers), [
            (a.status_code, a.text) for a in answers
        ]
        accepted = sorted(
            (
                (a.json()["view"]["revision"], command)
                for a, command in zip(answers, CONCURRENT, strict=True)
                if a.status_code == 200
            ),
            key=lambda pair: pair[0],
        )
        refused = [c for a, c in zip(answers, CONCURRENT, strict=True) if a.status_code != 200]
        assert {(who, route) for who, route, _ in refused} == {
            ("police_other", "police-update"),
            ("supervisor", "exclusion-decision"),
        }
        revisions = [revision for revision, _ in accepted]
        assert len(set(revisions)) == len(revisions), "two commands were applied as one step"

        # the same accepted commands, one at a time, in the order the raced case applied them
        for _, (who, route, body) in accepted:
            answer = await send(replayed, who, route, body)
            assert answer.status_code == 200, answer.text
        final = {
            case_id: (await http.get(f"{api}/cases/{case_id}", headers=headers["officer"])).json()
            for case_id in (raced, replayed)
        }

    raced_view = (await cases.state(running.client, raced)).model_dump(mode="json")
    replayed_view = (await cases.state(running.client, replayed)).model_dump(mode="json")
    assert _comparable(raced_view) == _comparable(replayed_view)
    # the read model as the API shows it; its record and notices differ by the raced case's refusals and ids
    shown = {c: {k: v for k, v in final[c].items() if k not in ("record", "notices")} for c in final}
    assert _comparable(shown[raced]) == _comparable(shown[replayed])
    assert _command_actions(running, raced) == _command_actions(running, replayed)


def _command_actions(running: Running, case_id: str) -> list[tuple[str, str]]:
    """The record's entries after opening, by action and actor, refusals left out (the replay had none)."""
    with Session(running.engine) as session:
        query = (
            select(RecordRow)
            .where(col(RecordRow.case_id) == case_id, col(RecordRow.action) != "command_refused")
            .order_by(col(RecordRow.seq))
        )
        entries = list(session.execute(query).scalars())
    seqs = [e.seq for e in entries]
    assert seqs == sorted(set(seqs))
    return [(e.action, e.actor) for e in entries]
