"""Every route of the case API × every role, through the real HTTP app (uvicorn, tokens verified against the
development issuer's JWKS, a worker on the test's task queue): what each role may do is answered, what it may
not is refused with 403 and a sentence, and every refusal is recorded. A route the table does not name fails
the test, so a new route must say who may use it.

Refusals are asked first and the allowed calls after, the ones that close the case last, so that every
refusal meets a running case."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api.app import create_app
from models.registry import BY_ROUTE
from tests.conftest import EXAMPLES, Running
from tests.support.boundary import (
    ACTORS,
    Forger,
    access_rows,
    bearer,
    dev_token,
    record_rows,
    start_example_case,
    tokens,
)

EVERYONE = frozenset(ACTORS)
READERS = frozenset({"officer", "supervisor"})

# Who may use each route. Police of the referring force are `police_own`; of another force `police_other`.
ALLOWED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/healthz"): EVERYONE,
    ("POST", "/referrals"): frozenset({"officer"}),
    ("GET", "/cases"): READERS,
    ("GET", "/cases/{case_id}"): READERS | {"police_own"},
    ("POST", "/cases/{case_id}/police-update"): frozenset({"police_own", "officer"}),
    ("POST", "/cases/{case_id}/police-correction"): frozenset({"police_own"}),
    ("POST", "/cases/{case_id}/police-note"): frozenset({"police_own"}),
    ("POST", "/cases/{case_id}/withdrawal"): frozenset({"police_own", "officer", "supervisor"}),
    ("POST", "/cases/{case_id}/contact"): frozenset({"officer"}),
    ("POST", "/cases/{case_id}/application"): frozenset({"officer"}),
    ("POST", "/cases/{case_id}/route"): frozenset({"officer"}),
    ("POST", "/cases/{case_id}/departure"): frozenset({"officer"}),
    ("POST", "/cases/{case_id}/exclusion-decision"): frozenset({"supervisor"}),
    ("POST", "/cases/{case_id}/release-decision"): frozenset({"supervisor"}),
    ("POST", "/cases/{case_id}/fact"): frozenset({"officer", "police_own"}),
    ("POST", "/cases/{case_id}/fact-verification"): frozenset({"officer"}),
    ("POST", "/cases/{case_id}/reopen"): frozenset({"supervisor"}),
    ("POST", "/cases/{case_id}/reassign"): frozenset({"supervisor"}),
    ("POST", "/cases/{case_id}/amend"): frozenset({"officer"}),
    ("GET", "/cases/find"): READERS | {"police_own", "police_other"},
    ("POST", "/cases/find"): READERS | {"police_own", "police_other"},
    ("GET", "/tasks"): READERS,
    ("POST", "/tasks/{task_id}/done"): READERS,
    ("POST", "/enforcement/checks"): frozenset({"enforcement"}),
    ("POST", "/enforcement/actions"): frozenset({"enforcement"}),
    ("POST", "/records"): frozenset({"records_admin"}),
    ("GET", "/report"): READERS,
    ("GET", "/audit/verify"): frozenset({"supervisor", "auditor"}),
    ("GET", "/audit/reads"): frozenset({"supervisor", "auditor"}),
    ("GET", "/enforcement/checks"): frozenset({"supervisor", "auditor"}),
    ("POST", "/retention/purge"): frozenset({"supervisor"}),
    ("POST", "/codec/decode"): frozenset({"officer", "supervisor", "auditor"}),
}

# Minimal valid bodies: a refusal must be about who asks, never about what was sent.
COMMAND_BODIES: dict[str, dict[str, Any]] = {
    "police-update": {"investigation": "under_investigation"},
    "police-correction": {"investigation": "suspect_arrested", "reason": "corrected in the role test"},
    "police-note": {"text": "a note from the role test"},
    "withdrawal": {"reason": "referral withdrawn in the test"},
    "contact": {"result": "no_answer"},
    "application": {"route": "domestic_abuse_concession", "stage": "submitted"},
    "route": {"route": "domestic_abuse_concession"},
    "departure": {},
    "exclusion-decision": {"verdict": "confirm", "reason": "confirmed in the role test"},
    "release-decision": {"reason": "released in the role test"},
    "fact": {"fact_kind": "relationship_ended", "source": "police"},
    "fact-verification": {"fact_number": 1, "verified": False},
    "reopen": {"reason": "reopened in the role test: closed by mistake"},
    "reassign": {"officer_id": "NCCU-0077", "reason": "reassigned in the role test"},
    "amend": {"interpreter_needed": False},
}
OTHER_BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/referrals"): {"referral": json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text())},
    ("POST", "/tasks/{task_id}/done"): None,
    ("POST", "/enforcement/checks"): {"person": "HO-7781203", "reason": "role test"},
    ("POST", "/enforcement/actions"): {"check_id": "check-role-test", "action": "detained"},
    ("POST", "/records"): json.loads((EXAMPLES / "records.json").read_text()),
    ("POST", "/retention/purge"): {"dry_run": True},
    ("POST", "/codec/decode"): {"payloads": []},
    ("POST", "/cases/find"): {"crime_ref": "WMP/26/11/00871"},
}
QUERIES: dict[str, dict[str, str]] = {
    "/report": {"from": "2026-01-01", "to": "2027-01-01"},
    "/cases/find": {"crime_ref": "WMP/26/11/00871"},
}
CLOSES_THE_CASE = ("departure", "withdrawal")  # asked last among the allowed calls


@dataclass(frozen=True)
class Call:
    method: str
    path: str

    @property
    def command(self) -> str | None:
        route = self.path.rpartition("/")[2]
        return route if self.path.startswith("/cases/{case_id}/") else None

    def body(self) -> Any:
        if self.command is not None:
            return COMMAND_BODIES[self.command]
        return OTHER_BODIES.get((self.method, self.path))

    def url(self, api: str, case_id: str) -> str:
        return api + self.path.replace("{case_id}", case_id).replace("{task_id}", "1")

    async def send(
        self, http: httpx.AsyncClient, api: str, case_id: str, token: str | None
    ) -> httpx.Response:
        headers = bearer(token) if token else {}
        if self.method == "GET":
            return await http.get(self.url(api, case_id), params=QUERIES.get(self.path), headers=headers)
        body = self.body()
        if body is None:
            return await http.post(self.url(api, case_id), headers=headers)
        return await http.post(self.url(api, case_id), json=body, headers=headers)


def calls() -> list[Call]:
    return [
        Call(method.upper(), path)
        for path, methods in create_app().openapi()["paths"].items()
        for method in methods
    ]


def test_the_table_names_every_route_and_every_command_has_a_body() -> None:
    assert {(c.method, c.path) for c in calls()} == set(ALLOWED)
    assert set(COMMAND_BODIES) == set(BY_ROUTE)


async def test_every_route_answers_each_role_as_the_table_says_and_records_each_refusal(
    running: Running, api: str, issuer: str
) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await start_example_case(http, api, issuer)
        token = await tokens(http, issuer)
        routes = calls()
        refused = [(c, role) for c in routes for role in ACTORS if role not in ALLOWED[(c.method, c.path)]]
        allowed = [(c, role) for c in routes for role in ACTORS if role in ALLOWED[(c.method, c.path)]]
        allowed.sort(key=lambda pair: pair[0].command in CLOSES_THE_CASE)

        wrong: list[str] = []
        for call, role in refused:
            answer = await call.send(http, api, case_id, token[role])
            message = answer.json().get("error", {}).get("message", "") if answer.status_code == 403 else ""
            if answer.status_code != 403 or not message.endswith(".") or "ermitted" not in message:
                wrong.append(f"{call.method} {call.path} as {role}: {answer.status_code} {answer.text[:200]}")
        for call, role in allowed:
            answer = await call.send(http, api, case_id, token[role])
            if answer.status_code in (401, 403):
                wrong.append(f"{call.method} {call.path} as {role}: {answer.status_code} {answer.text[:200]}")
        assert not wrong, "\n".join(wrong)

    logged = {
        (row.actor, row.detail.get("method"), row.detail.get("route"))
        for row in access_rows(running.engine)
        if "refused" in row.detail and row.action
    }
    missing = [
        f"{call.method} {call.path} as {role}"
        for call, role in refused
        if (ACTORS[role], call.method, call.path) not in logged
    ]
    assert not missing, "refusals not in the access log:\n" + "\n".join(missing)

    in_record = {(r.actor, r.summary.split(" ", 1)[0]) for r in record_rows(running.engine, case_id)}
    unrecorded = [
        f"{call.path} as {role}"
        for call, role in refused
        if call.command and (ACTORS[role], BY_ROUTE[call.command].kind) not in in_record
    ]
    assert not unrecorded, "commands refused but not in the case record:\n" + "\n".join(unrecorded)
    # nothing but refusals under roles that may change nothing here (enforcement's check is recorded too)
    strangers = (ACTORS["police_other"], ACTORS["auditor"], ACTORS["records_admin"])
    assert {r.action for r in record_rows(running.engine, case_id) if r.actor in strangers} == {
        "command_refused"
    }


SAMPLE = [
    Call("GET", "/cases"),
    Call("GET", "/cases/{case_id}"),
    Call("POST", "/cases/{case_id}/exclusion-decision"),
    Call("POST", "/enforcement/checks"),
    Call("POST", "/records"),
    Call("GET", "/audit/verify"),
]


async def test_a_route_refuses_a_request_without_a_good_token_with_401(
    api: str, issuer: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No token, an expired one, one for another audience, one signed by another key under the issuer's key id:
    401 with `WWW-Authenticate: Bearer` and a sentence, and nothing recorded under any name."""
    from cryptography.hazmat.primitives.asymmetric import ec

    forger = Forger.of(issuer, tmp_path_factory)
    past = 1_700_000_000
    bad = {
        "no token": None,
        "expired": forger.sign(forger.claims(iat=past, nbf=past, exp=past + 600)),
        "another audience": forger.sign(forger.claims(aud="another-api")),
        "another key": forger.sign(forger.claims(), key=ec.generate_private_key(ec.SECP256R1())),
    }
    case_id = "WMP-0000000000"  # never reached: the token is refused first
    async with httpx.AsyncClient(timeout=30) as http:
        for call in SAMPLE:
            good = await call.send(http, api, case_id, forger.sign(forger.claims()))
            assert good.status_code != 401, good.text  # a well-made token passes: the test can fail
            for why, token in bad.items():
                answer = await call.send(http, api, case_id, token)
                assert answer.status_code == 401, f"{call.path}, {why}: {answer.status_code} {answer.text}"
                assert answer.headers["www-authenticate"].startswith("Bearer"), why
                assert answer.json()["error"]["message"].endswith("."), why
                if token:
                    assert token not in answer.text


async def test_a_development_token_is_refused_by_the_api_in_production_mode(
    running: Running, issuer: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """An API in production mode trusting an issuer at another name (the same keys) refuses a token marked as
    minted by the development issuer, and one whose issuer is the development issuer: 401."""
    from tests.support.api import free_port, serving_api

    port = issuer.rpartition(":")[2]
    production_issuer = f"http://localhost:{port}"
    production = running.settings.model_copy(
        update={
            "env": "production",
            "temporal_address": running.env.client.service_client.config.target_host,
            "oidc_issuer": production_issuer,
            "dev_issuer_url": issuer,
            "api_port": free_port(),
        }
    )
    forger = Forger.of(issuer, tmp_path_factory)
    async with httpx.AsyncClient(timeout=30) as http:
        with serving_api(production) as api:
            trusted = forger.sign(forger.claims(iss=production_issuer))
            marked = forger.sign(forger.claims(iss=production_issuer, mvp_dev=True))
            minted = await dev_token(http, issuer, ACTORS["supervisor"])
            accepted = await http.get(f"{api}/cases", headers=bearer(trusted))
            assert accepted.status_code == 200, accepted.text
            for token in (marked, minted):
                answer = await http.get(f"{api}/cases", headers=bearer(token))
                assert answer.status_code == 401, answer.text
            assert (
                "development token is refused in production"
                in (await http.get(f"{api}/cases", headers=bearer(marked))).json()["error"]["message"]
            )
