"""The IE work queue: what is waiting for the case officer and the supervisors."""

from __future__ import annotations

import typer

from cli import render
from cli.common import AsOption, JsonOption, api

app = typer.Typer(help="The IE work queue: tasks for case officers and supervisors.")


@app.callback(invoke_without_command=True)
def list_(
    context: typer.Context,
    mine: bool = typer.Option(False, "--mine", help="Only tasks you own."),
    team: bool = typer.Option(False, "--team", help="Only the supervisors' team's tasks."),
    due_today: bool = typer.Option(False, "--due-today", help="Only tasks due by the end of today."),
    overdue: bool = typer.Option(False, "--overdue", help="Only tasks past their due time."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Open tasks, soonest due first, each with its full text (deliver-by-hand tasks in the person's
    language). `mvp tasks done ID` marks one done. The read is recorded."""
    if context.invoked_subcommand is not None:
        return
    found = api(actor).get(
        "/tasks",
        mine=mine or None,
        team=team or None,
        due_today=due_today or None,
        overdue=overdue or None,
    )
    if as_json:
        render.print_json(found)
    else:
        render.task_list(found)


@app.command("done")
def done(
    task_id: int = typer.Argument(..., help="The task's number, as `mvp tasks` shows it."),
    actor: str | None = AsOption,
) -> None:
    """Mark a task done (its owner, or a supervisor). Recorded with who and when."""
    api(actor).post(f"/tasks/{task_id}/done", {})
    render.out.print(f"Task {task_id} done.")
