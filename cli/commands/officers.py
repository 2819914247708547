"""What the dedicated IE officer records."""

from __future__ import annotations

import typer

from cli.client import CliError
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


def _dependant(given: str) -> dict[str, str]:
    """`"FAMILY, GIVEN, YYYY-MM-DD, relationship"` as the referral's dependant (the API checks the date)."""
    parts = [p.strip() for p in given.split(",")]
    if len(parts) != 4 or not all(parts):
        raise CliError(
            '--add-dependant: give a dependant as "FAMILY_NAME, GIVEN_NAMES, YYYY-MM-DD, relationship" '
            f"(four parts separated by commas; {len([p for p in parts if p])} given).",
            exit_code=2,
        )
    family, given_names, born, relationship = parts
    return {
        "family_name": family,
        "given_names": given_names,
        "date_of_birth": born,
        "relationship": relationship,
    }


@app.command("amend")
def amend(
    case_id: str = typer.Argument(...),
    channel: str | None = typer.Option(
        None, "--channel", help="The safe channel: phone, email, post or via_support_worker."
    ),
    phone: str | None = typer.Option(None, "--phone", help="The new safe phone."),
    email: str | None = typer.Option(None, "--email", help="The new safe email."),
    post_safe: bool | None = typer.Option(
        None, "--post-safe/--post-not-safe", help="Is post to the person's address safe?"
    ),
    language: str | None = typer.Option(None, "--language", help="The person's language (e.g. en, pl, ur)."),
    interpreter: bool | None = typer.Option(
        None, "--interpreter/--no-interpreter", help="Does the person need an interpreter?"
    ),
    safe_times: str | None = typer.Option(None, "--safe-times", help="When it is safe to make contact."),
    address: str | None = typer.Option(None, "--address", help="The person's new address."),
    location: str | None = typer.Option(None, "--location", help="Where the person is now (e.g. a refuge)."),
    add_dependant: list[str] | None = typer.Option(
        None,
        "--add-dependant",
        help='A new dependant, covered by the hold at once: "FAMILY, GIVEN, YYYY-MM-DD, relationship". '
        "Repeat for each.",
    ),
    never_contact_via: list[str] | None = typer.Option(
        None,
        "--never-contact-via",
        help="Never contact the person through this (repeat for each; the list given replaces the old one).",
    ),
    clear_never_contact_via: bool = typer.Option(
        False, "--clear-never-contact-via", help="Empty the never-contact-via list."
    ),
    told_by_police: bool = typer.Option(
        False, "--told-by-police", help="Police told IE of the change (recorded as a sharing)."
    ),
    note: str | None = typer.Option(None, "--note", help="Why (kept sealed beside the record)."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Change what changed: safe contact, language, address, new dependants, never-contact-via. Pending
    notices re-route to the new safe channel. A mistake is corrected by another amend (both are recorded)."""
    if never_contact_via and clear_never_contact_via:
        raise typer.BadParameter(
            "give --never-contact-via or --clear-never-contact-via, not both",
            param_hint="--never-contact-via",
        )
    body = {
        "channel": channel,
        "phone": phone,
        "email": email,
        "post_is_safe": post_safe,
        "language": language,
        "interpreter_needed": interpreter,
        "safe_times": safe_times,
        "address": address,
        "location": location,
        "add_dependants": [_dependant(d) for d in add_dependant or []] or None,
        "never_contact_via": [] if clear_never_contact_via else (never_contact_via or None),
        "told_by_police": told_by_police or None,
        "note": note,
    }
    send("amend", case_id, body, actor, as_json)
