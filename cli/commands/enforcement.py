"""Enforcement teams: check before any enforcement step."""

from __future__ import annotations

import typer

from cli import render
from cli.client import CliError
from cli.common import AsOption, JsonOption, api

app = typer.Typer(no_args_is_help=True, help="Enforcement teams: check before any enforcement step.")
CHECK_COLUMNS = ["check_id", "at", "actor", "verdict", "possible_match", "answer", "case_ids", "why"]


@app.command("check")
def check(
    person: str = typer.Option(
        ..., "--person", help='A Home Office reference (HO-1234567) or "FAMILY, GIVEN NAMES, YYYY-MM-DD".'
    ),
    reason: str = typer.Option(..., "--reason", help="Why enforcement is considering this person."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Is this person protected? Permitted exits 0; refused exits 3 with the case and the officer to contact.
    Every check is recorded; a refusal is reported to the case officer."""
    result = api(actor).post("/enforcement/checks", {"person": person, "reason": reason})
    if as_json:
        render.print_json(result)
    else:
        render.check_result(result)
    if not result["permitted"]:
        raise CliError("", 3)


@app.command("action")
def action(
    check_id: str = typer.Option(..., "--check", help="The id of a permitted check."),
    action: str = typer.Option(..., "--action", help="detained or removed."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Record an enforcement action taken after a permitted check (for the statistics)."""
    result = api(actor).post("/enforcement/actions", {"check_id": check_id, "action": action})
    if as_json:
        render.print_json(result)
        return
    render.out.print(
        f"Recorded: {render.safe(result['action'])} after check {render.safe(result['check_id'])} "
        f"({render.safe(result['action_id'])})."
    )


@app.command("checks")
def checks(
    case_id: str | None = typer.Option(None, "--case", help="Checks that concerned this case."),
    role: str | None = typer.Option(None, "--role", help="Only checks asked by this role."),
    start: str | None = typer.Option(None, "--from", help="On or after this day (YYYY-MM-DD)."),
    end: str | None = typer.Option(None, "--to", help="Before this day (YYYY-MM-DD)."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV, for an auditor."),
) -> None:
    """Every enforcement check: who asked, when, why and the answer (supervisors and auditors)."""
    rows = api(actor).get("/enforcement/checks", case_id=case_id, role=role, **{"from": start, "to": end})
    render.trail(rows, CHECK_COLUMNS, "check(s)", as_json, as_csv)
