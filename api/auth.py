"""Identities from signed tokens: every API request carries an OpenID Connect bearer token (a JWT), and
the actor — role, subject and, for police, the force — comes from its verified claims, never from what the
caller says about themselves.

Errors (the API maps both to 401 with `WWW-Authenticate: Bearer`):

Unauthenticated              no identity can be established from the request; the message says why
 └── IssuerUnavailable       the issuer's keys cannot be fetched, so no token can be checked (fail closed)

Messages never echo the token or a claim's value (a username may be an e-mail address).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from threading import Lock
from typing import Any

import httpx
import jwt
from fastapi import Header, HTTPException

from infra.errors import Unavailable
from infra.settings import Settings
from models.case import Actor, ActorRole

# Asymmetric algorithms only: "none" and the HMAC family (HS*) are never accepted, so a public key can
# never be used as a shared secret.
ALGORITHMS = ["RS256", "ES256"]
LEEWAY_SECONDS = 30
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]

# The roles a token may carry; `system` (the workflow itself) never comes from a token.
TOKEN_ROLES = {
    role.value: role
    for role in (
        ActorRole.officer,
        ActorRole.police,
        ActorRole.supervisor,
        ActorRole.enforcement,
        ActorRole.records_admin,
        ActorRole.auditor,
    )
}
FORCE_CODE = re.compile(r"^[A-Z]{2,8}$")
SUBJECT = re.compile(r"^[A-Za-z0-9._@+-]{1,128}$")
DEV_CLAIM = "mvp_dev"  # the development issuer marks every token it mints with this claim


class Unauthenticated(Exception):
    """No identity can be established from the request; the message says why."""


class IssuerUnavailable(Unauthenticated):
    """The issuer's keys cannot be fetched, so no token can be checked."""


class TokenVerifier:
    """Verifies bearer tokens against an issuer's published keys (JWKS) and builds the actor."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        production: bool = False,
        development_issuer: str | None = None,
        leeway: int = LEEWAY_SECONDS,
        timeout: float = 5.0,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.production = production
        self.development_issuer = development_issuer.rstrip("/") if development_issuer else None
        self.leeway = leeway
        self.timeout = timeout
        self._jwks_url = jwks_url
        self._jwks: jwt.PyJWKClient | None = None
        self._lock = Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        """Production verifies against MVP_OIDC_ISSUER and refuses to start without one; development
        falls back to the development issuer."""
        production = settings.env == "production"
        issuer = settings.oidc_issuer
        if production and not issuer:
            raise Unavailable(
                "Production needs an identity provider: set MVP_OIDC_ISSUER to the OpenID Connect issuer URL "
                "(for example the Keycloak realm's URL)"
            )
        if production and issuer and issuer.rstrip("/") == settings.development_issuer:
            raise Unavailable("MVP_OIDC_ISSUER names the development issuer, which production refuses")
        return cls(
            issuer=issuer or settings.development_issuer,
            audience=settings.oidc_audience,
            jwks_url=settings.oidc_jwks_url,
            production=production,
            development_issuer=settings.development_issuer,
        )

    # --- verification ------------------------------------------------------------------------------

    def verify(self, token: str | None) -> Actor:
        """The actor a bearer token stands for, or `Unauthenticated` saying why not."""
        if not token:
            raise Unauthenticated(
                "No bearer token was sent: sign in (`mvp login`) and send it in Authorization."
            )
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as err:
            raise Unauthenticated("The bearer token is malformed: it is not a signed JWT.") from err
        if header.get("alg") not in ALGORITHMS:
            raise Unauthenticated(
                f"The token's signing algorithm is not accepted: only {', '.join(ALGORITHMS)} are."
            )
        key = self._signing_key(token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as err:
            raise Unauthenticated("The token has expired: sign in again.") from err
        except jwt.ImmatureSignatureError as err:
            raise Unauthenticated("The token is not valid yet (its nbf or iat is in the future).") from err
        except jwt.InvalidAudienceError as err:
            raise Unauthenticated(
                f"The token is not meant for this service (audience is not {self.audience})."
            ) from err
        except jwt.InvalidIssuerError as err:
            raise Unauthenticated("The token was issued by an issuer this service does not trust.") from err
        except jwt.InvalidSignatureError as err:
            raise Unauthenticated("The token's signature does not verify against the issuer's keys.") from err
        except jwt.MissingRequiredClaimError as err:
            raise Unauthenticated(f"The token lacks the required claim {err.claim!r}.") from err
        except jwt.PyJWTError as err:
            raise Unauthenticated(
                "The token could not be verified: it is malformed or its claims are invalid."
            ) from err
        if self.production and (claims.get(DEV_CLAIM) is not None or self._is_development_issuer(claims)):
            raise Unauthenticated("A development token is refused in production: sign in with `mvp login`.")
        return actor_from_claims(claims)

    def _is_development_issuer(self, claims: dict[str, Any]) -> bool:
        issuer = str(claims.get("iss", "")).rstrip("/")
        return self.development_issuer is not None and issuer == self.development_issuer

    def _signing_key(self, token: str) -> Any:
        client = self._jwks_client()
        try:
            return client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as err:
            raise IssuerUnavailable(
                "The identity provider's keys cannot be fetched, so no token can be checked; try again shortly."
            ) from err
        except jwt.PyJWKClientError as err:
            raise Unauthenticated("The token was not signed by any of the issuer's published keys.") from err
        except jwt.PyJWTError as err:
            raise Unauthenticated("The bearer token is malformed: its header cannot be read.") from err

    def _jwks_client(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._jwks is None:
                url = self._jwks_url or self._discover_jwks_url()
                # keys are cached for five minutes; an unknown key id refetches the set (key rotation)
                self._jwks = jwt.PyJWKClient(
                    url, cache_keys=True, lifespan=300, timeout=int(self.timeout) or 1
                )
            return self._jwks

    def _discover_jwks_url(self) -> str:
        url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
        try:
            response = httpx.get(url, timeout=self.timeout)
            response.raise_for_status()
            jwks_uri = response.json()["jwks_uri"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as err:
            raise IssuerUnavailable(
                "The identity provider's discovery document cannot be read, so no token can be checked; "
                "try again shortly."
            ) from err
        if not isinstance(jwks_uri, str):
            raise IssuerUnavailable("The identity provider's discovery document names no jwks_uri.")
        return jwks_uri


# --- claims → actor --------------------------------------------------------------------------------


def actor_from_claims(claims: dict[str, Any]) -> Actor:
    """Keycloak's shape (and the development issuer's, which copies it): the role from
    `realm_access.roles`, the subject from `preferred_username` (else `sub`), the force from `force`.

    Exactly one MVP role: a token carrying two is ambiguous and refused (a person acting as both police
    and supervisor would let one sign-in decide on a case it referred). Other realm roles Keycloak adds
    (offline_access, default-roles-…) are ignored.
    """
    realm_access = claims.get("realm_access")
    roles = realm_access.get("roles") if isinstance(realm_access, dict) else None
    if not isinstance(roles, list):
        raise Unauthenticated("The token carries no realm roles, so it grants no MVP role.")
    mvp_roles = sorted({r for r in roles if isinstance(r, str) and r in TOKEN_ROLES})
    if not mvp_roles:
        raise Unauthenticated(f"The token carries no MVP role (one of {', '.join(TOKEN_ROLES)}).")
    if len(mvp_roles) > 1:
        raise Unauthenticated(
            f"The token carries several MVP roles ({', '.join(mvp_roles)}); exactly one is allowed."
        )
    role = TOKEN_ROLES[mvp_roles[0]]

    subject = claims.get("preferred_username") or claims.get("sub")
    if not isinstance(subject, str) or not SUBJECT.match(subject):
        raise Unauthenticated(
            "The token's subject (preferred_username or sub) is missing or has characters other than "
            "letters, digits and . _ @ + -."
        )

    force = claims.get("force")
    if isinstance(force, list):  # a Keycloak user attribute may be multivalued
        force = force[0] if len(force) == 1 else None
    if role is ActorRole.police:
        if not isinstance(force, str) or not force:
            raise Unauthenticated("A police token must carry the officer's force (the force claim).")
        if not FORCE_CODE.match(force):
            raise Unauthenticated("The token's force is not a force code (two to eight capital letters).")
        return Actor(role=role, id=subject, force=force)
    return Actor(role=role, id=subject)  # a force on any other role is ignored: only police act for a force


# --- FastAPI -----------------------------------------------------------------------------------------


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def unauthorized(err: Unauthenticated) -> HTTPException:
    """The 401 the API answers (RFC 6750): the sentence in `detail`, the scheme in WWW-Authenticate."""
    error = "" if isinstance(err, IssuerUnavailable) else ', error="invalid_token"'
    return HTTPException(
        status_code=401, detail=str(err), headers={"WWW-Authenticate": f'Bearer realm="mvp"{error}'}
    )


def require_actor(verifier: TokenVerifier) -> Callable[..., Actor]:
    """A FastAPI dependency: the actor of the request's bearer token, or 401.

    It is a plain function so FastAPI runs it in its thread pool (fetching keys is blocking I/O).
    """

    def actor(authorization: str | None = Header(default=None)) -> Actor:
        try:
            return verifier.verify(bearer_token(authorization))
        except Unauthenticated as err:
            raise unauthorized(err) from None

    return actor
