"""The token verifier: every way a bearer token can be wrong is refused with a sentence, and a good one
becomes the actor. The development issuer runs on a loopback port, so the JWKS is fetched for real."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import Depends, FastAPI

from api.auth import IssuerUnavailable, TokenVerifier, Unauthenticated, require_actor
from devstack.issuer import load_or_create_key, public_jwk, serve_issuer
from infra.errors import Unavailable
from infra.settings import Settings
from models.case import Actor, ActorRole
from tests.support.api import free_port


class Issuer:
    def __init__(self, settings: Settings) -> None:
        self.url = settings.development_issuer
        self.key = load_or_create_key(settings.data_dir / "issuer-key.pem")
        self.kid = public_jwk(self.key)["kid"]

    def dev_token(self, actor: str) -> str:
        response = httpx.post(f"{self.url}/dev/token", json={"actor": actor})
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": "mvp-api",
            "sub": "NCCU-0042",
            "realm_access": {"roles": ["officer"]},
            "iat": now,
            "nbf": now,
            "exp": now + 300,
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, claims: dict[str, Any], key: ec.EllipticCurvePrivateKey | None = None) -> str:
        return jwt.encode(claims, key or self.key, algorithm="ES256", headers={"kid": self.kid})


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Issuer]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("issuer"), issuer_port=free_port())
    server, thread = serve_issuer(settings)
    yield Issuer(settings)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def verifier(issuer: Issuer) -> TokenVerifier:
    return TokenVerifier(issuer=issuer.url, audience="mvp-api")


def _refused(verifier: TokenVerifier, token: str | None, reason: str) -> str:
    with pytest.raises(Unauthenticated, match=reason) as refused:
        verifier.verify(token)
    if token:
        assert token not in str(refused.value)  # the token is never echoed
    return str(refused.value)


def test_a_request_without_a_token_is_refused(verifier: TokenVerifier) -> None:
    _refused(verifier, None, "No bearer token was sent")
    _refused(verifier, "", "No bearer token was sent")


def test_a_malformed_token_is_refused(verifier: TokenVerifier) -> None:
    _refused(verifier, "not.a-token", "malformed")


def test_an_expired_token_is_refused(verifier: TokenVerifier, issuer: Issuer) -> None:
    past = int(time.time()) - 3600
    token = issuer.sign(issuer.claims(iat=past, nbf=past, exp=past + 600))
    _refused(verifier, token, "expired")


def test_a_token_not_yet_valid_is_refused(verifier: TokenVerifier, issuer: Issuer) -> None:
    token = issuer.sign(issuer.claims(nbf=int(time.time()) + 600))
    _refused(verifier, token, "not valid yet")


def test_a_token_for_another_audience_is_refused(verifier: TokenVerifier, issuer: Issuer) -> None:
    _refused(verifier, issuer.sign(issuer.claims(aud="another-api")), "not meant for this service")


def test_a_token_from_another_issuer_is_refused(verifier: TokenVerifier, issuer: Issuer) -> None:
    _refused(
        verifier,
        issuer.sign(issuer.claims(iss="https://idp.invalid/realms/x")),
        "issuer this service does not trust",
    )


def test_a_token_signed_by_another_key_under_the_issuers_key_id_is_refused(
    verifier: TokenVerifier, issuer: Issuer
) -> None:
    forger = ec.generate_private_key(ec.SECP256R1())
    _refused(verifier, issuer.sign(issuer.claims(), key=forger), "signature does not verify")


def test_a_token_with_an_unknown_key_id_is_refused(verifier: TokenVerifier, issuer: Issuer) -> None:
    forger = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(issuer.claims(), forger, algorithm="ES256", headers={"kid": "forged"})
    _refused(verifier, token, "not signed by any of the issuer's published keys")


def test_an_unsigned_token_alg_none_is_refused(verifier: TokenVerifier, issuer: Issuer) -> None:
    token = jwt.encode(issuer.claims(), "", algorithm="none", headers={"kid": issuer.kid})
    _refused(verifier, token, "signing algorithm is not accepted")


def test_an_hs256_token_keyed_with_the_issuers_public_key_is_refused(
    verifier: TokenVerifier, issuer: Issuer
) -> None:
    """The classic key-confusion attack: HMAC with the published public key as the shared secret."""
    public_pem = issuer.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": issuer.kid}).encode()) + b"."
    signing_input += b64(json.dumps(issuer.claims()).encode())
    signature = b64(hmac.new(public_pem, signing_input, hashlib.sha256).digest())
    _refused(verifier, (signing_input + b"." + signature).decode(), "signing algorithm is not accepted")


def test_a_development_token_is_refused_in_production(issuer: Issuer) -> None:
    production = TokenVerifier(issuer=issuer.url, audience="mvp-api", production=True)
    _refused(production, issuer.dev_token("supervisor:SUP-7"), "development token is refused in production")


def test_a_token_from_the_development_issuer_url_is_refused_in_production(issuer: Issuer) -> None:
    """Even without the mvp_dev claim: the development issuer's URL is enough."""
    production = TokenVerifier(
        issuer=issuer.url, audience="mvp-api", production=True, development_issuer=issuer.url
    )
    _refused(production, issuer.sign(issuer.claims()), "development token is refused in production")


def test_production_refuses_to_start_without_an_issuer(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        env="production",
        notify_channel="http",
        notify_url="https://notify.example.gov.uk",
        notify_api_key="k-" + "7f3a9c1e5b2d8a40" * 2,
        notify_templates=tmp_path / "templates.json",  # the settings need one; it is not read here
        contact_team_phone="0300 123 0000",
        contact_team_email="nccu-team@homeoffice.gov.uk",
    )
    with pytest.raises(Unavailable, match="MVP_OIDC_ISSUER"):
        TokenVerifier.from_settings(settings)


def test_a_police_token_becomes_a_police_actor_of_its_force(verifier: TokenVerifier, issuer: Issuer) -> None:
    actor = verifier.verify(issuer.dev_token("police:WMP-4471:WMP"))
    assert actor == Actor(role=ActorRole.police, id="WMP-4471", force="WMP")


def test_a_records_admin_token_becomes_a_records_admin_actor(verifier: TokenVerifier, issuer: Issuer) -> None:
    assert verifier.verify(issuer.dev_token("records_admin:HO-LOAD-1")) == Actor(
        role=ActorRole.records_admin, id="HO-LOAD-1"
    )


def test_a_keycloak_shaped_token_uses_preferred_username_and_ignores_other_realm_roles(
    verifier: TokenVerifier, issuer: Issuer
) -> None:
    claims = issuer.claims(
        sub="5f0c6a1e-0d1b-4c6e-9a63-6a1e0d1b4c6e",
        preferred_username="sup-7",
        realm_access={"roles": ["offline_access", "default-roles-mvp", "supervisor"]},
        force=["WMP"],  # a force on a non-police role is ignored
    )
    assert verifier.verify(issuer.sign(claims)) == Actor(role=ActorRole.supervisor, id="sup-7")


def test_a_token_with_several_mvp_roles_is_refused(verifier: TokenVerifier, issuer: Issuer) -> None:
    token = issuer.sign(issuer.claims(realm_access={"roles": ["police", "supervisor"]}, force="WMP"))
    _refused(verifier, token, "several MVP roles")


def test_a_token_with_no_mvp_role_is_refused(verifier: TokenVerifier, issuer: Issuer) -> None:
    _refused(verifier, issuer.sign(issuer.claims(realm_access={"roles": ["offline_access"]})), "no MVP role")
    _refused(verifier, issuer.sign(issuer.claims(realm_access={"roles": ["system"]})), "no MVP role")


def test_a_police_token_without_a_force_or_with_a_bad_force_is_refused(
    verifier: TokenVerifier, issuer: Issuer
) -> None:
    police = {"realm_access": {"roles": ["police"]}}
    _refused(verifier, issuer.sign(issuer.claims(**police)), "must carry the officer's force")
    _refused(verifier, issuer.sign(issuer.claims(**police, force="wmp")), "not a force code")


async def test_the_dependency_answers_401_with_www_authenticate_bearer(
    verifier: TokenVerifier, issuer: Issuer
) -> None:
    app = FastAPI()

    @app.get("/whoami")
    def whoami(actor: Actor = Depends(require_actor(verifier))) -> dict[str, str]:
        return {"actor": actor.label()}

    token = issuer.dev_token("enforcement:ENF-12")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        refused = await client.get("/whoami")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "No bearer token" in refused.json()["detail"]
        assert (
            await client.get("/whoami", headers={"Authorization": "Basic b2ZmaWNlcg=="})
        ).status_code == 401
        accepted = await client.get("/whoami", headers={"Authorization": f"Bearer {token}"})
        assert accepted.json() == {"actor": "enforcement:ENF-12"}


def test_no_token_is_accepted_when_the_issuers_keys_cannot_be_fetched(issuer: Issuer) -> None:
    """Fail closed: an unreachable issuer refuses every token rather than skipping the check."""
    dead = f"http://127.0.0.1:{free_port()}"
    token = issuer.dev_token("officer:NCCU-0042")
    by_discovery = TokenVerifier(issuer=dead, audience="mvp-api")  # keys found through discovery
    with pytest.raises(IssuerUnavailable, match="discovery document cannot be read"):
        by_discovery.verify(token)
    by_jwks_url = TokenVerifier(issuer=issuer.url, audience="mvp-api", jwks_url=f"{dead}/jwks.json")
    with pytest.raises(IssuerUnavailable, match="keys cannot be fetched"):
        by_jwks_url.verify(token)
