"""What police signal on a case their force referred."""

from __future__ import annotations

from datetime import datetime

import typer

from cli.common import AsOption, JsonOption, send

app = typer.Typer(no_args_is_help=True, help="What police signal on a case they referred.")

STATUSES = (
    "reported, under_investigation, suspect_arrested, charged, awaiting_trial, at_trial, appeal_pending, "
    "concluded, no_further_action"
)


@app.command("update")
def update(
    case_id: str = typer.Argument(...),
    status: str | None = typer.Option(None, "--status", help=f"The investigation's status now: {STATUSES}."),
    protective_measures: str | None = typer.Option(None, "--protective-measures"),
    suspect: bool | None = typer.Option(None, "--suspect/--not-suspect", help="The person is now a suspect."),
    charged: bool = typer.Option(False, "--charged", help="The person has been charged."),
    trial_date: datetime | None = typer.Option(
        None, "--trial-date", formats=["%Y-%m-%d"], help="YYYY-MM-DD."
    ),
    note: str | None = typer.Option(None, "--note"),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Report the investigation or prosecution: status, protective measures, suspect or charged, trial date."""
    body = {
        "investigation": status,
        "protective_measures": protective_measures,
        "person_is_suspect": suspect,
        "person_charged": True if charged else None,
        "trial_date": trial_date.date().isoformat() if trial_date else None,
        "note": note,
    }
    send("police_update", case_id, body, actor, as_json)


@app.command("correct")
def correct(
    case_id: str = typer.Argument(...),
    status: str = typer.Option(..., "--status", help=f"The status it should have been: {STATUSES}."),
    reason: str = typer.Option(..., "--reason", help="Why the status reported was wrong (kept sealed)."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Correct an investigation status your force reported wrongly. Recorded as a correction that points at the
    entry it corrects, never a rewrite; the hold's grounds follow it, but a correction never lifts the hold by
    itself. The case officer is told."""
    send("police_correction", case_id, {"investigation": status, "reason": reason}, actor, as_json)


@app.command("note")
def note(
    case_id: str = typer.Argument(...),
    text: str = typer.Option(..., "--text", help="The note (kept sealed beside the record)."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Add a note to a case your force referred; the case officer gets a task to read it."""
    send("police_note", case_id, {"text": text}, actor, as_json)


@app.command("withdraw")
def withdraw(
    case_id: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason"),
    in_error: bool = typer.Option(False, "--in-error", help="The referral was made in error."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Withdraw the referral: the police ground ends; other grounds keep the hold. Made in error with no other
    ground, the case closes as withdrawn."""
    send("withdrawal", case_id, {"reason": reason, "made_in_error": in_error or None}, actor, as_json)


@app.command("fact")
def fact(
    case_id: str = typer.Argument(...),
    kind: str = typer.Option(..., "--kind", help="relationship_ended, person_left_uk or other."),
    source: str = typer.Option(..., "--source", help="perpetrator, police, person or third_party."),
    detail: str | None = typer.Option(None, "--detail"),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Tell IE a fact about the person, with its source."""
    send("fact_reported", case_id, {"fact_kind": kind, "source": source, "detail": detail}, actor, as_json)
