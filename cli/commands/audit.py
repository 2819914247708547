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
    """Check the latest signed checkpoint, then each case's record against its hash chain and that checkpoint:
    rewritten entries, a deleted tail or case, a swapped or removed note or referral, a purge marked by hand
    are each named (exit 6)."""
    result = api(actor).get("/audit/verify", case_id=case_id)
    if as_json:
        render.print_json(result)
    else:
        render.verify_reports(result)
    if result["intact"]:
        return
    problems = []
    checkpoint = result["checkpoint"]
    if checkpoint["status"] == "forged":
        problems.append(f"the latest checkpoint does not verify: {checkpoint['problem']}")
    broken = [r for r in result["cases"] if not r["intact"]]
    problems += [f"{r['case_id']}: {r['problem']}" for r in broken[:5]]
    more = f" (and {len(broken) - 5} more case(s))" if len(broken) > 5 else ""
    raise CliError(
        f"The record does not verify ({len(broken)} case(s) broken): " + "; ".join(problems) + more + ".",
        6,
    )


READ_COLUMNS = ["at", "actor", "action", "case_id", "detail"]


@audit_app.command("reads")
def audit_reads(
    case_id: str | None = typer.Option(None, "--case", help="One case."),
    role: str | None = typer.Option(
        None, "--role", help="Only readers of this role (officer, supervisor, ...)."
    ),
    start: str | None = typer.Option(None, "--from", help="On or after this day (YYYY-MM-DD)."),
    end: str | None = typer.Option(None, "--to", help="Before this day (YYYY-MM-DD)."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV, for an auditor."),
) -> None:
    """Who read which case when: the access log (supervisors and auditors; this read is recorded too)."""
    rows = api(actor).get("/audit/reads", case_id=case_id, role=role, **{"from": start, "to": end})
    render.trail(rows, READ_COLUMNS, "read(s)", as_json, as_csv)


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
