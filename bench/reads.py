"""Reads benchmark (issue 14): the read model at scale, through the case API and as `mvp` processes.

    .venv/bin/python bench/reads.py [--cases 100000] [--templates 600] [--runs 20] [--cli-runs 20]

Starts its own Postgres, Temporal dev server (the API needs a client), development issuer and API on free
loopback ports. Writes the read model with the project's own store: `--templates` cases are carried through
`protocol.lifecycle` in simulated time (referred up to two years ago; screened against a spread of Home Office
statuses, a few with exclusion indicators; most older cases closed as regularised, departed, hold released,
withdrawn or excluded, or status confirmed at screening; open ones with applications, contacts and about one in
eight overdue) and every step is written by `CaseStore.persist_step`, as the workflow writes it; then the store's
table is filled to `--cases` rows by copying those rows (each copy its own case id, its referral moved by up to
two days). Times, over `--runs` (API) and `--cli-runs` (processes), p50/p95: the case list (first page, a page
50,000 cases deep, `overdue`, `force`), one case, `cases find` by crime reference, and the report for one year
(and by force) and two years; then exports the whole list once with `mvp cases list --all --csv`; prints the
EXPLAIN (ANALYZE, BUFFERS) plans of the list and report queries. Figures are printed and written under
bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from sqlalchemy import Engine, event  # noqa: E402

from activities.store import CaseStore  # noqa: E402
from bench.common import EXAMPLES, percentiles, stack, tmpdir, write_results  # noqa: E402
from infra.db import Waits, engine_for  # noqa: E402
from infra.keys import Keys  # noqa: E402
from models.case import (  # noqa: E402
    Actor,
    ActorRole,
    ApplicationEvent,
    ApplicationStage,
    CaseCommand,
    CaseState,
    ContactRecord,
    ContactResult,
    DepartureRecord,
    ExclusionDecision,
    InvestigationStatus,
    PoliceUpdate,
    ReleaseDecision,
    Route,
    Withdrawal,
)
from models.records import Conviction, CriminalRecord, ImmigrationStatus, ImmigrationStatusRecord  # noqa: E402
from models.referral import CrimeType, Referral  # noqa: E402
from protocol import lifecycle  # noqa: E402
from protocol.intake import parse_referral  # noqa: E402
from protocol.policy import policy  # noqa: E402
from protocol.screening import screen  # noqa: E402
from protocol.signposting import signposting  # noqa: E402
from usecases import readmodel  # noqa: E402
from usecases.readmodel import CaseFilter  # noqa: E402
from usecases.report import build_report, parse_grouping  # noqa: E402

FORCES = ["WMP", "MPS", "GMP", "WYP", "MER", "TVP", "AS", "KNT", "NTH", "SYP", "LAN", "HAM"]
CRIME_TYPES = [
    (CrimeType.domestic_abuse, 40),
    (CrimeType.modern_slavery, 20),
    (CrimeType.sexual_offence, 12),
    (CrimeType.honour_based_abuse, 6),
    (CrimeType.stalking_harassment, 8),
    (CrimeType.labour_exploitation, 8),
    (CrimeType.other, 6),
]
STATUSES = [
    (ImmigrationStatus.no_status, 50),
    (ImmigrationStatus.leave_to_remain, 14),
    (ImmigrationStatus.pending_application, 6),
    (ImmigrationStatus.asylum_claimant, 6),
    (ImmigrationStatus.british_citizen, 6),
    (ImmigrationStatus.eu_settlement_scheme, 10),
    (None, 8),  # no Home Office record matched
]
# How a case that closes closes (status confirmed is decided by screening, not drawn here).
CLOSINGS = [("regularised", 45), ("departed", 12), ("hold_released", 15), ("withdrawn", 8), ("excluded", 6)]
DAY, MINUTE = timedelta(days=1), timedelta(minutes=1)
IE_OFFICERS = [Actor(role=ActorRole.officer, id=f"NCCU-{n:04d}") for n in range(1, 41)]
SUPERVISOR = Actor(role=ActorRole.supervisor, id="NCCU-SUP-7")
CLONE_SQL = """
INSERT INTO cases (case_id, revision, policy_version, phase, hold_active, hold_grounds, outcome, force_code,
                   crime_type, role, referral_channel, status_at_referral, exclusion_indicators,
                   pending_decisions, contact_overdue, referred_at, opened_at, closed_at, next_contact_due,
                   overdue_since, updated_at, view, referral_sealed, case_officer, report_status,
                   report_may_apply, report_stage, first_applied_at)
SELECT 'MVP-' || upper(substr(h.hex, 1, 5)) || '-' || upper(substr(h.hex, 6, 5)),
       t.revision, t.policy_version, t.phase, t.hold_active, t.hold_grounds, t.outcome, t.force_code,
       t.crime_type, t.role, t.referral_channel, t.status_at_referral, t.exclusion_indicators,
       t.pending_decisions, t.contact_overdue, t.referred_at - j.shift, t.opened_at - j.shift,
       t.closed_at - j.shift, t.next_contact_due, t.overdue_since, t.updated_at, t.view, t.referral_sealed,
       t.case_officer, t.report_status, t.report_may_apply, t.report_stage, t.first_applied_at
FROM (SELECT * FROM cases WHERE case_id = ANY(%(templates)s)) AS t,
     generate_series(1, %(copies)s) AS n,
     LATERAL (SELECT md5(t.case_id || ':' || n) AS hex) AS h,
     LATERAL (SELECT (mod(abs(hashtext(t.case_id || n)), 2880)) * interval '1 minute' AS shift) AS j
ON CONFLICT (case_id) DO NOTHING
"""


def pick(rng: random.Random, weighted: list[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


class Template:
    """One case carried through `protocol.lifecycle` as the workflow would carry it, every step written by
    the workflow's own activity (`CaseStore.persist_step`: the case row and its view, the record, holds,
    notices), in simulated time from a referral up to two years ago to now."""

    def __init__(
        self, store: CaseStore, keys: Keys, base: Referral, n: int, now: datetime, rng: random.Random
    ):
        self.store, self.now, self.rng, self.rules = store, now, rng, policy()
        force, crime = rng.choice(FORCES), pick(rng, CRIME_TYPES)
        self.t0 = now - timedelta(days=rng.uniform(1, 730), minutes=rng.uniform(0, 1440))
        officer = base.referring_officer.model_copy(update={"force_code": force})
        person = base.person.model_copy(
            update={"given_names": f"Person {n}", "home_office_ref": f"HO-{n:06d}"}
        )
        self.referral = base.model_copy(
            update={
                "received_at": self.t0,
                "referring_officer": officer,
                "person": person,
                "crime_type": crime,
                "crime_reference": f"{force}/{self.t0:%y}/{n:06d}",
                "referral_id": f"BENCH-{n:06d}",
            }
        )
        self.case_id = keys.case_id(force, self.referral.referral_id)
        self.officer = rng.choice(IE_OFFICERS)
        self.skipped = 0

    def persist(self, step: lifecycle.Step, at: datetime, opening: bool = False) -> CaseState:
        self.store.persist_step(lifecycle.written(step, at, opening=opening))  # as the workflow writes it
        return step.state

    def command(self, state: CaseState, cmd: CaseCommand, at: datetime) -> CaseState:
        if at >= self.now or lifecycle.refusal(state, cmd, at) is not None:
            self.skipped += 1  # the story does not fit this case (the lifecycle says no): leave it out
            return state
        return self.persist(lifecycle.apply_command(state, cmd, at, self.rules), at)

    def tick(self, state: CaseState, at: datetime) -> CaseState:
        ticked = lifecycle.tick(state, at, self.rules)
        return self.persist(ticked, at) if ticked is not None else state

    def build(self) -> None:
        rng, t0, rules = self.rng, self.t0, self.rules
        state = self.persist(
            lifecycle.open_case(self.case_id, self.referral, self.officer, t0, rules), t0, True
        )
        at = t0 + MINUTE * rng.uniform(1, 30)
        status, person = pick(rng, STATUSES), self.referral.person
        record = (
            ImmigrationStatusRecord(
                home_office_ref=person.home_office_ref or "HO-0",
                given_names=person.given_names,
                family_name=person.family_name,
                date_of_birth=person.date_of_birth,
                status=status,
            )
            if status is not None
            else None
        )
        criminality = None
        if rng.random() < 0.05:
            conviction = Conviction(
                offence="assault", convicted_on=date(2015, 1, 5), custodial=True, sentence_months=18
            )
            criminality = CriminalRecord(
                home_office_ref=person.home_office_ref or "HO-0",
                given_names=person.given_names,
                family_name=person.family_name,
                date_of_birth=person.date_of_birth,
                convictions=[conviction],
            )
        screening = screen(record, criminality, at, rules)
        state = self.persist(
            lifecycle.screened(state, screening, signposting(self.referral, screening, at, rules), at, rules),
            at,
        )
        if state.closure is not None:
            return  # status confirmed at screening
        age = (self.now - t0).days
        route = Route.appendix_victim_of_domestic_abuse
        if rng.random() < min(0.85, 0.1 + age / 600):  # older cases have mostly closed
            closing = pick(rng, CLOSINGS)
            end = t0 + DAY * rng.uniform(20, max(21, age - 1))
            if closing == "regularised":
                state = self.command(
                    state,
                    ApplicationEvent(actor=self.officer, route=route, stage=ApplicationStage.submitted),
                    t0 + 15 * DAY,
                )
                state = self.command(
                    state,
                    ApplicationEvent(
                        actor=self.officer, route=route, stage=ApplicationStage.granted, number=1
                    ),
                    end,
                )
            elif closing == "departed":
                state = self.command(state, DepartureRecord(actor=self.officer), end)
            elif closing == "withdrawn":
                police = Actor(
                    role=ActorRole.police, id="PC-4471", force=self.referral.referring_officer.force_code
                )
                state = self.command(
                    state,
                    Withdrawal(actor=police, reason="referral made in error", made_in_error=True),
                    t0 + DAY,
                )
            elif closing == "excluded":
                state = self.command(
                    state,
                    ExclusionDecision(
                        actor=SUPERVISOR, verdict="confirm", reason="confirm: reviewed the record"
                    ),
                    t0 + 3 * DAY,
                )
            elif closing == "hold_released":
                state = self.command(
                    state,
                    PoliceUpdate(actor=self.officer, investigation=InvestigationStatus.no_further_action),
                    t0 + 10 * DAY,
                )
                state = self.tick(state, t0 + 40 * DAY)
                state = self.command(
                    state,
                    ReleaseDecision(actor=SUPERVISOR, reason="engagement over, no new grounds"),
                    t0 + 41 * DAY,
                )
            return
        if rng.random() < 0.5:
            state = self.command(
                state,
                ApplicationEvent(actor=self.officer, route=route, stage=ApplicationStage.submitted),
                t0 + DAY * rng.uniform(5, 60),
            )
        # the last contact: about one open case in eight has gone past its due date and the grace period
        ago = rng.uniform(36, 70) if rng.random() < 0.125 else rng.uniform(0, 34)
        last = max(t0 + 2 * DAY, self.now - DAY * ago)
        state = self.command(
            state, ContactRecord(actor=self.officer, result=ContactResult.reached, support_active=True), last
        )
        self.tick(state, self.now - MINUTE)


# The harness's own statements (copying 100,000 rows, EXPLAIN ANALYZE) are batch work, not a caller waiting: they
# may run past the service's 15 s statement bound (`MVP_DB_STATEMENT_TIMEOUT`), which the API under test keeps.
BATCH = Waits(statement=3600.0)


def populate(stack_: Any, cases: int, templates: int, now: datetime) -> dict[str, Any]:
    """`templates` cases carried through the lifecycle and written by the store, then copied in the store's
    table (`cases`) to `cases` rows in all: each copy has its own case id and its referral moved by up to two
    days, the rest as the store wrote it (only the templates have records, holds and notices: `case show` and
    `cases find` are timed on a template). Then ANALYZE."""
    engine = engine_for(str(stack_.settings.database_url), waits=BATCH)
    store = CaseStore(engine, stack_.keys)
    base, problems = parse_referral(json.loads((EXAMPLES / "referral-domestic-abuse.json").read_text()), now)
    assert base is not None, problems
    rng = random.Random(14)
    began = time.perf_counter()
    built = []
    for n in range(min(templates, cases)):
        template = Template(store, stack_.keys, base, n, now, rng)
        template.build()
        built.append(template)
    through_store = time.perf_counter() - began
    copies = max(0, -(-(cases - len(built)) // len(built)))
    with engine.begin() as conn:
        if copies:
            conn.exec_driver_sql(CLONE_SQL, {"templates": [t.case_id for t in built], "copies": copies})
            conn.exec_driver_sql(
                "DELETE FROM cases WHERE case_id IN (SELECT case_id FROM cases WHERE case_id <> ALL(%(t)s) "
                "ORDER BY case_id OFFSET %(keep)s)",
                {"t": [t.case_id for t in built], "keep": cases - len(built)},
            )
        conn.exec_driver_sql("ANALYZE cases")
        spread: dict[str, dict[Any, Any]] = {
            name: dict(conn.exec_driver_sql(sql).all())
            for name, sql in {
                "phase": "SELECT phase, count(*) FROM cases GROUP BY 1",
                "outcome": "SELECT coalesce(outcome, 'open'), count(*) FROM cases GROUP BY 1",
                "overdue": "SELECT contact_overdue::text, count(*) FROM cases WHERE phase <> 'closed' GROUP BY 1",
                "pending": "SELECT pending_decisions::text, count(*) FROM cases GROUP BY 1",
                "crime_type": "SELECT crime_type, count(*) FROM cases GROUP BY 1",
                "referred_year": "SELECT extract(year FROM referred_at)::text, count(*) FROM cases GROUP BY 1",
            }.items()
        }
        total = conn.exec_driver_sql("SELECT count(*) FROM cases").scalar_one()
    engine.dispose()
    first = built[0]
    return {
        "cases": total,
        "templates": len(built),
        "templates_s": round(through_store, 1),
        "steps_left_out": sum(t.skipped for t in built),
        "spread": spread,
        "show": first.case_id,
        "crime_ref": first.referral.crime_reference,
        "officer": first.officer.label(),
    }


def explained(engine: Engine, run: Callable[[], object]) -> list[str]:
    """The EXPLAIN (ANALYZE, BUFFERS) plans of the queries `run` makes against `engine`."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and "FROM cases" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    plans = []
    with engine.connect() as conn:
        for statement, parameters in seen:
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            plans.append("\n".join(str(r[0]) for r in rows))
    return plans


def timed_http(
    http: httpx.Client, method: str, url: str, headers: dict[str, str], runs: int, body: Any = None
) -> dict[str, Any]:
    latencies = []
    size = 0
    for _ in range(runs):
        began = time.perf_counter()
        answer = http.request(method, url, headers=headers, json=body)
        latencies.append(time.perf_counter() - began)
        if answer.status_code != 200:
            raise RuntimeError(f"{method} {url.split('?')[0]} answered HTTP {answer.status_code}")
        size = len(answer.content)
    return {**percentiles(latencies), "bytes": size}


def timed_process(argv: list[str], env: dict[str, str], runs: int) -> dict[str, Any]:
    latencies = []
    for _ in range(runs):
        began = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, timeout=600, check=False)
        latencies.append(time.perf_counter() - began)
        if done.returncode != 0:  # measured all the same, and said: a failing command is a finding
            last = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
            return {**percentiles(latencies), "exit": done.returncode, "stderr": last}
    return percentiles(latencies)


def show(name: str, f: dict[str, Any]) -> None:
    size = f"{f['bytes']:>10} bytes" if "bytes" in f else ""
    failed = f"  exit {f['exit']}: {f['stderr']}" if "exit" in f else ""
    print(f"{name:<44} p50 {f['p50_ms']:>8.1f} ms  p95 {f['p95_ms']:>8.1f} ms  {size}{failed}")


async def bench(cases: int, templates: int, runs: int, cli_runs: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    year_from, year_to = (now - timedelta(days=365)).date(), (now + timedelta(days=1)).date()
    two_years = (now - timedelta(days=731)).date()
    figures: dict[str, Any] = {"benchmark": "reads", "runs": runs, "cli_runs": cli_runs}
    with tmpdir("reads") as folder:
        async with stack(Path(folder)) as s:
            began = time.perf_counter()
            written = populate(s, cases, templates, now)
            figures["populate_s"] = round(time.perf_counter() - began, 1)
            figures["read_model"] = written
            print(
                f"reads benchmark: {written['cases']} cases ({written['templates']} through the store in "
                f"{written['templates_s']} s, the rest copied in its table) in {figures['populate_s']} s"
            )
            print("spread:", json.dumps(written["spread"]))
            engine = engine_for(str(s.settings.database_url), waits=BATCH)
            with httpx.Client(timeout=600) as http:
                minted = http.post(f"{s.issuer_url}/dev/token", json={"actor": SUPERVISOR.label()})
                minted.raise_for_status()
                token = str(minted.json()["access_token"])
                headers = {"Authorization": f"Bearer {token}"}
                api = s.api_url
                deep_url, depth = f"{api}/cases?page_size=1000", 0
                while (
                    depth < 50_000 and depth + 1000 < written["cases"]
                ):  # a page as deep as the table allows
                    following = http.get(deep_url, headers=headers).links.get("next")
                    if following is None:
                        break
                    deep_url, depth = following["url"], depth + 1000
                deep_page = deep_url.replace("page_size=1000", "page_size=50")
                targets: dict[str, tuple[str, str, Any]] = {
                    "GET /cases (first page, 50)": ("GET", f"{api}/cases", None),
                    f"GET /cases (a page {depth:,} cases in)": (
                        "GET",
                        deep_page,
                        None,
                    ),
                    "GET /cases?overdue=true": ("GET", f"{api}/cases?overdue=true", None),
                    "GET /cases?force=WMP": ("GET", f"{api}/cases?force=WMP", None),
                    "GET /cases/{id}": ("GET", f"{api}/cases/{written['show']}", None),
                    "POST /cases/find (crime reference)": (
                        "POST",
                        f"{api}/cases/find",
                        {"crime_ref": written["crime_ref"]},
                    ),
                    "GET /report (one year)": ("GET", f"{api}/report?from={year_from}&to={year_to}", None),
                    "GET /report (one year, by force)": (
                        "GET",
                        f"{api}/report?from={year_from}&to={year_to}&by=force",
                        None,
                    ),
                    "GET /report (two years, by force)": (
                        "GET",
                        f"{api}/report?from={two_years}&to={year_to}&by=force",
                        None,
                    ),
                }
                http.get(targets["GET /cases/{id}"][1], headers=headers)  # warm-up
                api_figures = {}
                for name, (method, url, body) in targets.items():
                    api_figures[name] = timed_http(http, method, url, headers, runs, body)
                    show(name, api_figures[name])
                figures["api"] = api_figures

                env = {**os.environ, "MVP_API_URL": api, "MVP_TOKEN": token, "MVP_DATA_DIR": str(s.data_dir)}
                env.pop("MVP_ACTOR", None)
                mvp = str(Path(sys.executable).parent / "mvp")
                commands = {
                    "python -c pass (the interpreter alone, for scale)": [sys.executable, "-c", "pass"],
                    "mvp --help": [mvp, "--help"],
                    "mvp case show": [mvp, "case", "show", written["show"]],
                    "mvp cases list": [mvp, "cases", "list"],
                    "mvp cases list --overdue": [mvp, "cases", "list", "--overdue"],
                    "mvp cases list --force WMP": [mvp, "cases", "list", "--force", "WMP"],
                    "mvp cases find --crime-ref": [mvp, "cases", "find", "--crime-ref", written["crime_ref"]],
                    "mvp report (one year, --by force)": [
                        mvp,
                        "report",
                        "--from",
                        str(year_from),
                        "--to",
                        str(year_to),
                        "--by",
                        "force",
                    ],
                }
                cli_figures = {}
                for name, argv in commands.items():
                    cli_figures[name] = timed_process(argv, env, cli_runs)
                    show(name + " (process)", cli_figures[name])
                figures["cli"] = cli_figures
                exported = time.perf_counter()
                done = subprocess.run(
                    [mvp, "cases", "list", "--all", "--csv"],
                    env=env,
                    capture_output=True,
                    timeout=1200,
                    check=False,
                )
                figures["cli"]["mvp cases list --all --csv (once)"] = {
                    "s": round(time.perf_counter() - exported, 1),
                    "rows": max(0, done.stdout.count(b"\n") - 1),
                    "exit": done.returncode,
                }
                print(
                    "mvp cases list --all --csv (once)", figures["cli"]["mvp cases list --all --csv (once)"]
                )

            first = datetime.combine(year_from, datetime.min.time(), UTC)
            after = datetime.combine(year_to, datetime.min.time(), UTC)
            plans = {
                "list (default order)": explained(engine, lambda: readmodel.list_page(engine)),
                "list (overdue)": explained(
                    engine, lambda: readmodel.list_page(engine, CaseFilter(overdue=True))
                ),
                "list (force)": explained(
                    engine, lambda: readmodel.list_page(engine, CaseFilter(force="WMP"))
                ),
                "report (one year, by force)": explained(
                    engine,
                    lambda: build_report(engine, first, after, policy(), parse_grouping("force"), False),
                ),
            }
            for name, found in plans.items():
                print(f"\n-- EXPLAIN {name}")
                for plan in found:
                    print(plan[:6000])
            figures["plans"] = plans
            engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000, help="cases in the read model")
    parser.add_argument("--templates", type=int, default=600, help="of which carried through the store")
    parser.add_argument("--runs", type=int, default=20, help="runs of each API read")
    parser.add_argument("--cli-runs", type=int, default=20, help="runs of each CLI process")
    args = parser.parse_args()
    if min(args.cases, args.templates, args.runs, args.cli_runs) < 1:
        parser.error("--cases, --templates, --runs and --cli-runs must each be at least 1.")
    figures = asyncio.run(bench(args.cases, args.templates, args.runs, args.cli_runs))
    print("written:", write_results("reads", figures))


if __name__ == "__main__":
    main()
