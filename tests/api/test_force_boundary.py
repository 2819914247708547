"""PROTOCOL.md §2: police act only on cases their own force referred. A police token of another force reads
nothing and changes nothing of a case through any route of the API, and each attempt is recorded."""

from __future__ import annotations

import httpx
from sqlmodel import Session

from api.app import create_app
from models.tables import CaseRow
from tests.conftest import Running
from tests.support.boundary import ACTORS, access_rows, bearer, dev_token, record_rows, start_example_case

OTHER_FORCE = ACTORS["police_other"]  # GMP; the example case was referred by WMP

# The smallest body each case command takes (the refusal must be about the force, not the body).
BODIES = {
    "police-update": {"investigation": "charged", "person_charged": True},
    "withdrawal": {"reason": "withdrawn by another force"},
    "police-correction": {"investigation": "no_further_action", "reason": "corrected by another force"},
    "police-note": {"text": "a note from another force"},
    "contact": {"result": "reached"},
    "application": {"route": "domestic_abuse_concession", "stage": "granted"},
    "route": {"route": "domestic_abuse_concession"},
    "departure": {},
    "exclusion-decision": {"verdict": "confirm", "reason": "excluded by another force"},
    "release-decision": {"reason": "released by another force"},
    "fact": {"fact_kind": "person_left_uk", "source": "police"},
    "fact-verification": {"fact_number": 1, "verified": True},
    "reopen": {"reason": "reopened by another force"},
    "reassign": {"officer_id": "NCCU-0077", "reason": "reassigned by another force"},
    "amend": {"interpreter_needed": True},
}


def case_routes() -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, methods in create_app().openapi()["paths"].items()
        for method in methods
        if "{case_id}" in path
    ]


def view(running: Running, case_id: str) -> dict[str, object]:
    with Session(running.engine) as session:
        row = session.get(CaseRow, case_id)
        assert row is not None
        # the revision counts record entries, refusals included; everything else must stay as it was
        return {k: v for k, v in row.view.items() if k != "revision"}


async def test_police_of_another_force_can_neither_read_nor_change_a_case_through_any_route(
    running: Running, api: str, issuer: str
) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await start_example_case(http, api, issuer)
        stranger = bearer(await dev_token(http, issuer, OTHER_FORCE))
        own_force = bearer(await dev_token(http, issuer, ACTORS["police_own"]))
        before = view(running, case_id)
        record_before = len(record_rows(running.engine, case_id))

        routes = case_routes()
        assert ("GET", "/cases/{case_id}") in routes and len(routes) == 1 + len(BODIES)
        for method, path in routes:
            url = api + path.replace("{case_id}", case_id)
            if method == "GET":
                answer = await http.get(url, headers=stranger)
            else:
                answer = await http.post(url, json=BODIES[path.rpartition("/")[2]], headers=stranger)
            assert answer.status_code == 403, f"{method} {path}: {answer.status_code} {answer.text}"
            message = answer.json()["error"]["message"]
            assert "another force" in message or "you are police" in message, message
            assert "Rahman" not in answer.text and "HO-7781203" not in answer.text
        listed = await http.get(f"{api}/cases", params={"force": "WMP"}, headers=stranger)
        assert listed.status_code == 403, listed.text

        assert view(running, case_id) == before
        added = record_rows(running.engine, case_id)[record_before:]
        assert len(added) == len(BODIES)  # each command attempt, and nothing else
        assert all(r.action == "command_refused" and r.actor == OTHER_FORCE for r in added)
        refused_reads = [
            r for r in access_rows(running.engine) if r.actor == OTHER_FORCE and r.action == "show_case"
        ]
        assert len(refused_reads) == 1 and refused_reads[0].case_id == case_id
        assert "another force" in str(refused_reads[0].detail["refused"])

        # the referring force still can: the refusals were about the force, not the case
        assert (await http.get(f"{api}/cases/{case_id}", headers=own_force)).status_code == 200
        updated = await http.post(
            f"{api}/cases/{case_id}/police-update", json={"investigation": "charged"}, headers=own_force
        )
        assert updated.status_code == 200, updated.text


async def test_police_of_the_referring_force_see_the_protection_not_the_home_offices_data(
    running: Running, api: str, issuer: str
) -> None:
    """The review found police shown the status, exclusion indicators, applications and signposting reasons,
    which IE never shared with them: they see whether the hold is in force and their own investigation."""
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await start_example_case(http, api, issuer)
        police = bearer(await dev_token(http, issuer, ACTORS["police_own"]))
        shown = await http.get(f"{api}/cases/{case_id}", headers=police)
        assert shown.status_code == 200, shown.text
        updated = await http.post(
            f"{api}/cases/{case_id}/police-update", json={"investigation": "charged"}, headers=police
        )
        assert updated.status_code == 200, updated.text
    for view in (shown.json(), updated.json()["view"]):
        assert view["hold"] == {"active": True} and view["case_id"] == case_id
        for withheld in ("status_at_referral", "exclusion_indicators", "applications", "signposting"):
            assert withheld not in view
    assert updated.json()["view"]["investigation"] == "charged"
