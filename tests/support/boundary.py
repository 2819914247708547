"""The authenticated boundary as an outsider meets it: tokens from the development issuer (and forged ones),
a real case started through the API, and what the record and the access log say afterwards."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine, select
from sqlmodel import Session

from devstack.issuer import load_or_create_key, public_jwk
from models.tables import AccessRow, RecordRow
from tests.conftest import EXAMPLES
from usecases.readmodel import case_record

# One actor per role the table speaks of; the example referral is from West Midlands Police (WMP).
ACTORS = {
    "officer": "officer:NCCU-0042",
    "police_own": "police:WMP-4471:WMP",
    "police_other": "police:GMP-9001:GMP",
    "supervisor": "supervisor:NCCU-SUP-7",
    "enforcement": "enforcement:ENF-12",
    "records_admin": "records_admin:HO-DATA-1",
    "auditor": "auditor:DPO-3",
}
OPEN_WITHIN = 30.0


async def dev_token(http: httpx.AsyncClient, issuer: str, actor: str) -> str:
    minted = await http.post(f"{issuer}/dev/token", json={"actor": actor})
    assert minted.status_code == 200, minted.text
    return str(minted.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def tokens(http: httpx.AsyncClient, issuer: str) -> dict[str, str]:
    """A token for every role of `ACTORS`."""
    return {role: await dev_token(http, issuer, actor) for role, actor in ACTORS.items()}


async def start_example_case(http: httpx.AsyncClient, api: str, issuer: str) -> str:
    """Records loaded by a records administrator, then the domestic-abuse referral (force WMP) started by an
    officer; returns once the case is in the read model."""
    admin = bearer(await dev_token(http, issuer, ACTORS["records_admin"]))
    officer = bearer(await dev_token(http, issuer, ACTORS["officer"]))
    records = json.loads((EXAMPLES / "records.json").read_text())
    loaded = await http.post(f"{api}/records", json=records, headers=admin)
    assert loaded.status_code == 200, loaded.text
    referral = json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text())
    started = await http.post(f"{api}/referrals", json={"referral": referral}, headers=officer)
    assert started.status_code == 201, started.text
    case_id = str(started.json()["case_id"])
    deadline = time.monotonic() + OPEN_WITHIN
    while (await http.get(f"{api}/cases/{case_id}", headers=officer)).status_code != 200:
        assert time.monotonic() < deadline, f"case {case_id} never reached the read model"
        await asyncio.sleep(0.2)
    return case_id


def access_rows(engine: Engine) -> list[AccessRow]:
    with Session(engine) as session:
        return list(session.execute(select(AccessRow).order_by(AccessRow.id)).scalars())  # type: ignore[arg-type]


def record_rows(engine: Engine, case_id: str) -> list[RecordRow]:
    return case_record(engine, case_id)


class Forger:
    """Signs tokens with the development issuer's own key (found under the session's temporary folders by
    its key id), so that one claim at a time can be made wrong; or with a stranger's key."""

    def __init__(self, issuer: str, key: ec.EllipticCurvePrivateKey, kid: str) -> None:
        self.issuer = issuer
        self.key = key
        self.kid = kid

    @classmethod
    def of(cls, issuer: str, tmp_path_factory: pytest.TempPathFactory) -> Forger:
        published = {k["kid"] for k in httpx.get(f"{issuer}/jwks.json").json()["keys"]}
        for path in Path(tmp_path_factory.getbasetemp()).glob("issuer*/issuer-key.pem"):
            key = load_or_create_key(path)
            if public_jwk(key)["kid"] in published:
                return cls(issuer, key, public_jwk(key)["kid"])
        raise AssertionError("the development issuer's key was not found under the session's folders")

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": "mvp-api",
            "sub": "NCCU-SUP-7",
            "preferred_username": "NCCU-SUP-7",
            "realm_access": {"roles": ["supervisor"]},
            "iat": now,
            "nbf": now,
            "exp": now + 300,
        }
        claims.update(changes)
        return claims

    def sign(self, claims: dict[str, Any], key: ec.EllipticCurvePrivateKey | None = None) -> str:
        return jwt.encode(claims, key or self.key, algorithm="ES256", headers={"kid": self.kid})
