"""What the dedicated IE officer records."""

from __future__ import annotations

import typer

from cli.common import AsOption, JsonOption, send

app = typer.Typer(no_args_is_help=True, help="What the dedicated IE officer records.")

ROUTES = (
    "domestic_abuse_concession, appendix_victim_of_domestic_abuse, national_referral_mechanism, foreign_witness, "
    "split_dependant_claim, legal_advice, specialist_support, consulate, other"
)


@app.command("contact")
def contact(
    case_id: str = typer.Argument(...),
    result: str = typer.Option(..., "--result", help="reached, no_answer, unsafe_to_talk or declined."),
    support: bool | None = typer.Option(
        None,
        "--support/--no-support",
        help="Is the person receiving support and advice towards an application?",
    ),
    note: str | None = typer.Option(None, "--note"),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Record a contact attempt."""
    send("contact", case_id, {"result": result, "support_active": support, "note": note}, actor, as_json)


@app.command("application")
def application(
    case_id: str = typer.Argument(...),
    route: str = typer.Option(..., "--route", help=ROUTES + "."),
    stage: str = typer.Option(
        ..., "--stage", help="submitted, granted, refused, rejected, review_lodged, appeal_lodged, withdrawn."
    ),
    number: int | None = typer.Option(None, "--number", help="Which application (when there are several)."),
    note: str | None = typer.Option(None, "--note"),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Record an application's stage."""
    body = {"route": route, "stage": stage, "number": number, "note": note}
    send("application", case_id, body, actor, as_json)


@app.command("route")
def route(
    case_id: str = typer.Argument(...),
    route: str = typer.Option(
        ..., "--route", help="e.g. domestic_abuse_concession, national_referral_mechanism."
    ),
    days: int | None = typer.Option(
        None, "--days", help="Length of the route's clock (default from the policy)."
    ),
    note: str | None = typer.Option(None, "--note"),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Start a route clock that keeps the hold in force (concession leave, NRM recovery period)."""
    send("route_started", case_id, {"route": route, "days": days, "note": note}, actor, as_json)


@app.command("departure")
def departure(
    case_id: str = typer.Argument(...),
    note: str | None = typer.Option(None, "--note"),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Record a voluntary departure (the case closes as departed)."""
    send("departure", case_id, {"note": note}, actor, as_json)


@app.command("withdraw")
def withdraw(
    case_id: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="Why the referral was withdrawn."),
    in_error: bool = typer.Option(False, "--in-error", help="The referral was made in error."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Record that the referral was withdrawn (or made in error)."""
    send("withdrawal", case_id, {"reason": reason, "made_in_error": in_error or None}, actor, as_json)


@app.command("fact")
def fact(
    case_id: str = typer.Argument(...),
    kind: str = typer.Option(..., "--kind", help="relationship_ended, person_left_uk or other."),
    source: str = typer.Option(
        ..., "--source", help="Who said it: perpetrator, police, person or third_party."
    ),
    detail: str | None = typer.Option(None, "--detail", help="What was said (needed for --kind other)."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Record a fact told to the Home Office; from the alleged perpetrator it changes nothing until verified."""
    send("fact_reported", case_id, {"fact_kind": kind, "source": source, "detail": detail}, actor, as_json)


@app.command("verify-fact")
def verify_fact(
    case_id: str = typer.Argument(...),
    number: int = typer.Option(..., "--number", help="The fact's number, as the case record shows it."),
    verified: bool = typer.Option(..., "--verified/--rejected", help="Verified (takes effect) or rejected."),
    note: str | None = typer.Option(None, "--note"),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Verify or reject a reported fact. A verified `person_left_uk` closes the case as departed."""
    body = {"fact_number": number, "verified": verified, "note": note}
    send("fact_verified", case_id, body, actor, as_json)
