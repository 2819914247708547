"""What every command shares: who you are (`--as` in development), `--json`, and a connection to the API."""

from __future__ import annotations

from typing import Any

import typer

from cli import render
from cli.client import Api, segment
from cli.session import ClientSettings
from models.registry import COMMANDS

AS_HELP = (
    "Development only: act as ROLE:ID[:FORCE] (e.g. officer:NCCU-0042, police:WMP-4471:WMP), with a token from "
    "the development issuer. Default: $MVP_ACTOR. Otherwise your `mvp login` token or $MVP_TOKEN is used."
)
AsOption = typer.Option(None, "--as", help=AS_HELP, envvar="MVP_ACTOR", show_envvar=False)
JsonOption = typer.Option(False, "--json", help="Print JSON instead of text.")


def api(as_actor: str | None) -> Api:
    return Api(ClientSettings.from_env(), as_actor)


def send(kind: str, case_id: str, body: dict[str, Any], as_actor: str | None, as_json: bool) -> None:
    """Send one case command through its registered route; print what the case now is."""
    route = COMMANDS[kind].route
    payload = {k: v for k, v in body.items() if v is not None}
    result = api(as_actor).post(f"/cases/{segment(case_id)}/{route}", payload)
    if as_json:
        render.print_json(result)
    else:
        render.command_result(result)
