"""The development token issuer: what Keycloak is in production, small enough to run inside `make run`.

It signs tokens with an EC P-256 key kept under the data folder (`<data_dir>/issuer-key.pem`, created 0600
and reused on the next start), publishes its discovery document and JWKS so the API verifies development
tokens with exactly the code that verifies production ones, and mints tokens:

- `POST /dev/token {"actor": "ROLE:ID[:FORCE]"}`: a token at once (development only: anyone who reaches
  this port is anyone — that is why it listens on 127.0.0.1 only and production refuses its tokens);
- the OAuth 2.0 device authorization grant (RFC 8628), as Keycloak offers it to `mvp login`:
  `POST /device/authorize`, then `POST /token` with the device_code grant, approved here by
  `POST /dev/device/approve {"user_code", "actor"}` instead of a sign-in page;
- the client credentials grant for a police force's system, as Keycloak's `police-wmp` client does: a
  client id and secret given to `create_issuer_app(clients=…)` or `serve_issuer(…, clients=…)` yield a
  police token for that client's force.

Every token carries `"mvp_dev": true`, the claim by which production refuses it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from infra.errors import Unavailable
from infra.settings import Settings

ALGORITHM = "ES256"
TOKEN_LIFETIME = 3600  # seconds
DEVICE_CODE_LIFETIME = 600
DEVICE_INTERVAL = 5  # RFC 8628 §3.2: the default polling interval
SLOW_DOWN_STEP = 5  # RFC 8628 §3.5: each slow_down adds five seconds
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ROLES = ("officer", "police", "supervisor", "enforcement", "records_admin", "auditor")
FORCE_CODE = re.compile(r"^[A-Z]{2,8}$")
SUBJECT = re.compile(r"^[A-Za-z0-9._@+-]{1,128}$")
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # RFC 8628 §6.1: no vowels, no look-alikes


# --- the signing key -------------------------------------------------------------------------------


def load_or_create_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The issuer's key: created once, 0600 and exclusively (two stacks starting at once cannot both
    write it), then reused so tokens minted before a restart still verify."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise Unavailable(f"{path} is not an EC private key: remove it and start again") from None
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key


def public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    # RFC 7638 thumbprint as the key id: stable across restarts, derived from the key alone
    canonical = json.dumps(
        {k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True
    )
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    return {**jwk, "kid": kid, "use": "sig", "alg": ALGORITHM}


# --- actors ------------------------------------------------------------------------------------------


def actor_problems(actor: object) -> list[str]:
    """One sentence per problem with a `ROLE:ID[:FORCE]` shorthand; empty when it is good."""
    if not isinstance(actor, str) or not actor.strip():
        return [
            "The actor is missing: give ROLE:ID[:FORCE], for example officer:NCCU-0042 or police:WMP-4471:WMP."
        ]
    parts = actor.strip().split(":")
    if len(parts) > 3:
        return ["The actor has too many parts: give ROLE:ID[:FORCE]."]
    role, subject, force = (parts + ["", ""])[:3]
    problems = []
    if role not in ROLES:
        problems.append(f"The role is not one of {', '.join(ROLES)}.")
    if not SUBJECT.match(subject):
        problems.append("The id is missing or has characters other than letters, digits and . _ @ + -.")
    if role == "police" and not force:
        problems.append("A police actor needs a force: police:ID:FORCE, for example police:WMP-4471:WMP.")
    if force and not FORCE_CODE.match(force):
        problems.append("The force is not a force code (two to eight capital letters).")
    if force and role in ROLES and role != "police":
        problems.append("Only a police actor has a force.")
    return problems


# --- the app -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForceClient:
    """A police force's system: its client secret and the force its tokens act for."""

    secret: str
    force: str


@dataclass
class DeviceGrant:
    device_code: str
    user_code: str
    expires_at: float
    interval: int
    actor: str | None = None
    last_poll: float = 0.0


@dataclass
class IssuerState:
    key: ec.EllipticCurvePrivateKey
    jwk: dict[str, Any]
    issuer: str
    audience: str
    interval: int
    clients: dict[str, ForceClient] = field(default_factory=dict)
    grants: dict[str, DeviceGrant] = field(default_factory=dict)  # by device_code
    lock: threading.Lock = field(default_factory=threading.Lock)

    def mint(self, actor: str) -> dict[str, Any]:
        role, subject, *rest = actor.split(":")
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "preferred_username": subject,
            "realm_access": {"roles": [role]},
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME,
            "jti": uuid.uuid4().hex,
            "mvp_dev": True,
        }
        if rest and rest[0]:
            claims["force"] = rest[0]
        token = jwt.encode(claims, self.key, algorithm=ALGORITHM, headers={"kid": self.jwk["kid"]})
        return {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME}


def create_issuer_app(
    key_path: Path,
    issuer: str,
    *,
    audience: str = "mvp-api",
    interval: int = DEVICE_INTERVAL,
    clients: dict[str, ForceClient] | None = None,
) -> FastAPI:
    """The issuer at `issuer` (its URL, which is also the `iss` of its tokens)."""
    for client_id, client in (clients or {}).items():
        if actor_problems(f"police:{client_id}:{client.force}"):
            raise ValueError("A force client needs an id of letters, digits and . _ @ + - and a force code.")
    key = load_or_create_key(key_path)
    state = IssuerState(
        key=key,
        jwk=public_jwk(key),
        issuer=issuer.rstrip("/"),
        audience=audience,
        interval=interval,
        clients=dict(clients or {}),
    )
    app = FastAPI(title="MVP development token issuer", docs_url=None, redoc_url=None)
    app.state.issuer = state

    @app.get("/.well-known/openid-configuration")
    def discovery() -> dict[str, Any]:
        base = state.issuer
        return {
            "issuer": base,
            "jwks_uri": f"{base}/jwks.json",
            "token_endpoint": f"{base}/token",
            "device_authorization_endpoint": f"{base}/device/authorize",
            "grant_types_supported": [DEVICE_GRANT, "client_credentials"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_post"],
        }

    @app.get("/jwks.json")
    def jwks() -> dict[str, Any]:
        return {"keys": [state.jwk]}

    @app.post("/dev/token")
    async def dev_token(request: Request) -> JSONResponse:
        body = await _json(request)
        actor = body.get("actor")
        problems = actor_problems(actor)
        if problems:
            return _problems(problems)
        return JSONResponse(state.mint(str(actor).strip()), headers=NO_STORE)

    @app.post("/device/authorize")
    async def device_authorize(request: Request) -> JSONResponse:
        await _form(request)  # client_id and scope are accepted as sent: every client is public here
        grant = DeviceGrant(
            device_code=secrets.token_urlsafe(32),
            user_code=_user_code(),
            expires_at=time.monotonic() + DEVICE_CODE_LIFETIME,
            interval=state.interval,
        )
        with state.lock:
            state.grants[grant.device_code] = grant
        return JSONResponse(
            {
                "device_code": grant.device_code,
                "user_code": grant.user_code,
                "verification_uri": f"{state.issuer}/device",
                "verification_uri_complete": f"{state.issuer}/device?user_code={grant.user_code}",
                "expires_in": DEVICE_CODE_LIFETIME,
                "interval": grant.interval,
            },
            headers=NO_STORE,
        )

    @app.get("/device")
    def device_page() -> PlainTextResponse:
        return PlainTextResponse(
            "Development issuer: approve a code with\n"
            '  POST /dev/device/approve {"user_code": "XXXX-XXXX", "actor": "ROLE:ID[:FORCE]"}\n'
        )

    @app.post("/dev/device/approve")
    async def device_approve(request: Request) -> JSONResponse:
        body = await _json(request)
        problems = actor_problems(body.get("actor"))
        user_code = str(body.get("user_code", "")).strip().upper()
        with state.lock:
            grant = next((g for g in state.grants.values() if g.user_code == user_code), None)
            if grant is None or grant.expires_at < time.monotonic():
                return JSONResponse({"detail": "No pending sign-in has that user code."}, status_code=404)
            if problems:
                return _problems(problems)
            grant.actor = str(body["actor"]).strip()
        return JSONResponse({"approved": True})

    @app.post("/token")
    async def token(request: Request) -> JSONResponse:
        form = await _form(request)
        if form.get("grant_type") == "client_credentials":
            client = state.clients.get(form.get("client_id", ""))
            secret = form.get("client_secret", "")
            if client is None or not hmac.compare_digest(client.secret.encode(), secret.encode()):
                return _oauth_error("invalid_client", "The client id or secret is wrong.", status_code=401)
            return JSONResponse(state.mint(f"police:{form['client_id']}:{client.force}"), headers=NO_STORE)
        if form.get("grant_type") != DEVICE_GRANT:
            return _oauth_error(
                "unsupported_grant_type",
                "Only the device authorization and client credentials grants are offered.",
            )
        now = time.monotonic()
        with state.lock:
            grant = state.grants.get(form.get("device_code", ""))
            if grant is None:
                return _oauth_error("invalid_grant", "The device code is unknown or already used.")
            if grant.expires_at < now:
                del state.grants[grant.device_code]
                return _oauth_error("expired_token", "The device code has expired: start the sign-in again.")
            if grant.actor is not None:
                del state.grants[grant.device_code]  # one token per approval
                return JSONResponse(state.mint(grant.actor), headers=NO_STORE)
            too_soon = now - grant.last_poll < grant.interval
            grant.last_poll = now
            if too_soon:
                grant.interval += SLOW_DOWN_STEP
                return _oauth_error("slow_down", f"Poll at most every {grant.interval} seconds.")
            return _oauth_error("authorization_pending", "The sign-in has not been approved yet.")

    return app


NO_STORE = {"Cache-Control": "no-store"}


def _user_code() -> str:
    letters = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
    return f"{letters[:4]}-{letters[4:]}"


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def _form(request: Request) -> dict[str, str]:
    # parse_qs rather than Starlette's request.form(), which needs python-multipart for one urlencoded body
    parsed = parse_qs((await request.body()).decode("utf-8", "replace"))
    return {k: v[0] for k, v in parsed.items() if v}


def _problems(problems: list[str]) -> JSONResponse:
    return JSONResponse({"detail": " ".join(problems), "problems": problems}, status_code=422)


def _oauth_error(error: str, description: str, status_code: int = 400) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status_code, headers=NO_STORE
    )


# --- serving ------------------------------------------------------------------------------------------------


def serve_issuer(
    settings: Settings, *, clients: dict[str, ForceClient] | None = None
) -> tuple[uvicorn.Server, threading.Thread]:
    """Run the issuer with uvicorn in a thread on 127.0.0.1:<issuer_port>; returns once it accepts
    connections. Stop it with `server.should_exit = True` and `thread.join()`."""
    if settings.env == "production":
        raise Unavailable("The development token issuer does not run in production: use the OIDC issuer.")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", settings.issuer_port))
    except OSError as err:
        sock.close()
        raise Unavailable(
            f"Port {settings.issuer_port} is in use, so the development issuer cannot start: "
            "set MVP_ISSUER_PORT to a free port"
        ) from err
    try:
        app = create_issuer_app(
            settings.data_dir / "issuer-key.pem",
            settings.development_issuer,
            audience=settings.oidc_audience,
            clients=clients,
        )
    except BaseException:
        sock.close()
        raise
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="mvp-issuer", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise Unavailable("The development token issuer did not start.")
        time.sleep(0.02)
    return server, thread
