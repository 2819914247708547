"""`mvp`: the command line of the case service, grouped by who uses it.

Each command is a thin adapter: it parses, calls one function, prints. Errors from `infra.errors`
are printed as sentences, without a traceback, with the exit code the error carries (bad input: 2).

Every process exits through `os._exit` after flushing its output: the Temporal client's runtime can
crash at interpreter exit (temporalio/sdk-python#300), and a command that succeeded must say so.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy.exc
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from temporalio.client import Client

from infra.chain import note_binding
from infra.db import make_engine
from infra.errors import (
    DuplicateReferral,
    InputError,
    NotFound,
    RecordTampered,
    ReferralInvalid,
    Refused,
    ServiceError,
    Unavailable,
)
from infra.keys import Keys, load_keys
from infra.settings import Settings, load_settings
from infra.temporal import connect
from models.case import (
    Actor,
    ActorRole,
    ApplicationEvent,
    ApplicationStage,
    CaseCommand,
    CommandResult,
    ContactRecord,
    ContactResult,
    DepartureRecord,
    ExclusionDecision,
    FactKind,
    FactReported,
    FactSource,
    FactVerified,
    InvestigationStatus,
    PoliceUpdate,
    ReleaseDecision,
    Reopen,
    Route,
    RouteStarted,
    Withdrawal,
)
from models.enforcement import CheckResult, EnforcementAction
from models.tables import CaseRow
from protocol import authority
from protocol import enforcement as enforcement_rules
from protocol.intake import parse_records, parse_referral
from usecases import cases as case_ops
from usecases import enforcement as enforcement_ops
from usecases import readmodel

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Migrant Victims Protocol case service.")
stack_app = typer.Typer(no_args_is_help=True, help="The embedded development stack.")
records_app = typer.Typer(no_args_is_help=True, help="Home Office reference records.")
referral_app = typer.Typer(no_args_is_help=True, help="Police referrals (IE officers).")
case_app = typer.Typer(no_args_is_help=True, help="One case.")
cases_app = typer.Typer(no_args_is_help=True, help="Many cases.")
police_app = typer.Typer(no_args_is_help=True, help="What police signal on a case they referred.")
officer_app = typer.Typer(no_args_is_help=True, help="What the dedicated IE officer records.")
supervisor_app = typer.Typer(no_args_is_help=True, help="Decisions only an IE supervisor takes.")
enforcement_app = typer.Typer(
    no_args_is_help=True, help="Enforcement teams: check before any enforcement step."
)
db_app = typer.Typer(no_args_is_help=True, help="The Postgres schema.")
audit_app = typer.Typer(no_args_is_help=True, help="The append-only case record.")
retention_app = typer.Typer(no_args_is_help=True, help="Retention of personal data (PROTOCOL.md §10).")
keys_app = typer.Typer(no_args_is_help=True, help="Encryption keys.")
for sub, name in [  # in the order people meet them
    (stack_app, "stack"),
    (records_app, "records"),
    (referral_app, "referral"),
    (case_app, "case"),
    (cases_app, "cases"),
    (police_app, "police"),
    (officer_app, "officer"),
    (supervisor_app, "supervisor"),
    (enforcement_app, "enforcement"),
    (audit_app, "audit"),
    (retention_app, "retention"),
    (keys_app, "keys"),
    (db_app, "db"),
]:
    app.add_typer(sub, name=name)

out = Console()
err = Console(stderr=True)
T = TypeVar("T")

AS_HELP = "Who you are: ROLE:ID[:FORCE], e.g. officer:NCCU-0042 or police:WMP-4471:WMP. Default: $MVP_ACTOR."
AsOption = typer.Option(None, "--as", help=AS_HELP, envvar="MVP_ACTOR", show_envvar=False)
JsonOption = typer.Option(False, "--json", help="Print JSON instead of a table.")


# --- plumbing ------------------------------------------------------------------------------------


def _settings(find_stack: bool = True) -> Settings:
    try:
        return load_settings(find_stack=find_stack)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in error.errors()
        )
        raise Unavailable(f"Settings are not valid: {problems}") from error


def parse_actor(value: str | None) -> Actor:
    """`ROLE:ID[:FORCE]` as given by --as or MVP_ACTOR."""
    if not value:
        raise InputError(
            "Say who you are: --as ROLE:ID[:FORCE] (or set MVP_ACTOR), e.g. --as officer:NCCU-0042."
        )
    role, _, rest = value.partition(":")
    ident, _, force = rest.partition(":")
    roles = ", ".join(r.value for r in ActorRole if r is not ActorRole.system)
    if role not in {r.value for r in ActorRole} or role == ActorRole.system.value:
        raise InputError(f"--as {value!r}: the role must be one of {roles}.")
    if not ident:
        raise InputError(f"--as {value!r}: give your identifier after the role, e.g. {role}:ABC-123.")
    if role == ActorRole.police.value and not force:
        raise InputError(f"--as {value!r}: police must give their force code, e.g. police:WMP-4471:WMP.")
    return Actor(role=ActorRole(role), id=ident, force=force.upper() or None)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as error:
        raise InputError(f"{path}: no such file.") from error
    except json.JSONDecodeError as error:
        raise InputError(
            f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})."
        ) from error


async def _with_client(settings: Settings, keys: Keys, work: Callable[[Client], Awaitable[T]]) -> T:
    client = await connect(settings, keys.keyring)
    return await work(client)


def _run(settings: Settings, work: Callable[[Client], Awaitable[T]]) -> T:
    keys = load_keys(settings)
    return asyncio.run(_with_client(settings, keys, work))


def _print_json(value: Any) -> None:
    out.print_json(json.dumps(value, default=str))


def _send(case_id: str, command: CaseCommand, as_json: bool) -> None:
    settings = _settings()
    result: CommandResult = _run(settings, lambda client: case_ops.send(client, case_id, command))
    if as_json:
        _print_json(result.model_dump(mode="json"))
        return
    view = result.view
    hold = "in force" if view.hold.active else "lifted"
    out.print(f"[bold]{case_id}[/]: {result.accepted}.")
    out.print(
        f"  phase {view.phase.value}; hold {hold} ({', '.join(g.value for g in view.hold.grounds) or '-'})"
    )
    if view.outcome:
        out.print(f"  outcome: {view.outcome.value}")
    elif view.next_contact_due:
        out.print(f"  next contact due {view.next_contact_due:%Y-%m-%d}")


# --- the stack and the worker --------------------------------------------------------------------


@stack_app.command("run")
def stack_run() -> None:
    """Start Postgres, the Temporal dev server and the worker, all under .data/; Ctrl-C stops them."""
    from devstack.stack import run_stack

    raise typer.Exit(run_stack(_settings(find_stack=False)))


@app.command("worker")
def worker_command() -> None:
    """Run the case worker against TEMPORAL_ADDRESS and DATABASE_URL until SIGINT or SIGTERM."""
    import logging

    from worker import run_until_signalled

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(run_until_signalled(_settings()))


@db_app.command("migrate")
def db_migrate() -> None:
    """Bring the schema at DATABASE_URL to the newest revision (Alembic; safe to run again)."""
    from infra.db import migrate

    settings = _settings()
    if not settings.database_url:
        raise Unavailable("DATABASE_URL is not set.")
    migrate(settings.database_url)
    out.print("Schema is up to date.")


@app.command("codec-server")
def codec_server(host: str = typer.Option("127.0.0.1", help="Address to listen on.")) -> None:
    """Serve /decode and /encode for the Temporal UI, to holders of the codec bearer token only."""
    from infra.codec import EncryptionCodec
    from infra.codec_server import make_server

    settings = _settings()
    keys = load_keys(settings)
    if not keys.codec_token:
        raise Unavailable("No codec token: set MVP_CODEC_TOKEN (development: `make run` writes one).")
    origin = f"http://localhost:{settings.temporal_ui_port}"
    server = make_server(host, settings.codec_port, EncryptionCodec(keys.keyring), keys.codec_token, origin)
    out.print(f"Codec server on http://{host}:{settings.codec_port} for the UI at {origin}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@audit_app.command("verify")
def audit_verify(
    case_id: str | None = typer.Argument(None, help="One case; default every case."),
    as_json: bool = JsonOption,
) -> None:
    """Recompute the record's hash chain and name the first broken entry of any case."""
    from usecases.audit import verify

    reports = verify(make_engine(_settings(), pooled=False), case_id.strip().upper() if case_id else None)
    if case_id and not reports:
        raise NotFound(f"No record for case {case_id}.")
    broken = [r for r in reports if not r.intact]
    if as_json:
        _print_json(
            [
                {
                    "case_id": r.case_id,
                    "entries": r.entries,
                    "intact": r.intact,
                    "first_broken": r.first_broken,
                    "problem": r.problem,
                }
                for r in reports
            ]
        )
    else:
        for report in reports:
            verdict = (
                "intact"
                if report.intact
                else f"[bold red]BROKEN at entry {report.first_broken}[/]: {report.problem}"
            )
            out.print(f"{report.case_id}: {report.entries} entries, {verdict}")
    if broken:
        first = broken[0]
        raise RecordTampered(
            f"The record of {len(broken)} case(s) does not verify; first: {first.case_id} entry {first.first_broken} "
            f"({first.problem})."
        )


@retention_app.command("purge")
def retention_purge(
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be purged; change nothing."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Remove personal data of cases closed longer than their policy's retention period (Postgres rows and
    their Temporal histories), keeping the anonymised facts the statistics need. Open cases are never touched."""
    from activities.retention import due_for_purge, purge_case

    who = parse_actor(actor)
    denied = authority.may_purge(who)
    if denied is not None:
        raise Refused(f"Refused: {denied}.")
    settings = _settings()
    engine = make_engine(settings, pooled=False)
    now = datetime.now(UTC)
    due = due_for_purge(engine, now)
    if dry_run or not due:
        if as_json:
            _print_json([{"case_id": r.case_id, "outcome": r.outcome, "closed_at": r.closed_at} for r in due])
        else:
            out.print(
                f"{len(due)} case(s) due for purge" + (" (dry run: nothing changed)." if dry_run else ".")
            )
            for row in due:
                out.print(f"  {row.case_id}  {row.outcome}  closed {row.closed_at:%Y-%m-%d}")
        return
    keys = load_keys(settings)
    # Temporal first: if that fails, Postgres is untouched and the purge can simply be run again.
    _run(settings, lambda client: case_ops.delete_histories(client, [row.case_id for row in due]))
    purged = [purge_case(engine, keys, row, now, who.label()) for row in due]
    if as_json:
        _print_json([p.__dict__ for p in purged])
        return
    out.print(
        f"Purged {len(purged)} case(s): referral data, hold identities and notice addresses removed; "
        "Temporal histories deleted; statistics kept."
    )
    for p in purged:
        out.print(
            f"  {p.case_id}  {p.outcome}  closed {p.closed_at:%Y-%m-%d}  holds removed {p.holds_removed}"
        )


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new current key to the key file; old keys stay so running cases' payloads still open.
    Restart the worker and the codec server afterwards. (With MVP_ENCRYPTION_KEYS, put the new
    `id:key` first instead.)"""
    from infra.keys import rotate_key_file

    settings = _settings()
    if settings.encryption_keys is not None:
        raise InputError("Keys come from MVP_ENCRYPTION_KEYS: put the new id:key first there and restart.")
    path = settings.resolved_key_file
    if not path.is_file():
        raise Unavailable(f"No key file at {path}.")
    out.print(f"New current key {rotate_key_file(path)} in {path}; restart the worker to use it.")


# --- records and referrals -----------------------------------------------------------------------


@records_app.command("load")
def records_load(
    path: Path = typer.Argument(..., help="A records file shaped as examples/records.json."),
) -> None:
    """Load or refresh Home Office reference records (status and criminality) for screening."""
    from activities.records import load_records

    records, problems = parse_records(_read_json(path), datetime.now(UTC))
    if records is None:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise InputError(
            f"{path}: the records were refused ({len(problems)} problem(s)); nothing was loaded:\n{listed}"
        )
    statuses, criminal = load_records(make_engine(_settings(), pooled=False), records)
    out.print(f"Loaded {statuses} immigration status record(s) and {criminal} criminal record(s).")


@referral_app.command("start")
def referral_start(
    path: Path = typer.Argument(..., help="The referral, shaped as examples/referral-*.json."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Validate a police referral and start its case. Prints the case id."""
    who = parse_actor(actor)
    referral, problems = parse_referral(_read_json(path), datetime.now(UTC))
    if referral is None:
        raise ReferralInvalid(problems)
    settings = _settings()
    keys = load_keys(settings)
    # Temporal refuses a duplicate while it holds the earlier case's history; the case list remembers
    # it for good (histories go at retention), so a re-referral never reopens a closed case by its id.
    known = case_ops.case_id_for(keys, referral)
    if readmodel.case_exists(make_engine(settings, pooled=False), known):
        raise DuplicateReferral(known)

    async def start(client: Client) -> tuple[str, Any]:
        case_id = await case_ops.start_referral(client, keys, settings.task_queue, referral, who)
        return case_id, await case_ops.wait_until_open(client, case_id)

    case_id, view = asyncio.run(_with_client(settings, keys, start))
    if as_json:
        _print_json({"case_id": case_id, "state": view.model_dump(mode="json") if view else None})
        return
    out.print(f"Case started: [bold]{case_id}[/]")
    if view is None:
        out.print("  The worker has not screened it yet (is `make run` or `mvp worker` running?).")
        return
    hold = "in force" if view.hold.active else "not needed"
    out.print(
        f"  phase {view.phase.value}; status at referral {view.status_at_referral or 'unknown'}; hold {hold}"
    )
    if view.next_contact_due:
        out.print(f"  first contact due {view.next_contact_due:%Y-%m-%d %H:%M} UTC")


# --- reading cases -------------------------------------------------------------------------------


def _words(code: str) -> str:
    """A code as words for a table (`investigation_live` → `investigation live`), so it wraps at spaces."""
    return code.replace("_", " ")


def _reader(actor: str | None) -> Actor:
    """Who is reading: an officer or a supervisor. Every read is recorded."""
    who = parse_actor(actor)
    denied = authority.may_read(who)
    if denied is not None:
        raise Refused(f"Refused: {denied}.")
    return who


def _circumstances(keys: Keys, row: CaseRow) -> dict[str, Any] | None:
    """The referral as received, decrypted, for an authorised reader (None once purged)."""
    if row.referral_sealed is None:
        return None
    return json.loads(keys.keyring.open_text(row.referral_sealed))  # type: ignore[no-any-return]


@case_app.command("show")
def case_show(
    case_id: str = typer.Argument(..., help="The case id, e.g. MVP-XXXXX-XXXXX."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """One case in full: circumstances, hold and grounds, signposting, contact, decisions and its record.
    The read is recorded in the access log."""
    who = _reader(actor)
    settings = _settings()
    engine = make_engine(settings, pooled=False)
    row = readmodel.get_case(engine, case_id.strip().upper())
    readmodel.record_access(engine, who.label(), "case_show", row.case_id, {"personal_data_shown": True})
    keys = load_keys(settings)
    record = readmodel.case_record(engine, row.case_id)
    notes = {
        seq: keys.keyring.open_text(sealed, note_binding(row.case_id, seq))
        for seq, sealed in readmodel.case_notes(engine, row.case_id).items()
    }
    referral = _circumstances(keys, row)
    notices = readmodel.case_notices(engine, row.case_id)
    if as_json:
        data = dict(row.view)  # the workflow's view, written with the row in one transaction
        data["circumstances"] = referral
        data["notices"] = [
            {
                "key": n.key,
                "to": n.recipient,
                "kind": n.kind,
                "channel": n.channel,
                "language": n.language,
                "status": n.status,
                "suppressed_reason": n.suppressed_reason,
            }
            for n in notices
        ]
        data["record"] = [
            {
                "seq": r.seq,
                "at": r.at.isoformat(),
                "actor": r.actor,
                "action": r.action,
                "summary": r.summary,
                "shared_what": r.shared_what,
                "shared_with": r.shared_with,
                "shared_why": r.shared_why,
                "note": notes.get(r.seq),
            }
            for r in record
        ]
        _print_json(data)
        return
    view = row.view
    hold = "IN FORCE" if row.hold_active else "lifted"
    out.print(
        f"[bold]{row.case_id}[/]  {row.crime_type}  referred by {row.force_code} on {row.referred_at:%Y-%m-%d}"
    )
    out.print(f"  phase      {row.phase}")
    out.print(f"  hold       {hold} — grounds: {', '.join(row.hold_grounds) or '-'}")
    out.print(f"  status     at referral: {row.status_at_referral or 'being screened'}")
    if referral is not None:
        person = referral["person"]
        contact = referral["safe_contact"]
        out.print(
            f"  person     {person['given_names']} {person['family_name']}, born {person['date_of_birth']}, "
            f"{person.get('nationality') or 'nationality unknown'}; {referral['role']}",
            markup=False,
        )
        out.print(
            f"  where      {person.get('location') or '-'}; address: {person.get('address') or '-'}",
            markup=False,
        )
        out.print(
            f"  reach via  {contact['channel']} in {contact['language']}"
            f"{' with interpreter' if contact.get('interpreter_needed') else ''}; "
            f"safe times: {contact.get('safe_times') or '-'}; never via: "
            f"{', '.join(contact.get('never_contact_via') or []) or '-'}",
            markup=False,
        )
        for dependant in referral.get("dependants") or []:
            out.print(
                f"  dependant  {dependant['given_names']} {dependant['family_name']} "
                f"({dependant['relationship']}), born {dependant['date_of_birth']}",
                markup=False,
            )
    else:
        out.print("  person     personal data purged at the end of the retention period")
    if row.exclusion_indicators:
        out.print(f"  exclusion  indicators: {', '.join(row.exclusion_indicators)}")
    if row.pending_decisions:
        out.print(f"  [bold red]pending    supervisor decision: {', '.join(row.pending_decisions)}[/]")
    if row.outcome:
        out.print(
            f"  outcome    {row.outcome} ({row.closed_at:%Y-%m-%d})"
            if row.closed_at
            else f"  outcome    {row.outcome}"
        )
    elif row.next_contact_due:
        overdue = (
            f"  [bold red]OVERDUE since {row.overdue_since:%Y-%m-%d}[/]"
            if row.contact_overdue and row.overdue_since
            else ""
        )
        out.print(f"  contact    next due {row.next_contact_due:%Y-%m-%d}{overdue}")
    for sign in view.get("signposting", []):
        deadline = f" (by {sign['deadline'][:10]})" if sign.get("deadline") else ""
        out.print(f"  signpost   {sign['route']}{deadline}: {sign['why']}")
    for application in view.get("applications", []):
        out.print(f"  application {application['number']}: {application['route']} {application['stage']}")
    for n in notices:
        why = f" ({n.suppressed_reason})" if n.suppressed_reason else ""
        out.print(f"  notice     {n.kind} to {n.recipient} by {n.channel} in {n.language}: {n.status}{why}")
    if record:
        table = Table(title="Record", show_lines=False)
        for column in ("#", "when (UTC)", "who", "what", "shared with / why"):
            table.add_column(column)
        for r in record:
            shared = f"{r.shared_with}: {', '.join(r.shared_why)}" if r.shared_with else ""
            note = f"\n  note: {notes[r.seq]}" if r.seq in notes else ""
            table.add_row(
                str(r.seq), f"{r.at:%Y-%m-%d %H:%M}", r.actor, f"{r.action}: {r.summary}{note}", shared
            )
        out.print(table)


@cases_app.command("list")
def cases_list(
    phase: str | None = typer.Option(
        None, help="screening, protection, engagement, awaiting_release, closed."
    ),
    hold: bool | None = typer.Option(
        None, "--hold/--no-hold", help="Only cases whose hold is (or is not) in force."
    ),
    overdue: bool = typer.Option(False, "--overdue", help="Only cases with contact overdue."),
    pending: str | None = typer.Option(
        None, "--pending", help="Only cases awaiting a supervisor's decision: any, exclusion or release."
    ),
    overdue_for: int | None = typer.Option(
        None, "--overdue-for", help="Only cases whose contact has been overdue for at least this many days."
    ),
    force: str | None = typer.Option(None, help="Referring force code, e.g. WMP."),
    crime_type: str | None = typer.Option(None, "--crime-type", help="e.g. domestic_abuse."),
    referred_from: datetime | None = typer.Option(None, "--from", help="Referred on or after (YYYY-MM-DD)."),
    referred_to: datetime | None = typer.Option(None, "--to", help="Referred before (YYYY-MM-DD)."),
    outcome: str | None = typer.Option(None, help="Closed with this outcome."),
    as_json: bool = JsonOption,
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    actor: str | None = AsOption,
) -> None:
    """Every case with its phase and hold, most urgent first (overdue contact, pending decisions).
    The read is recorded in the access log."""
    who = _reader(actor)
    now = datetime.now(UTC)
    where = readmodel.CaseFilter(
        phase=phase,
        hold_active=hold,
        overdue=True if overdue else None,
        decision_pending=True if pending == "any" else None,
        pending_kind=pending if pending != "any" else None,
        overdue_for=timedelta(days=overdue_for) if overdue_for is not None else None,
        force=force,
        crime_type=crime_type,
        referred_from=referred_from.replace(tzinfo=UTC) if referred_from else None,
        referred_to=referred_to.replace(tzinfo=UTC) if referred_to else None,
        outcome=outcome,
    )
    readmodel.check_filter(where)  # a misspelt value exits 2 before any connection is made
    engine = make_engine(_settings(), pooled=False)
    filters = {k: str(v) for k, v in where.__dict__.items() if v is not None}
    readmodel.record_access(engine, who.label(), "cases_list", None, {"filters": filters})
    rows = readmodel.list_cases(engine, where, now)
    columns = [
        "case_id",
        "phase",
        "hold",
        "grounds",
        "next_contact_due",
        "overdue",
        "overdue_since",
        "days_overdue",
        "pending",
        "force",
        "crime_type",
        "referred",
        "outcome",
    ]
    records = [
        {
            "case_id": r.case_id,
            "phase": r.phase,
            "hold": r.hold_active,
            "grounds": r.hold_grounds,
            "next_contact_due": r.next_contact_due.isoformat() if r.next_contact_due else None,
            "overdue": r.contact_overdue,
            "overdue_since": r.overdue_since.isoformat() if r.overdue_since else None,
            "days_overdue": readmodel.days_overdue(r, now),
            "pending": r.pending_decisions,
            "force": r.force_code,
            "crime_type": r.crime_type,
            "referred": r.referred_at.isoformat(),
            "outcome": r.outcome,
        }
        for r in rows
    ]
    if as_json:
        _print_json(records)
        return
    if as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        for rec in records:
            writer.writerow(
                [";".join(v) if isinstance(v := rec[c], list) else ("" if v is None else v) for c in columns]
            )
        return
    table = Table(title=f"{len(rows)} case(s)")
    table.add_column("case", no_wrap=True, min_width=15)  # an id is read out over the phone: never cut
    for column in ("phase", "hold"):
        table.add_column(column, no_wrap=True)
    table.add_column("grounds")
    table.add_column("next contact", no_wrap=True)
    for column in ("pending", "force", "crime", "outcome"):
        table.add_column(column)
    for r in rows:
        due = f"{r.next_contact_due:%Y-%m-%d}" if r.next_contact_due else "-"
        if r.contact_overdue:
            days = readmodel.days_overdue(r, now)
            due = f"[bold red]{due} OVERDUE{f' {days}d' if days is not None else ''}[/]"
        table.add_row(
            r.case_id,
            _words(r.phase),
            "in force" if r.hold_active else "lifted",
            "\n".join(map(_words, r.hold_grounds)) or "-",
            due,
            ", ".join(r.pending_decisions) or "-",
            r.force_code,
            _words(r.crime_type),
            _words(r.outcome or "-"),
        )
    out.print(table)


@app.command("report")
def report_command(
    start: str = typer.Option(..., "--from", help="First day of the period (YYYY-MM-DD), included."),
    end: str = typer.Option(..., "--to", help="Day after the period (YYYY-MM-DD): not included."),
    by: str | None = typer.Option(None, "--by", help="A column per group: force or crime-type."),
    as_json: bool = JsonOption,
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV: one row per figure."),
    actor: str | None = AsOption,
) -> None:
    """The Review's figures (paras 60-61) and more, for the cases referred in a period.

    Read from Postgres; the read is recorded in the access log."""
    from protocol.policy import policy
    from protocol.statistics import FIGURE_NAMES, LABELS
    from usecases.report import build_report, parse_grouping, parse_period

    if as_json and as_csv:
        raise InputError("Give --json or --csv, not both.")
    who = _reader(actor)
    first, after = parse_period(start, end)
    grouping = parse_grouping(by)
    engine = make_engine(_settings(), pooled=False)
    readmodel.record_access(engine, who.label(), "report", None, {"from": start, "to": end, "by": by})
    result = build_report(engine, first, after, policy(), grouping)
    if as_json:
        _print_json(result.as_json())
        return
    groups = result.report.groups
    columns = [*groups, "total"]
    values = [*(g.as_dict() for g in groups.values()), result.report.total.as_dict()]
    if as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(["figure", "label", *columns])
        for name in FIGURE_NAMES:
            writer.writerow([name, LABELS[name].strip(), *(v[name] for v in values)])
        return
    last = f"{after.date() - timedelta(days=1):%Y-%m-%d}"
    table = Table(title=f"Referred {first:%Y-%m-%d} to {last} (UTC), as of {result.as_of:%Y-%m-%d %H:%M} UTC")
    table.add_column("figure")
    for column in columns:
        table.add_column(column, justify="right")
    for name in FIGURE_NAMES:
        table.add_row(LABELS[name], *(str(v[name]) for v in values))
    out.print(table)
    out.print(f"Within one month = first application no later than {result.within_days} days after referral.")
    for note in result.notes:
        out.print(f"[yellow]Note:[/] {note}")


# --- police --------------------------------------------------------------------------------------


@police_app.command("update")
def police_update(
    case_id: str = typer.Argument(...),
    status: InvestigationStatus | None = typer.Option(
        None, "--status", help="The investigation's status now."
    ),
    protective_measures: str | None = typer.Option(None, "--protective-measures"),
    suspect: bool | None = typer.Option(None, "--suspect/--not-suspect", help="The person is now a suspect."),
    charged: bool = typer.Option(False, "--charged", help="The person has been charged."),
    trial_date: datetime | None = typer.Option(
        None, "--trial-date", help="The person is due to give evidence then."
    ),
    note: str | None = typer.Option(None, "--note"),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Report the investigation or prosecution: status, protective measures, suspect or charged, trial date."""
    command = PoliceUpdate(
        actor=parse_actor(actor),
        investigation=status,
        protective_measures=protective_measures,
        person_is_suspect=suspect,
        person_charged=True if charged else None,
        trial_date=trial_date.date() if trial_date else None,
        note=note,
    )
    _send(case_id, command, as_json)


def _withdraw(case_id: str, reason: str, in_error: bool, actor: str | None, as_json: bool) -> None:
    _send(case_id, Withdrawal(actor=parse_actor(actor), reason=reason, made_in_error=in_error), as_json)


InErrorOption = typer.Option(
    False,
    "--in-error",
    help="The referral was made in error: the case closes as withdrawn if nothing else protects the person.",
)


@police_app.command("withdraw")
def police_withdraw(
    case_id: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason"),
    in_error: bool = InErrorOption,
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Withdraw the referral. That ends the police ground only: other grounds keep the hold, and with none
    left the case goes to pre-decision engagement. With --in-error and no other ground it closes as withdrawn."""
    _withdraw(case_id, reason, in_error, actor, as_json)


# --- officers ------------------------------------------------------------------------------------


@officer_app.command("contact")
def officer_contact(
    case_id: str = typer.Argument(...),
    result: ContactResult = typer.Option(..., "--result"),
    support: bool | None = typer.Option(
        None,
        "--support/--no-support",
        help="Is the person receiving support and advice towards an application?",
    ),
    note: str | None = typer.Option(None, "--note"),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Record a contact attempt: reached, no_answer, unsafe_to_talk or declined."""
    _send(
        case_id,
        ContactRecord(actor=parse_actor(actor), result=result, support_active=support, note=note),
        as_json,
    )


@officer_app.command("application")
def officer_application(
    case_id: str = typer.Argument(...),
    route: Route = typer.Option(..., "--route"),
    stage: ApplicationStage = typer.Option(..., "--stage"),
    number: int | None = typer.Option(None, "--number", help="Which application (when there are several)."),
    note: str | None = typer.Option(None, "--note"),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Record an application: submitted, granted, refused, rejected, review_lodged, appeal_lodged, withdrawn."""
    command = ApplicationEvent(actor=parse_actor(actor), route=route, stage=stage, number=number, note=note)
    _send(case_id, command, as_json)


@officer_app.command("route")
def officer_route(
    case_id: str = typer.Argument(...),
    route: Route = typer.Option(
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
    _send(case_id, RouteStarted(actor=parse_actor(actor), route=route, days=days, note=note), as_json)


@officer_app.command("departure")
def officer_departure(
    case_id: str = typer.Argument(...),
    note: str | None = typer.Option(None, "--note"),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Record a voluntary departure (the case closes as departed)."""
    _send(case_id, DepartureRecord(actor=parse_actor(actor), note=note), as_json)


@officer_app.command("withdraw")
def officer_withdraw(
    case_id: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="Why: the referral was withdrawn or made in error."),
    in_error: bool = InErrorOption,
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Record that police withdrew the referral (the police ground ends; see `police withdraw`)."""
    _withdraw(case_id, reason, in_error, actor, as_json)


@officer_app.command("fact")
def officer_fact(
    case_id: str = typer.Argument(...),
    kind: FactKind = typer.Option(..., "--kind", help="relationship_ended, person_left_uk or other."),
    source: FactSource = typer.Option(
        ..., "--source", help="Who said it: perpetrator, police, person or third_party."
    ),
    detail: str | None = typer.Option(None, "--detail", help="What was said (needed for --kind other)."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Record a fact told to the Home Office. From the alleged perpetrator or a third party it is
    unverified and changes nothing until an officer verifies it."""
    command = FactReported(actor=parse_actor(actor), fact_kind=kind, source=source, detail=detail)
    _send(case_id, command, as_json)


@officer_app.command("verify-fact")
def officer_verify_fact(
    case_id: str = typer.Argument(...),
    number: int = typer.Option(..., "--number", help="The fact's number, as the case record shows it."),
    verified: bool = typer.Option(..., "--verified/--rejected", help="Verified (takes effect) or rejected."),
    note: str | None = typer.Option(None, "--note"),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Verify or reject a reported fact. A verified `person_left_uk` closes the case as departed."""
    if number < 1:
        raise InputError("--number: facts are numbered from 1.")
    command = FactVerified(actor=parse_actor(actor), fact_number=number, verified=verified, note=note)
    _send(case_id, command, as_json)


# --- supervisors ---------------------------------------------------------------------------------


@supervisor_app.command("exclusion")
def supervisor_exclusion(
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
        raise InputError("Give exactly one of --confirm or --override.")
    verdict = "confirm" if confirm else "override"
    _send(case_id, ExclusionDecision(actor=parse_actor(actor), verdict=verdict, reason=reason), as_json)


@supervisor_app.command("release")
def supervisor_release(
    case_id: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason"),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Authorise release of the hold after pre-decision engagement (the case closes as hold released)."""
    _send(case_id, ReleaseDecision(actor=parse_actor(actor), reason=reason), as_json)


@supervisor_app.command("reopen")
def supervisor_reopen(
    case_id: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="Why the case was closed by mistake."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Reopen a case closed by mistake (within the policy's reopen window): the hold is back in force."""
    _send(case_id, Reopen(actor=parse_actor(actor), reason=reason), as_json)


# --- enforcement teams ---------------------------------------------------------------------------


@enforcement_app.command("check")
def enforcement_check(
    person: str = typer.Option(
        ..., "--person", help='A Home Office reference (HO-1234567) or "FAMILY, GIVEN NAMES, YYYY-MM-DD".'
    ),
    reason: str = typer.Option(..., "--reason", help="Why enforcement is considering this person."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Is this person protected? Permitted exits 0; refused exits 3 with the case and the officer to
    contact. Every check is recorded; a refusal is reported to the case officer."""
    who = parse_actor(actor)
    try:
        spec = enforcement_rules.parse_person(person, datetime.now(UTC).date())
    except ValueError as error:
        raise InputError(str(error)) from None
    settings = _settings()
    keys = load_keys(settings)
    queue = settings.task_queue

    async def ask(client: Client) -> CheckResult:
        return await enforcement_ops.check(client, keys, queue, who, spec, reason)

    result = asyncio.run(_with_client(settings, keys, ask))
    verdict = result.verdict
    if as_json:
        _print_json(
            {
                "check_id": result.check_id,
                "at": result.at.isoformat(),
                "actor": result.actor,
                "verdict": verdict.word,
                **verdict.model_dump(mode="json"),
            }
        )
    else:
        out.print(f"[bold]{verdict.word.upper()}[/]  check {result.check_id}")
        out.print(f"  why: {verdict.reason}", markup=False, highlight=False)
        if verdict.case_ids:
            out.print(f"  case(s): {', '.join(verdict.case_ids)}", markup=False, highlight=False)
        if not verdict.permitted:
            contact = ", ".join(verdict.officers) or "the case officer (none on record)"
            out.print(f"  contact: {contact}", markup=False, highlight=False)
            told = (
                " and the case officer has been told" if verdict.notify_case_ids else " (the case is closed)"
            )
            out.print(f"  The attempt is recorded{told}.")
    if not verdict.permitted:
        raise typer.Exit(Refused.exit_code)


@enforcement_app.command("action")
def enforcement_action(
    check_id: str = typer.Option(..., "--check", help="The id of a permitted check."),
    action: EnforcementAction = typer.Option(..., "--action", help="detained or removed."),
    actor: str | None = AsOption,
    as_json: bool = JsonOption,
) -> None:
    """Record an enforcement action taken after a permitted check (for the statistics)."""
    who = parse_actor(actor)
    settings = _settings()
    queue = settings.task_queue
    result = _run(settings, lambda client: enforcement_ops.act(client, queue, who, check_id, action))
    if as_json:
        _print_json(result.model_dump(mode="json"))
        return
    out.print(f"Recorded: {result.action.value} after check {result.check_id} ({result.action_id}).")


# --- entry point ---------------------------------------------------------------------------------


def run(argv: list[str]) -> int:
    """Run the CLI and return its exit code (never raises). Usage errors exit 2, as click's do."""
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="mvp", standalone_mode=True)
        return 0
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        err.print(f"Refused: {problems}", markup=False, highlight=False)
        return 2
    except ServiceError as error:
        err.print(str(error), markup=False, highlight=False)
        return error.exit_code
    except sqlalchemy.exc.DBAPIError as error:  # parameters are hidden by the engine: no personal data
        err.print(
            f"Postgres could not be used ({type(error.orig).__name__}): is `make run` running, and is "
            "DATABASE_URL right?",
            markup=False,
            highlight=False,
        )
        return Unavailable.exit_code


def main() -> None:
    code = run(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
