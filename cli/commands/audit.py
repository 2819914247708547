"""The record proves itself; retention (supervisors and auditors)."""

from __future__ import annotations

import typer

from cli import render
from cli.client import CliError
from cli.common import AsOption, JsonOption, api

audit_app = typer.Typer(no_args_is_help=True, help="The append-only case record.")
retention_app = typer.Typer(no_args_is_help=True, help="Retention of personal data (PROTOCOL.md §10).")


@audit_app.command("verify")
def verify(
    case_id: str | None = typer.Argument(None, help="One case; default every case."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Recompute the record's hash chain and name the first broken entry of any case (exit 6)."""
    reports = api(actor).get("/audit/verify", case_id=case_id)
    if as_json:
        render.print_json(reports)
    else:
        render.verify_reports(reports)
    broken = [r for r in reports if not r["intact"]]
    if broken:
        first = broken[0]
        raise CliError(
            f"The record of {len(broken)} case(s) does not verify; first: {first['case_id']} entry "
            f"{first['first_broken']} ({first['problem']}).",
            6,
        )


@retention_app.command("purge")
def purge(
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be purged; change nothing."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Remove personal data of cases closed longer than their policy's retention period, keeping the anonymised
    facts the statistics need. Open cases are never touched. The same purge runs by itself on a schedule;
    this runs it now and waits for its report."""
    result = api(actor).post("/retention/purge", {"dry_run": dry_run})
    if as_json:
        render.print_json(result)
        return
    skipped = result.get("skipped", [])
    if result["purged"] or skipped:
        render.out.print(
            f"Purged {len(result['purged'])} case(s): referral data, hold identities and notice addresses removed; "
            "every Temporal run and the enforcement checks naming them deleted; statistics kept."
        )
        for p in result["purged"]:
            render.out.print(
                f"  {render.safe(p['case_id'])}  {render.words(p['outcome'])}  closed {render.day(p['closed_at'])}"
            )
        if skipped:
            render.out.print(f"Skipped {len(skipped)} case(s), left for a later run:")
            for s in skipped:
                render.out.print(f"  {render.safe(s['case_id'])}  {render.safe(s['reason'] or '')}")
        return
    due = result["due"]
    render.out.print(
        f"{len(due)} case(s) due for purge" + (" (dry run: nothing changed)." if dry_run else ".")
    )
    for row in due:
        render.out.print(
            f"  {render.safe(row['case_id'])}  {render.words(row['outcome'])}  closed {render.day(row['closed_at'])}"
        )
