"""IE officers take a police referral."""

from __future__ import annotations

from pathlib import Path

import typer

from cli import render
from cli.common import AsOption, JsonOption, api
from cli.files import read_json

app = typer.Typer(no_args_is_help=True, help="Police referrals (IE officers).")


@app.command("start")
def start(
    path: Path = typer.Argument(..., help="The referral, shaped as examples/referral-*.json."),
    possible_duplicate_reason: str | None = typer.Option(
        None,
        "--possible-duplicate-reason",
        help="Start it although it may duplicate an open case: say why (recorded).",
    ),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Validate a police referral and start its case. Prints the case id, status and hold."""
    body = {"referral": read_json(path), "possible_duplicate_reason": possible_duplicate_reason}
    result = api(actor).post("/referrals", body)
    if as_json:
        render.print_json(result)
    else:
        render.referral_started(result)
