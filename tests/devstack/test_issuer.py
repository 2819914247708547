"""The development token issuer: its key is kept and reused, it refuses bad actors one sentence per
problem, and its device authorization grant answers as RFC 8628 says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.auth import TokenVerifier
from devstack.issuer import DEVICE_GRANT, ForceClient, create_issuer_app, public_jwk, serve_issuer
from infra.errors import Unavailable
from infra.settings import Settings
from tests.support.api import free_port

WMP_SECRET = "test-only-" + "4c1d9e" * 4


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("issuer"), issuer_port=free_port())
    server, thread = serve_issuer(
        settings, clients={"police-wmp": ForceClient(secret=WMP_SECRET, force="WMP")}
    )
    yield settings.development_issuer
    server.should_exit = True
    thread.join(timeout=10)


def test_the_signing_key_is_created_0600_and_reused_on_the_next_start(tmp_path: Path) -> None:
    first = create_issuer_app(tmp_path / "issuer-key.pem", "http://127.0.0.1:1")
    assert (tmp_path / "issuer-key.pem").stat().st_mode & 0o777 == 0o600
    again = create_issuer_app(tmp_path / "issuer-key.pem", "http://127.0.0.1:1")
    assert first.state.issuer.jwk["kid"] == again.state.issuer.jwk["kid"]
    assert public_jwk(first.state.issuer.key) == public_jwk(again.state.issuer.key)


def test_discovery_names_the_jwks_and_the_device_endpoints(issuer: str) -> None:
    discovery = httpx.get(f"{issuer}/.well-known/openid-configuration").json()
    assert discovery["issuer"] == issuer
    assert discovery["device_authorization_endpoint"] == f"{issuer}/device/authorize"
    keys = httpx.get(discovery["jwks_uri"]).json()["keys"]
    assert [k["alg"] for k in keys] == ["ES256"] and "d" not in keys[0]  # never the private part


def test_a_token_is_minted_for_a_good_actor(issuer: str) -> None:
    answer = httpx.post(f"{issuer}/dev/token", json={"actor": "police:WMP-4471:WMP"})
    assert answer.status_code == 200
    assert answer.json()["token_type"] == "Bearer" and answer.json()["expires_in"] > 0


def test_a_bad_actor_is_refused_with_one_sentence_per_problem(issuer: str) -> None:
    answer = httpx.post(f"{issuer}/dev/token", json={"actor": "wizard::wmp"})
    assert answer.status_code == 422
    problems = answer.json()["problems"]
    assert len(problems) == 3  # the role, the missing id, the force code
    assert all(p.endswith(".") for p in problems)
    police = httpx.post(f"{issuer}/dev/token", json={"actor": "police:WMP-4471"}).json()["problems"]
    assert police == ["A police actor needs a force: police:ID:FORCE, for example police:WMP-4471:WMP."]
    assert httpx.post(f"{issuer}/dev/token", json={}).status_code == 422


def test_the_device_grant_is_pending_then_slowed_down_then_approved_once(issuer: str) -> None:
    grant = httpx.post(f"{issuer}/device/authorize", data={"client_id": "mvp-cli"}).json()
    assert {"device_code", "user_code", "verification_uri", "interval"} <= grant.keys()
    poll = {"grant_type": DEVICE_GRANT, "device_code": grant["device_code"], "client_id": "mvp-cli"}

    first = httpx.post(f"{issuer}/token", data=poll)
    assert (first.status_code, first.json()["error"]) == (400, "authorization_pending")
    too_soon = httpx.post(f"{issuer}/token", data=poll)
    assert (too_soon.status_code, too_soon.json()["error"]) == (400, "slow_down")

    bad = httpx.post(
        f"{issuer}/dev/device/approve", json={"user_code": grant["user_code"], "actor": "nobody"}
    )
    assert bad.status_code == 422
    unknown = httpx.post(
        f"{issuer}/dev/device/approve", json={"user_code": "BBBB-BBBB", "actor": "officer:O-1"}
    )
    assert unknown.status_code == 404
    approved = httpx.post(
        f"{issuer}/dev/device/approve", json={"user_code": grant["user_code"].lower(), "actor": "officer:O-1"}
    )
    assert approved.status_code == 200

    token = httpx.post(f"{issuer}/token", data=poll)
    assert token.status_code == 200 and token.json()["access_token"]
    reused = httpx.post(f"{issuer}/token", data=poll)
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")


async def test_an_expired_device_code_answers_expired_token(tmp_path: Path) -> None:
    app = create_issuer_app(tmp_path / "issuer-key.pem", "http://127.0.0.1:1")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://issuer") as client:
        grant = (await client.post("/device/authorize", data={"client_id": "mvp-cli"})).json()
        app.state.issuer.grants[grant["device_code"]].expires_at = 0.0  # its lifetime has run out
        answer = await client.post(
            "/token", data={"grant_type": DEVICE_GRANT, "device_code": grant["device_code"]}
        )
    assert (answer.status_code, answer.json()["error"]) == (400, "expired_token")


def test_a_police_system_gets_a_token_for_its_force_with_client_credentials(issuer: str) -> None:
    grant = {"grant_type": "client_credentials", "client_id": "police-wmp"}
    answer = httpx.post(f"{issuer}/token", data={**grant, "client_secret": WMP_SECRET})
    assert answer.status_code == 200
    actor = TokenVerifier(issuer=issuer, audience="mvp-api").verify(answer.json()["access_token"])
    assert (actor.role.value, actor.id, actor.force) == ("police", "police-wmp", "WMP")
    wrong = httpx.post(f"{issuer}/token", data={**grant, "client_secret": "not-it"})
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")


def test_another_grant_type_is_refused(issuer: str) -> None:
    answer = httpx.post(f"{issuer}/token", data={"grant_type": "password", "username": "x", "password": "y"})
    assert (answer.status_code, answer.json()["error"]) == (400, "unsupported_grant_type")


def test_the_issuer_does_not_run_in_production(tmp_path: Path) -> None:
    production = Settings(
        data_dir=tmp_path,
        env="production",
        notify_channel="http",
        notify_url="https://notify.example.gov.uk",
        notify_api_key="k-" + "7f3a9c1e5b2d8a40" * 2,
        notify_templates=tmp_path / "templates.json",
        contact_team_phone="0300 123 0000",
        contact_team_email="nccu-team@homeoffice.gov.uk",
    )
    with pytest.raises(Unavailable, match="does not run in production"):
        serve_issuer(production)
