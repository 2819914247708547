"""Decisions only an IE supervisor takes."""

from __future__ import annotations

import typer

from cli.client import CliError
from cli.common import AsOption, JsonOption, send

app = typer.Typer(no_args_is_help=True, help="Decisions only an IE supervisor takes.")


@app.command("exclusion")
def exclusion(
    case_id: str = typer.Argument(...),
    confirm: bool = typer.Option(
        False, "--confirm", help="Confirm the exclusion: the case closes as excluded."
    ),
    override: bool = typer.Option(False, "--override", help="Override it: protection continues."),
    reason: str = typer.Option(..., "--reason"),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Decide a pending exclusion: --confirm or --override, with a reason."""
    if confirm == override:
        raise CliError("Give exactly one of --confirm or --override.", 2)
    body = {"verdict": "confirm" if confirm else "override", "reason": reason}
    send("exclusion_decision", case_id, body, actor, as_json)


@app.command("release")
def release(
    case_id: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason"),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Authorise release of the hold after pre-decision engagement (the case closes as hold released)."""
    send("release_decision", case_id, {"reason": reason}, actor, as_json)


@app.command("reopen")
def reopen(
    case_id: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="Why the closure was a mistake (recorded)."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Reopen a case closed by mistake (within the policy's reopen window): the hold is in force again."""
    send("reopen", case_id, {"reason": reason}, actor, as_json)


@app.command("reassign")
def reassign(
    case_id: str = typer.Argument(...),
    officer: str = typer.Option(..., "--officer", help="The new case officer's id, e.g. NCCU-0077."),
    reason: str = typer.Option(..., "--reason", help="Why the case changes hands (recorded)."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Give the case to another case officer: recorded, and both officers get a task."""
    send("reassign", case_id, {"officer_id": officer.strip(), "reason": reason}, actor, as_json)
