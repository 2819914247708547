"""The CLI's one way to the service: HTTP calls to the case API, with the caller's token. Errors come back as
`CliError` carrying the exit code the README promises (2 bad input, 3 refused or not signed in, 4 not found,
5 unavailable, 6 tampering) and a sentence to print."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from cli import render
from cli.session import ClientSettings, token_for

if TYPE_CHECKING:  # imported when a command calls the API: `mvp --help` need not load it
    import httpx

# Connect fast; wait long enough for the API's own bounded waits (a worker takes 15 s at most to answer).
CONNECT_TIMEOUT, TIMEOUT = 3.0, 40.0
MODE_HEADER = "X-MVP-Mode"  # "training" on every answer of a training stack (README "Training mode")
EXIT_BY_STATUS = {400: 2, 422: 2, 401: 3, 403: 3, 409: 3, 404: 4, 502: 5, 503: 5, 504: 5}


def segment(value: str) -> str:
    """A value typed by the caller (a case or task id) as one path segment: percent-encoded, so that a slash, a
    dot-dot or a control character reaches the API as text to refuse, never as another route or a bad URL."""
    if not value.strip():
        raise CliError("The case id is empty; name a case, e.g. MVP-7K3QX-2M9RB.", 2)
    return quote(value.strip(), safe="")


class CliError(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Api:
    def __init__(self, settings: ClientSettings, as_actor: str | None) -> None:
        self.settings = settings
        self.as_actor = as_actor

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(self.as_actor, self.settings)}"}

    def call(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        return self._send(method, path, json=json, params=params).json()

    def _send(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        import httpx

        url = self.settings.api_url.rstrip("/") + path
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = httpx.request(
                method,
                url,
                json=json,
                params=clean,
                headers=self._headers(),
                timeout=httpx.Timeout(TIMEOUT, connect=CONNECT_TIMEOUT),
            )
        except httpx.TimeoutException:
            raise CliError(
                f"The case API at {self.settings.api_url} did not answer in time; the service may be overloaded "
                "or a part of it down. Try again shortly.",
                5,
            ) from None
        except httpx.InvalidURL:
            raise CliError(
                "The request was not sent: a value in it cannot be part of a web address.", 2
            ) from None
        except httpx.HTTPError:
            raise CliError(
                f"Cannot reach the case API at {self.settings.api_url}: is `make run` running (or MVP_API_URL "
                "right)?",
                5,
            ) from None
        if response.headers.get(MODE_HEADER, "").lower() == "training":
            render.training_mode()
        if response.is_success:
            return response
        raise _error(response)

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params)

    def page(self, path: str, **params: Any) -> tuple[Any, str | None]:
        """A GET of a paged list: the page, and the cursor of the next page from the `Link` header's
        `rel="next"` (None on the last page)."""
        import httpx

        response = self._send("GET", path, params=params)
        following = response.links.get("next", {}).get("url")
        return response.json(), httpx.URL(following).params.get("after") if following else None

    def post(self, path: str, body: Any) -> Any:
        return self.call("POST", path, json=body)


def _error(response: httpx.Response) -> CliError:
    code = EXIT_BY_STATUS.get(response.status_code, 5 if response.status_code >= 500 else 1)
    try:
        error = response.json()["error"]
        message, code = str(error["message"]), int(error.get("exit_code", code))
    except (ValueError, KeyError, TypeError):
        message = f"The case API answered {response.status_code} {response.reason_phrase}."
    if response.status_code == 401:
        message += "\nSign in with `mvp login` (or set MVP_TOKEN; in development, `--as ROLE:ID[:FORCE]`)."
    return CliError(message, code)
