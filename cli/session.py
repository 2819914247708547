"""Where the CLI's bearer token comes from. Only the standard library and httpx: the CLI never imports the
server side.

In this order:
1. `MVP_TOKEN`: a token supplied as it is (a police force's system, a script);
2. in development only, `--as ROLE:ID[:FORCE]` or `MVP_ACTOR`: a token minted by the development issuer
   (`MVP_ISSUER_URL`, else the one `make run` wrote into `.data/stack.env`); with `MVP_ENV=production` both
   are refused with a sentence;
3. the token `mvp login` stored (`$MVP_TOKEN_FILE`, else `~/.config/mvp/token.json`, mode 0600).

`mvp login` is the OAuth 2.0 device authorization grant (RFC 8628) against the configured issuer; `mvp
logout` forgets the stored token. Every failure is a `SessionError` whose message says what to do.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where a token is fetched: `mvp --help` need not load it
    import httpx

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_API_URL = "http://127.0.0.1:8235"
DEFAULT_ISSUER_URL = "http://127.0.0.1:8236"
DEFAULTS = (DEFAULT_API_URL, DEFAULT_ISSUER_URL)
TRAINING_API_URL = "http://127.0.0.1:8245"  # the training stack's ports: the normal ones plus ten
TRAINING_ISSUER_URL = "http://127.0.0.1:8246"
DEFAULT_CLIENT_ID = "mvp-cli"
EXPIRY_MARGIN = 30  # seconds: a token this close to expiry is treated as expired
TIMEOUT = 10.0


class SessionError(Exception):
    """No token can be had; the message says why and what to do. Exit 3 (not signed in), or 2 when what was
    given (`--as`) is malformed."""

    def __init__(self, message: str, exit_code: int = 3) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class ClientSettings:
    """What the CLI needs to reach the API and sign in: the environment first, then `.data/stack.env`."""

    api_url: str
    issuer_url: str | None
    env: str
    token_file: Path
    token: str | None = None  # MVP_TOKEN
    actor: str | None = None  # MVP_ACTOR
    client_id: str = DEFAULT_CLIENT_ID

    @property
    def production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClientSettings:
        env = dict(os.environ if environ is None else environ)
        # MVP_TRAINING=1: the training stack, in its own folder and on its own ports (README "Training mode")
        training = env.get("MVP_TRAINING", "").strip().lower() in ("1", "true", "yes", "on")
        data = Path(__file__).resolve().parent.parent / ".data"
        data_dir = Path(env.get("MVP_DATA_DIR") or (data / "training" if training else data))
        stack = _read_env_file(data_dir / "stack.env")
        default_api, default_issuer = (TRAINING_API_URL, TRAINING_ISSUER_URL) if training else DEFAULTS

        def setting(name: str) -> str | None:
            return env.get(name) or stack.get(name) or None

        mode = (env.get("MVP_ENV") or "development").strip().lower()
        issuer = setting("MVP_ISSUER_URL")
        if issuer is None and mode != "production":
            issuer = default_issuer
        token_file = env.get("MVP_TOKEN_FILE")
        return cls(
            api_url=(setting("MVP_API_URL") or default_api).rstrip("/"),
            issuer_url=issuer.rstrip("/") if issuer else None,
            env=mode,
            token_file=Path(token_file).expanduser()
            if token_file
            else Path.home() / ".config/mvp/token.json",
            token=env.get("MVP_TOKEN") or None,
            actor=env.get("MVP_ACTOR") or None,
            client_id=env.get("MVP_CLIENT_ID") or DEFAULT_CLIENT_ID,
        )


def token_for(as_actor: str | None, settings: ClientSettings) -> str:
    """The bearer token for this invocation (`as_actor` is the `--as` option)."""
    shorthand = as_actor or settings.actor
    if shorthand and settings.production:
        source = "--as" if as_actor else "MVP_ACTOR"
        raise SessionError(
            f"{source} is for development only; in production sign in with `mvp login` (or set MVP_TOKEN)."
        )
    if settings.token:
        return settings.token
    if shorthand:
        return development_token(shorthand, settings)
    return stored_token(settings)


def development_token(actor: str, settings: ClientSettings) -> str:
    """A token for `ROLE:ID[:FORCE]` from the development issuer."""
    if settings.production:
        raise SessionError("Development tokens are not available in production: sign in with `mvp login`.")
    import httpx

    url = f"{settings.issuer_url or DEFAULT_ISSUER_URL}/dev/token"
    try:
        response = httpx.post(url, json={"actor": actor}, timeout=TIMEOUT)
    except httpx.HTTPError as err:
        raise SessionError(
            f"No development issuer answers at {settings.issuer_url}: is `make run` running?"
        ) from err
    if response.status_code == 422:
        raise SessionError(f"--as was refused: {_detail(response)}", exit_code=2)
    if response.status_code != 200:
        raise SessionError(f"The development issuer answered {response.status_code}: {_detail(response)}")
    return str(response.json()["access_token"])


def stored_token(settings: ClientSettings) -> str:
    """The token `mvp login` stored, while it is still valid."""
    try:
        stored = json.loads(settings.token_file.read_text())
        token = str(stored["access_token"])
        expires_at = float(stored["expires_at"])
    except FileNotFoundError:
        hint = "" if settings.production else ", or in development pass --as ROLE:ID[:FORCE]"
        raise SessionError(f"You are not signed in: run `mvp login` (or set MVP_TOKEN{hint}).") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise SessionError(
            f"The stored sign-in at {settings.token_file} cannot be read: run `mvp logout`, then `mvp login`."
        ) from None
    if expires_at - EXPIRY_MARGIN <= time.time():
        raise SessionError("Your sign-in has expired: run `mvp login` again.")
    return token


def login(
    settings: ClientSettings,
    *,
    show: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> Path:
    """Sign in with the device authorization grant and store the token; returns where it is stored.

    `show` receives the sentence that tells the person where to go and which code to enter.
    """
    if not settings.issuer_url:
        raise SessionError(
            "No sign-in service is configured: set MVP_ISSUER_URL to the OpenID Connect issuer URL."
        )
    import httpx

    with httpx.Client(timeout=TIMEOUT) as http:
        discovery = _get_json(http, f"{settings.issuer_url}/.well-known/openid-configuration")
        device_endpoint = discovery.get("device_authorization_endpoint")
        token_endpoint = discovery.get("token_endpoint")
        if not isinstance(device_endpoint, str) or not isinstance(token_endpoint, str):
            raise SessionError(
                "The sign-in service does not offer device sign-in (no device_authorization_endpoint)."
            )
        start = _post_form(http, device_endpoint, {"client_id": settings.client_id, "scope": "openid"})
        if start.status_code != 200:
            raise SessionError(f"The sign-in service refused to start a sign-in: {_detail(start)}")
        grant = start.json()
        uri = grant.get("verification_uri_complete") or grant["verification_uri"]
        show(f"Open {uri} and enter {grant['user_code']}")
        interval = float(grant.get("interval", 5))
        deadline = time.monotonic() + float(grant.get("expires_in", 600))
        while time.monotonic() < deadline:
            sleep(interval)
            answer = _post_form(
                http,
                token_endpoint,
                {
                    "grant_type": DEVICE_GRANT,
                    "device_code": grant["device_code"],
                    "client_id": settings.client_id,
                },
            )
            if answer.status_code == 200:
                return store_token(answer.json(), settings)
            error = _oauth_error(answer)
            if error == "authorization_pending":
                continue
            if error == "slow_down":
                interval += 5  # RFC 8628 §3.5
                continue
            if error == "expired_token":
                break
            if error == "access_denied":
                raise SessionError("The sign-in was declined.")
            raise SessionError(f"The sign-in failed: {_detail(answer)}")
    raise SessionError("The sign-in code expired before it was approved: run `mvp login` again.")


def logout(settings: ClientSettings) -> bool:
    """Forget the stored token; True when there was one."""
    try:
        settings.token_file.unlink()
    except FileNotFoundError:
        return False
    return True


def store_token(response: Mapping[str, Any], settings: ClientSettings) -> Path:
    """Write the token atomically, readable by its owner only (0600 from the moment it exists)."""
    token = str(response["access_token"])
    expires_at = _expiry(token) or time.time() + float(response.get("expires_in", 300))
    path = settings.token_file
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump({"access_token": token, "expires_at": expires_at, "issuer": settings.issuer_url}, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# --- helpers --------------------------------------------------------------------------------------------


def _expiry(token: str) -> float | None:
    """The token's `exp`, read without verifying (the API verifies; this only says when to sign in again)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def _get_json(http: httpx.Client, url: str) -> dict[str, Any]:
    import httpx

    try:
        response = http.get(url)
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as err:
        raise SessionError(
            f"The sign-in service at {url} cannot be reached or did not answer as OIDC."
        ) from err
    if not isinstance(body, dict):
        raise SessionError(f"The sign-in service at {url} did not answer as OIDC.")
    return body


def _post_form(http: httpx.Client, url: str, data: dict[str, str]) -> httpx.Response:
    import httpx

    try:
        return http.post(url, data=data)
    except httpx.HTTPError as err:
        raise SessionError(f"The sign-in service at {url} cannot be reached.") from err


def _oauth_error(response: httpx.Response) -> str | None:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    return error if isinstance(error, str) else None


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        for key in ("detail", "error_description", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return f"HTTP {response.status_code}"


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return values
    for line in lines:
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values
