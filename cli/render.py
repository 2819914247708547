"""The one renderer: every answer of the API as a person reads it (tables, lines), as JSON or as CSV.

Text that came from outside (names, notes, reasons, actor ids, force codes) is printed as text: markup is
escaped and control, escape and bidi characters are dropped, so nothing a referral or a note says can style
or break a screen.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from datetime import date, timedelta
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

TRAINING_BANNER = (
    "TRAINING — a rehearsal stack: case clocks may have been moved; nothing here is a real case."
)


class Screen(Console):
    """A console that, in training mode, prints the TRAINING line before the first thing it prints."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        _banner(self)
        super().print(*objects, **kwargs)


out = Screen()
err = Screen(stderr=True)
_training = {"on": False, "shown": False}


def training_mode(on: bool = True) -> None:
    """The API said it runs in training mode (header X-MVP-Mode: training): every screen says so, once.
    `training_mode(False)` starts a command afresh (each `mvp` run)."""
    _training["on"] = on
    if not on:
        _training["shown"] = False


def _banner(console: Console) -> None:
    if _training["on"] and not _training["shown"]:
        _training["shown"] = True
        Console.print(console, f"[bold reverse] {TRAINING_BANNER} [/]", soft_wrap=True)


# C0/C1 controls (but newline and tab), DEL, bidi embeddings/overrides/isolates, zero-width and BOM.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*(\x07|\x1b\\)")


def safe(value: object) -> str:
    """Outside text, safe to print through Rich markup."""
    text = "-" if value is None else str(value)
    return escape(_UNSAFE.sub("", _ANSI.sub("", text)))


def words(code: object) -> str:
    """A code as words (`investigation_live` → `investigation live`); JSON keeps codes."""
    return safe(code).replace("_", " ")


def print_json(value: Any) -> None:
    """JSON on stdout. In training mode an object answer carries `"mode": "training"` first, and the TRAINING
    line goes to stderr (stdout stays one JSON document, lists included)."""
    if _training["on"]:
        _banner(err)
        if isinstance(value, dict):
            value = {"mode": "training", **value}
    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")


def print_json_lines(rows: list[dict[str, Any]]) -> None:
    """One JSON object a line (JSON Lines): an export that streams, page after page."""
    _banner(err)  # training mode: the TRAINING line on stderr, the lines untouched
    sys.stdout.writelines(json.dumps(r, default=str, ensure_ascii=False) + "\n" for r in rows)


def print_csv(columns: list[str], rows: list[dict[str, Any]], header: bool = True) -> None:
    _banner(err)  # training mode: the TRAINING line on stderr, the CSV untouched
    writer = csv.writer(sys.stdout)
    if header:
        writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [
                ";".join(map(str, v)) if isinstance(v := row.get(c), list) else ("" if v is None else v)
                for c in columns
            ]
        )


def day(value: str | None) -> str:
    return value[:10] if value else "-"


# --- commands -------------------------------------------------------------------------------------


def command_result(result: dict[str, Any]) -> None:
    view = result["view"]
    hold = "in force" if view["hold"]["active"] else "lifted"
    grounds = ", ".join(words(g) for g in view["hold"].get("grounds", [])) or "-"
    out.print(f"[bold]{safe(result['case_id'])}[/]: {safe(result['accepted'])}.")
    on = f" ({grounds})" if "grounds" in view["hold"] else ""  # police see whether, not on what
    out.print(f"  phase {words(view['phase'])}; hold {hold}{on}")
    if view.get("outcome"):
        out.print(f"  outcome: {words(view['outcome'])}")
    elif view.get("next_contact_due"):
        out.print(f"  next contact due {day(view['next_contact_due'])}")


def referral_started(result: dict[str, Any]) -> None:
    if result.get("already_received"):
        out.print(
            f"This referral was already received: case [bold]{safe(result['case_id'])}[/]. Nothing new was started."
        )
        return
    out.print(f"Case started: [bold]{safe(result['case_id'])}[/]")
    view = result.get("state")
    if view is None:
        out.print("  Screening pending: the case is started and will be screened when the worker takes it.")
        return
    hold = "in force" if view["hold"]["active"] else "not needed"
    status = words(view.get("status_at_referral") or "unknown")
    out.print(f"  phase {words(view['phase'])}; status at referral {status}; hold {hold}")
    if view.get("next_contact_due"):
        out.print(f"  first contact due {safe(view['next_contact_due'][:16]).replace('T', ' ')} UTC")


# --- one case -------------------------------------------------------------------------------------


# The parts of the UK whose bank holidays a case counts (`protocol.workdays`), as people name them.
DIVISIONS = {
    "england-and-wales": "England and Wales",
    "scotland": "Scotland",
    "northern-ireland": "Northern Ireland",
}
LABEL = 13  # "  contact    ": where a case's lines start their text


def _line(text: str) -> None:
    """One line of a case, `  label      value`: a value too long for the terminal wraps under itself, not
    under the label, so that the labels stay a column that reads down at 80 columns."""
    grid = Table.grid(padding=0)
    grid.add_column(width=LABEL, no_wrap=True)
    grid.add_column()
    grid.add_row(text[:LABEL], text[LABEL:])
    out.print(grid)


def case_detail(data: dict[str, Any]) -> None:
    hold = data["hold"]
    out.print(
        f"[bold]{safe(data['case_id'])}[/]  {words(data['crime_type'])}  referred by {safe(data['force_code'])} "
        f"on {day(data['referred_at'])}"
    )
    _line(f"  phase      {words(data['phase'])}")
    if data.get("case_officer"):
        _line(f"  officer    {safe(data['case_officer'])} (case officer)")
    if data.get("engine_alert"):
        out.print(
            f"  [bold red]ALERT      {safe(data['engine_alert'])} ({day(data.get('engine_alert_at'))}): the case "
            "no longer runs; the hold stays in force until a supervisor acts[/]"
        )
    grounds = ", ".join(words(g) for g in hold.get("grounds", [])) or "-"
    on = f" — grounds: {grounds}" if "grounds" in hold else ""  # police see whether, not on what
    _line(f"  hold       {'IN FORCE' if hold['active'] else 'lifted'}{on}")
    if "status_at_referral" in data:
        _line(f"  status     at referral: {words(data.get('status_at_referral') or 'being screened')}")
    trial = f"; trial date {day(data['trial_date'])}" if data.get("trial_date") else ""
    _line(f"  police     investigation {words(data.get('investigation'))}{trial}")
    for clock in data.get("route_clocks") or []:
        note = f" ({safe(clock['note'])})" if clock.get("note") else ""
        _line(
            f"  clock      {words(clock['route'])} from {day(clock['started_at'])} until {day(clock['ends_at'])}{note}"
        )
    referral = data.get("circumstances")
    if referral is not None:
        _circumstances(referral)
    elif data.get("purged"):
        _line("  person     personal data purged at the end of the retention period")
    if data.get("exclusion_indicators"):
        _line(f"  exclusion  indicators: {', '.join(words(i) for i in data['exclusion_indicators'])}")
    if data.get("pending_decisions"):
        out.print(
            f"  [bold red]pending    supervisor decision: {', '.join(map(words, data['pending_decisions']))}[/]"
        )
    if data.get("outcome"):
        _line(f"  outcome    {words(data['outcome'])} ({day(data.get('closed_at'))})")
    elif data.get("next_contact_due"):
        overdue = (
            f"  [bold red]OVERDUE since {day(data.get('overdue_since'))}[/]"
            if data.get("contact_overdue")
            else ""
        )
        _line(f"  contact    next due {day(data['next_contact_due'])}{overdue}")
    if data.get("division"):
        counted = "working days" if data.get("working_days") else "calendar days"
        division = DIVISIONS.get(data["division"], safe(data["division"]))
        _line(f"  calendar   {division} bank holidays; contact counted in {counted}")
    for task in data.get("open_tasks") or []:
        late = " [bold red]OVERDUE[/]" if task.get("overdue") else ""
        _line(
            f"  task       #{task['id']} {words(task['kind'])} for {safe(task['owner'])}, "
            f"due {day(task['due_at'])}{late}"
        )
    for check in data.get("enforcement_checks") or []:
        possible = " (possible match)" if check.get("possible_match") else ""
        _line(
            f"  check      {day(check['at'])} {words(check['verdict'])}{possible} for {safe(check['actor'])}: "
            f"{safe(check.get('why') or 'reason purged')}"
        )
    for sign in data.get("signposting", []):
        deadline = f" (by {day(sign.get('deadline'))})" if sign.get("deadline") else ""
        _line(f"  signpost   {words(sign['route'])}{deadline}: {safe(sign['why'])}")
    for application in data.get("applications", []):
        _line(
            f"  application {application['number']}: {words(application['route'])} {words(application['stage'])}"
        )
    for n in data.get("notices", []):
        reason = n.get("suppressed_reason") or n.get("failure_reason")
        why = f" ({safe(reason)})" if reason else ""
        delivery = f", {words(n['delivery_status'])}" if n.get("delivery_status") else ""
        _line(
            f"  notice     {words(n['kind'])} to {words(n['to'])} by {safe(n['channel'])} in "
            f"{safe(n['language'])}: {words(n['status'])}{delivery}{why}"
        )
    record = data.get("record") or []
    if record:
        table = Table(title="Record", show_lines=False)
        for column in ("#", "when (UTC)", "who", "what", "shared with / why"):
            table.add_column(column)
        for r in record:
            shared = (
                f"{safe(r['shared_with'])}: {', '.join(map(safe, r['shared_why']))}"
                if r.get("shared_with")
                else ""
            )
            note = f"\n  note: {safe(r['note'])}" if r.get("note") else ""
            when = safe(r["at"][:16]).replace("T", " ")
            table.add_row(
                str(r["seq"]),
                when,
                safe(r["actor"]),
                f"{words(r['action'])}: {safe(r['summary'])}{note}",
                shared,
            )
        out.print(table)


def _circumstances(referral: dict[str, Any]) -> None:
    person = referral["person"]
    contact = referral["safe_contact"]
    _line(
        f"  person     {safe(person['given_names'])} {safe(person['family_name'])}, born "
        f"{safe(person['date_of_birth'])}, {safe(person.get('nationality') or 'nationality unknown')}; "
        f"{words(referral['role'])}"
    )
    _line(
        f"  where      {safe(person.get('location') or '-')}; address: {safe(person.get('address') or '-')}"
    )
    interpreter = " with interpreter" if contact.get("interpreter_needed") else ""
    never = ", ".join(map(safe, contact.get("never_contact_via") or [])) or "-"
    _line(
        f"  reach via  {words(contact['channel'])} in {safe(contact['language'])}{interpreter}; safe times: "
        f"{safe(contact.get('safe_times') or '-')}; never via: {never}"
    )
    if contact.get("held_since"):
        out.print(
            f"  [bold red]HELD       notices to the person held since {day(contact['held_since'])}: it was unsafe "
            "for them to talk; each becomes your task until a contact reaches them[/]"
        )
    officer = referral.get("referring_officer") or {}
    how = officer.get("phone") or officer.get("email") or "no contact given"
    _line(
        f"  referrer   {safe(officer.get('name'))} ({safe(officer.get('officer_id'))}, "
        f"{safe(officer.get('force_code'))}), {safe(how)}"
    )
    _line(
        f"  crime ref  {safe(referral.get('crime_reference'))}; referral {safe(referral.get('referral_id'))}"
    )
    for dependant in referral.get("dependants") or []:
        _line(
            f"  dependant  {safe(dependant['given_names'])} {safe(dependant['family_name'])} "
            f"({safe(dependant['relationship'])}), born {safe(dependant['date_of_birth'])}"
        )


# --- many cases -----------------------------------------------------------------------------------

LIST_COLUMNS = [
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
    "engine_alert",
    "case_officer",
]


def _list_cells(r: dict[str, Any]) -> dict[str, str]:
    due = day(r["next_contact_due"])
    if r["overdue"]:
        days = r.get("days_overdue")
        due = f"[bold red]{due} OVERDUE{f' {days}d' if days is not None else ''}[/]"
    return {
        "case": safe(r["case_id"]),
        "phase": "[bold red]ALERT: workflow lost[/]" if r.get("engine_alert") else words(r["phase"]),
        "hold": "in force" if r["hold"] else "lifted",
        "next contact": due,
        "pending": ", ".join(map(words, r["pending"])) or "-",
        "grounds": "\n".join(map(words, r["grounds"])) or "-",
        "officer": safe(r.get("case_officer")),
        "force": safe(r["force"]),
        "crime": words(r["crime_type"]),
        "outcome": words(r["outcome"] or "-"),
    }


# The list's columns, most needed first, with the width each needs to read well: a narrow terminal drops the
# last ones whole (`--json` and `--csv` always have them all) instead of cutting every cell to "…".
LIST_TABLE = (
    ("case", 17),
    ("phase", 12),
    ("hold", 10),
    ("next contact", 14),
    ("pending", 11),
    ("grounds", 22),
    ("officer", 19),
    ("force", 7),
    ("crime", 16),
    ("outcome", 18),
)


def case_list(rows: list[dict[str, Any]], following: str | None = None) -> None:
    room, shown = out.width, list[str]()
    for column, width in LIST_TABLE:
        if room < width + 3 and shown:
            break
        shown.append(column)
        room -= width + 3
    hidden = [c for c, _ in LIST_TABLE if c not in shown]
    caption = f"(a wider terminal shows: {', '.join(hidden)})" if hidden else None
    table = Table(title=f"{len(rows)} case(s)", caption=caption)
    for column in shown:
        wraps = column in ("grounds", "crime", "pending", "outcome")
        table.add_column(column, no_wrap=not wraps, min_width=15 if column == "case" else None)
    for r in rows:
        cells = _list_cells(r)
        table.add_row(*(cells[c] for c in shown))
    out.print(table)
    if following is not None:
        out.print(f"More cases follow: the same command with --after {safe(following)}", soft_wrap=True)


def case_find(rows: list[dict[str, Any]]) -> None:
    """The cases a search found: ids and codes only. A possible match is said so: ask the case officer."""
    if not rows:
        out.print("No case found.")
        return
    table = Table(title=f"{len(rows)} case(s) found")
    table.add_column("case", no_wrap=True, min_width=15)
    for column in ("match", "phase", "hold", "force", "crime", "outcome", "officer"):
        table.add_column(column, no_wrap=column in ("match", "phase", "hold", "officer"))
    for r in rows:
        table.add_row(
            safe(r["case_id"]),
            "[bold]possible[/]" if r["match"] == "possible" else "exact",
            words(r["phase"]),
            "in force" if r["hold"] else "lifted",
            safe(r["force"]),
            words(r["crime_type"]),
            words(r["outcome"] or "-"),
            safe(r.get("case_officer")),
        )
    out.print(table)
    if any(r["match"] == "possible" for r in rows):
        out.print("A possible match may be another person: check with the case officer before acting on it.")


def report(data: dict[str, Any], as_csv: bool) -> None:
    """The report's table (or CSV), and under it what a reader must know to read it right: what "within
    one month" means and, for a published report, the disclosure control applied."""
    groups = data["groups"]
    columns = [*groups, "total"]
    values = [*groups.values(), data["figures"]]
    labels = data["labels"]
    disclosure = data.get("disclosure")
    if as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(["figure", "label", *columns])
        for name, label in labels.items():
            writer.writerow([name, label.strip(), *(v[name] for v in values)])
        if disclosure:  # stdout stays a clean table; the note still reaches whoever runs it
            err.print(safe(disclosure["note"]))
        return
    period = data["period"]
    last = date.fromisoformat(period["to"]) - timedelta(days=1)
    as_of = data["as_of"][:16].replace("T", " ")
    published = " — for publication" if disclosure else ""
    table = Table(title=f"Referred {period['from']} to {last:%Y-%m-%d} (UTC), as of {as_of} UTC{published}")

    table.add_column("figure")
    for column in columns:
        table.add_column(safe(column), justify="right")
    for name, label in labels.items():
        table.add_row(safe(label), *(safe(str(v[name])) for v in values))
    out.print(table)
    out.print(
        f"Within one month = first application no later than {data['within_one_month_days']} days after referral."
    )
    out.print(
        f"Closures: cases closed from {period['from']} to {last:%Y-%m-%d}, whenever referred; every other "
        "figure counts the cases referred in that period."
    )
    if disclosure:
        out.print(f"[bold]{safe(disclosure['note'])}[/]")
    for note in data.get("notes", []):
        out.print(f"[yellow]Note:[/] {safe(note)}")


# --- enforcement ----------------------------------------------------------------------------------


def check_result(result: dict[str, Any]) -> None:
    out.print(f"[bold]{safe(result['verdict']).upper()}[/]  check {safe(result['check_id'])}")
    out.print(f"  why: {safe(result['reason'])}")
    if result.get("case_ids"):
        out.print(f"  case(s): {', '.join(map(safe, result['case_ids']))}")
    if not result["permitted"]:
        contact = ", ".join(map(safe, result.get("officers") or [])) or "the case officer (none on record)"
        out.print(f"  contact: {contact}")
        told = (
            " and the case officer has a task" if result.get("notify_case_ids") else " (the case is closed)"
        )
        out.print(f"  The attempt is recorded{told}.")


def task_list(found: list[dict[str, Any]]) -> None:
    if not found:
        out.print("No open tasks.")
        return
    for t in found:
        flag = "  [bold red]OVERDUE[/]" if t.get("overdue") else ""
        due = safe(t["due_at"][:16]).replace("T", " ")
        out.print(
            f"[bold]#{t['id']}[/]  {safe(t['case_id'])}  {words(t['kind'])}  for {safe(t['owner'])}  due {due}{flag}"
            f"  \\[{safe(t['language'])}]"
        )
        for line in str(t["text"]).splitlines():
            out.print(f"    {safe(line)}")


def trail(rows: list[dict[str, Any]], columns: list[str], what: str, as_json: bool, as_csv: bool) -> None:
    """The access log or the enforcement checks: a table, JSON, or CSV for an auditor."""
    if as_json:
        print_json(rows)
        return
    if as_csv:
        print_csv(columns, rows)
        return
    table = Table(title=f"{len(rows)} {what}")
    for column in columns:
        table.add_column(column.replace("_", " "))
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column)
            if column == "at":
                value = str(value)[:16].replace("T", " ")
            elif isinstance(value, list):
                value = ", ".join(map(str, value))
            elif isinstance(value, dict):
                value = "; ".join(
                    f"{k.replace('_', ' ')}: {_plain(v)}" for k, v in value.items() if v not in (None, [], {})
                )
            cells.append(safe(value))
        table.add_row(*cells)
    out.print(table)


def _plain(value: Any) -> str:
    """A detail's value as a reader wants it: a list as its items, a dict as key value pairs."""
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {_plain(v)}" for k, v in value.items())
    return str(value)


def verify_reports(result: dict[str, Any]) -> None:
    checkpoint = result["checkpoint"]
    if checkpoint["status"] == "verified":
        out.print(
            f"checkpoint {checkpoint['number']} of {safe(checkpoint['at'])}: signature verified "
            f"({checkpoint['cases']} cases, {checkpoint['entries']} entries)"
        )
    elif checkpoint["status"] == "none":
        out.print("no checkpoint yet: chains checked on their own (a deleted case would not show)")
    else:
        out.print(f"[bold red]checkpoint FORGED[/]: {safe(checkpoint['problem'])}")
    for report_ in result["cases"]:
        where = f" at entry {report_['first_broken']}" if report_["first_broken"] is not None else ""
        verdict = "intact" if report_["intact"] else f"[bold red]BROKEN{where}[/]: {safe(report_['problem'])}"
        out.print(f"{safe(report_['case_id'])}: {report_['entries']} entries, {verdict}")
