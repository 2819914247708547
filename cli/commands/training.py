"""Training mode (a training stack only): a supervisor moves one case's clock forward to rehearse pre-decision
engagement, release and overdue escalation (README "Training mode")."""

from __future__ import annotations

import typer

from cli import render
from cli.client import CliError, segment
from cli.common import AsOption, JsonOption, api

NO_ROUTE = "The case API answered 404"  # no such route: not the API's own "No case …"
NOT_TRAINING = (
    "Training mode is off on this service: case clocks move only on a training stack (MVP_TRAINING=1 make run, "
    "or `mvp stack run --training`; then `export MVP_TRAINING=1` here)."
)

app = typer.Typer(no_args_is_help=True, help="Training mode only: rehearse what time brings to a case.")


@app.command("advance")
def advance(
    case_id: str = typer.Argument(..., metavar="CASE_ID", help="The case, e.g. MVP-7K3Q-9ZDX."),
    by: str = typer.Argument(..., metavar="DURATION", help="How far: 30d, 4w or 12h (at most 400 days)."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Move one training case's clock forward (supervisors). What the time brings follows at once: an overdue
    contact escalates, the engagement notice period ends, a route clock runs out. Refused on a stack that is
    not in training mode."""
    try:
        result = api(actor).post(f"/training/cases/{segment(case_id)}/advance", {"by": by})
    except CliError as error:
        if error.exit_code == 4 and str(error).startswith(NO_ROUTE):  # a service not in training mode
            raise CliError(NOT_TRAINING, 4) from None
        raise
    if as_json:
        render.print_json(result)
    else:
        render.command_result(result)
