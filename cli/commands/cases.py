"""Reading cases: one case, the list, the statistics. Every read is recorded in the access log."""

from __future__ import annotations

from typing import Any

import typer

from cli import render
from cli.client import CliError, segment
from cli.common import AsOption, JsonOption, api

# The API's page sizes (`usecases.readmodel.PAGE_SIZE`, `PAGE_SIZE_MAX`), restated: the CLI imports nothing
# of the server side.
PAGE_SIZE, PAGE_SIZE_MAX = 50, 1000

case_app = typer.Typer(no_args_is_help=True, help="One case.")
cases_app = typer.Typer(no_args_is_help=True, help="Many cases.")


@case_app.command("show")
def show(
    case_id: str = typer.Argument(..., help="The case id, e.g. MVP-7K3QX-2M9RB (dashes and MVP- optional)."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """One case in full: circumstances, hold and grounds, signposting, contact, decisions and its record."""
    data = api(actor).get(f"/cases/{segment(case_id)}")
    if as_json:
        render.print_json(data)
    else:
        render.case_detail(data)


@cases_app.command("list")
def list_(
    phase: str | None = typer.Option(
        None, help="screening, protection, engagement, awaiting_release, closed."
    ),
    hold: bool | None = typer.Option(
        None, "--hold/--no-hold", help="Only cases whose hold is (or is not) in force."
    ),
    overdue: bool = typer.Option(False, "--overdue", help="Only cases with contact overdue."),
    pending: str | None = typer.Option(
        None, "--pending", help="Awaiting a supervisor: any, exclusion or release."
    ),
    overdue_for: int | None = typer.Option(
        None, "--overdue-for", help="Contact overdue for at least this many days."
    ),
    force: str | None = typer.Option(None, help="Referring force code, e.g. WMP."),
    crime_type: str | None = typer.Option(None, "--crime-type", help="e.g. domestic_abuse."),
    referred_from: str | None = typer.Option(None, "--from", help="Referred on or after (YYYY-MM-DD)."),
    referred_to: str | None = typer.Option(None, "--to", help="Referred before (YYYY-MM-DD)."),
    outcome: str | None = typer.Option(None, help="Closed with this outcome."),
    mine: bool = typer.Option(False, "--mine", help="Only the cases whose case officer is you."),
    page_size: int | None = typer.Option(
        None, "--page-size", help=f"Cases on a page (default {PAGE_SIZE}, at most {PAGE_SIZE_MAX})."
    ),
    after: str | None = typer.Option(
        None, "--after", help="The page after this cursor (the one the page before printed)."
    ),
    every: bool = typer.Option(
        False,
        "--all",
        help="Every page, one after another, for an export: with --csv, or --json (one case a line).",
    ),
    as_json: bool = JsonOption,
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    actor: str | None = AsOption,
) -> None:
    """The cases with their phase and hold, most urgent first (overdue contact, pending decisions), a page
    at a time; the next page's cursor is printed under the table (on stderr with --json or --csv)."""
    if as_json and as_csv:
        raise CliError("Give --json or --csv, not both.", 2)
    if overdue_for is not None and not 0 <= overdue_for <= 3650:
        raise CliError("--overdue-for takes a number of days from 0 to 3650.", 2)
    if page_size is not None and not 1 <= page_size <= PAGE_SIZE_MAX:
        raise CliError(f"--page-size takes a number of cases from 1 to {PAGE_SIZE_MAX}.", 2)
    if every and not (as_json or as_csv):
        raise CliError("--all is for exports: give it with --csv, or --json (one case a line).", 2)
    client = api(actor)
    query: dict[str, Any] = {
        "phase": phase,
        "hold": hold,
        "overdue": True if overdue else None,
        "pending": pending,
        "overdue_for": overdue_for,
        "force": force,
        "crime_type": crime_type,
        "from": referred_from,
        "to": referred_to,
        "outcome": outcome,
        "mine": True if mine else None,
    }
    if every:  # page after page, each printed before the next is asked for: never every case in memory
        following, first = after, True
        while True:
            rows, following = client.page(
                "/cases", **query, page_size=page_size or PAGE_SIZE_MAX, after=following
            )
            if as_csv:
                render.print_csv(render.LIST_COLUMNS, rows, header=first)
            else:
                render.print_json_lines(rows)
            first = False
            if following is None:
                return
    rows, following = client.page("/cases", **query, page_size=page_size, after=after)
    if as_json or as_csv:
        if as_json:
            render.print_json(rows)
        else:
            render.print_csv(render.LIST_COLUMNS, rows)
        if following is not None:
            render.err.print(f"More cases follow: the same command with --after {following}", soft_wrap=True)
    else:
        render.case_list(rows, following)


@cases_app.command("find")
def find(
    crime_ref: str | None = typer.Option(None, "--crime-ref", help="The police crime reference."),
    referral_id: str | None = typer.Option(None, "--referral-id", help="The police referral id."),
    ho_ref: str | None = typer.Option(None, "--ho-ref", help="The person's Home Office reference."),
    officer: str | None = typer.Option(None, "--officer", help="The referring police officer's id."),
    name: str | None = typer.Option(
        None, "--name", help='The person\'s name, "FAMILY, GIVEN" (with --born).'
    ),
    born: str | None = typer.Option(
        None, "--born", help="The person's date of birth, YYYY-MM-DD (with --name)."
    ),
    as_json: bool = JsonOption,
    actor: str | None = AsOption,
) -> None:
    """Find a case by what the caller quotes: case ids and codes only; a near name or reference is a
    possible match. Several options: a case must match them all. The search is recorded."""
    search = {
        "crime_ref": crime_ref,
        "referral_id": referral_id,
        "ho_ref": ho_ref,
        "officer": officer,
        "name": name,
        "born": born,
    }
    # in the body (POST), not the URL: a name and date of birth must not end up in a proxy's logs
    rows = api(actor).post("/cases/find", {k: v for k, v in search.items() if v is not None})
    if as_json:
        render.print_json(rows)
    else:
        render.case_find(rows)


def report(
    start: str = typer.Option(..., "--from", help="First day of the period (YYYY-MM-DD), included."),
    end: str = typer.Option(..., "--to", help="Day after the period (YYYY-MM-DD): not included."),
    by: str | None = typer.Option(None, "--by", help="A column per group: force or crime-type."),
    as_json: bool = JsonOption,
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV: one row per figure."),
    publish: bool = typer.Option(
        False,
        "--publish",
        help="For publication: small counts suppressed as \\[c], the rest rounded (the policy's "
        "statistical disclosure control), and a note saying so.",
    ),
    actor: str | None = AsOption,
) -> None:
    """The Review's figures (paras 60-61) and more, for the cases referred in a period, and the
    closures in it."""
    if as_json and as_csv:
        raise CliError("Give --json or --csv, not both.", 2)
    query: dict[str, Any] = {"from": start, "to": end, "by": by}
    if publish:
        query["publish"] = "true"
    data = api(actor).get("/report", **query)
    if as_json:
        render.print_json(data)
    else:
        render.report(data, as_csv)
