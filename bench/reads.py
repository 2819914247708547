"""Reads benchmark (issue 14): the read model at scale, through the case API and as `mvp` processes.

    .venv/bin/python bench/reads.py [--cases 20000] [--runs 20] [--cli-runs 5]

Starts its own Postgres, Temporal dev server (the API needs a client), development issuer and API on free
loopback ports; writes `--cases` rows straight into the read model with the project's table model
(`models.tables.CaseRow`), spread over phases, holds, overdue contact, forces, crime types, outcomes and two years
of referral dates; times `GET /cases` (default order, `overdue=true`, `force=`), `GET /cases/{id}` and
`GET /report` for one year (p50/p95 over `--runs`), then `mvp --help`, `mvp case show` and `mvp cases list` as
processes (`--cli-runs` each); prints the EXPLAIN plans of the list and report queries. Figures are printed and
written under bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from sqlalchemy import Engine, event, insert  # noqa: E402

from bench.common import EXAMPLES, percentiles, stack, tmpdir, write_results  # noqa: E402
from infra.chain import referral_binding  # noqa: E402
from infra.db import engine_for  # noqa: E402
from infra.keys import Keys  # noqa: E402
from models.tables import CaseRow  # noqa: E402
from protocol.case_ids import CROCKFORD  # noqa: E402
from usecases import readmodel  # noqa: E402
from usecases.readmodel import CaseFilter  # noqa: E402

FORCES = ["WMP", "MPS", "GMP", "WYP", "MER", "TVP", "AS", "KNT", "NTH", "SYP", "LAN", "HAM"]
CRIME_TYPES = [
    ("domestic_abuse", 40),
    ("modern_slavery", 20),
    ("sexual_offence", 12),
    ("honour_based_abuse", 6),
    ("stalking_harassment", 8),
    ("labour_exploitation", 8),
    ("other", 6),
]
OUTCOMES = [
    ("regularised", 40),
    ("status_confirmed", 20),
    ("hold_released", 15),
    ("departed", 10),
    ("excluded", 5),
    ("withdrawn", 10),
]
GROUNDS = ["investigation_live", "application_pending", "receiving_support", "route_clock"]
BATCH = 2000


def pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def case_row(rng: random.Random, n: int, now: datetime) -> dict[str, Any]:
    """One read-model row: open cases mostly recent, closed ones older; about 1 open case in 8 overdue."""
    body = "".join(rng.choice(CROCKFORD) for _ in range(10))
    case_id = f"MVP-{body[:5]}-{body[5:]}"
    referred = now - timedelta(days=rng.uniform(0, 730))
    age = (now - referred).days
    closed = rng.random() < min(0.9, 0.15 + age / 600)
    phase = "closed"
    if not closed:
        phase = rng.choices(["protection", "engagement", "awaiting_release", "screening"], [90, 5, 3, 2])[0]
    outcome = pick(rng, OUTCOMES) if closed else None
    grounds = [] if closed else rng.sample(GROUNDS, rng.randint(1, 3))
    if phase == "screening":
        grounds = ["screening_pending"]
    if phase == "engagement":
        grounds = ["engagement_notice"]
    pending: list[str] = []
    if phase == "awaiting_release":
        pending = ["release"]
    elif not closed and rng.random() < 0.03:
        pending = ["exclusion"]
    overdue = not closed and rng.random() < 0.12
    overdue_since = now - timedelta(days=rng.uniform(0, 60)) if overdue else None
    closed_at = referred + timedelta(days=rng.uniform(1, max(2, age))) if closed else None
    next_due = None if closed else now + timedelta(days=rng.uniform(-60 if overdue else 0, 28))
    row: dict[str, Any] = {
        "case_id": case_id,
        "revision": rng.randint(3, 80),
        "policy_version": "2026.1",
        "phase": phase,
        "hold_active": not closed,
        "hold_grounds": grounds,
        "outcome": outcome,
        "force_code": rng.choice(FORCES),
        "crime_type": pick(rng, CRIME_TYPES),
        "role": rng.choices(["victim", "witness"], [85, 15])[0],
        "referral_channel": rng.choice(["phone", "email", "portal"]),
        "status_at_referral": rng.choice(["no_leave", "overstayer", "unknown", "leave_expired"]),
        "exclusion_indicators": [],
        "pending_decisions": pending,
        "contact_overdue": overdue,
        "referred_at": referred,
        "opened_at": referred + timedelta(minutes=rng.uniform(1, 120)),
        "closed_at": closed_at,
        "next_contact_due": next_due,
        "overdue_since": overdue_since,
        "updated_at": closed_at or now - timedelta(days=rng.uniform(0, 28)),
        "case_officer": f"officer:NCCU-{rng.randint(1, 60):04d}",
        "referral_sealed": "x" * 1400,  # the size of an encrypted referral: the list must not need to read it
    }
    view = {
        k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items() if k != "referral_sealed"
    }
    view["hold"] = {"active": row["hold_active"], "grounds": grounds}
    view["signposting"] = [
        {"code": c, "contact": "0808 2000 247"} for c in ("refuge", "ncdah", "nrm", "legal")
    ]
    view["applications"] = []
    view["investigation"] = rng.choice(["live", "charged", "no_further_action"])
    row["view"] = view
    return row


def populate(engine: Engine, keys: Keys, cases: int, now: datetime) -> list[str]:
    """Bulk insert with the table model (one multi-row INSERT a batch), then ANALYZE; returns the case ids.
    The first case's referral is sealed with its own case key, as the store seals it, so `case show` opens it;
    the others carry a placeholder of the same size (a case key each would be 20,000 key files)."""
    rng = random.Random(14)
    ids: list[str] = []
    example = (EXAMPLES / "referral-domestic-abuse.json").read_text()
    with engine.begin() as conn:
        for start in range(0, cases, BATCH):
            rows = [case_row(rng, n, now) for n in range(start, min(cases, start + BATCH))]
            if start == 0:
                first = rows[0]["case_id"]
                rows[0]["referral_sealed"] = keys.sealer.seal_text(first, example, referral_binding(first))
            conn.execute(insert(CaseRow.__table__), rows)  # type: ignore[attr-defined]
            ids.extend(r["case_id"] for r in rows)
        conn.exec_driver_sql("ANALYZE cases")
    return ids


def explained(engine: Engine, run: Callable[[], object]) -> list[str]:
    """The EXPLAIN (ANALYZE, BUFFERS) plans of the SELECTs `run` makes against `engine`."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
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


def timed_http(http: httpx.Client, url: str, headers: dict[str, str], runs: int) -> dict[str, Any]:
    latencies = []
    size = 0
    for _ in range(runs):
        began = time.perf_counter()
        answer = http.get(url, headers=headers)
        latencies.append(time.perf_counter() - began)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {url.split('?')[0]} answered HTTP {answer.status_code}")
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


async def bench(cases: int, runs: int, cli_runs: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    year_from, year_to = (now - timedelta(days=365)).date(), (now + timedelta(days=1)).date()
    figures: dict[str, Any] = {"benchmark": "reads", "cases": cases, "runs": runs, "cli_runs": cli_runs}
    with tmpdir("reads") as folder:
        async with stack(Path(folder)) as s:
            engine = engine_for(str(s.settings.database_url))
            began = time.perf_counter()
            ids = populate(engine, s.keys, cases, now)
            figures["populate_s"] = round(time.perf_counter() - began, 1)
            print(f"reads benchmark: {cases} cases written in {figures['populate_s']} s")
            with httpx.Client(timeout=600) as http:
                minted = http.post(f"{s.issuer_url}/dev/token", json={"actor": "supervisor:NCCU-SUP-7"})
                minted.raise_for_status()
                token = str(minted.json()["access_token"])
                headers = {"Authorization": f"Bearer {token}"}
                api = s.api_url
                targets = {
                    "GET /cases": f"{api}/cases",
                    "GET /cases?overdue=true": f"{api}/cases?overdue=true",
                    "GET /cases?force=WMP": f"{api}/cases?force=WMP",
                    "GET /cases/{id}": f"{api}/cases/{ids[0]}",
                    "GET /report (one year)": f"{api}/report?from={year_from}&to={year_to}",
                    "GET /report (one year, by force)": f"{api}/report?from={year_from}&to={year_to}&by=force",
                }
                http.get(targets["GET /cases/{id}"], headers=headers)  # warm-up
                api_figures = {}
                for name, url in targets.items():
                    api_figures[name] = timed_http(http, url, headers, runs)
                    f = api_figures[name]
                    print(
                        f"{name:<36} p50 {f['p50_ms']:>9.1f} ms  p95 {f['p95_ms']:>9.1f} ms  {f['bytes']:>10} bytes"
                    )
                figures["api"] = api_figures

                env = {**os.environ, "MVP_API_URL": api, "MVP_TOKEN": token, "MVP_DATA_DIR": str(s.data_dir)}
                mvp = str(Path(sys.executable).parent / "mvp")
                commands = {
                    "mvp --help": [mvp, "--help"],
                    "mvp case show": [mvp, "case", "show", ids[0]],
                    "mvp cases list": [mvp, "cases", "list"],
                }
                cli_figures = {}
                for name, argv in commands.items():
                    cli_figures[name] = timed_process(argv, env, cli_runs)
                    f = cli_figures[name]
                    print(f"{name + ' (process)':<36} p50 {f['p50_ms']:>9.1f} ms  p95 {f['p95_ms']:>9.1f} ms")
                figures["cli"] = cli_figures

            from protocol.policy import policy
            from usecases.report import build_report, parse_grouping

            first = datetime.combine(year_from, datetime.min.time(), UTC)
            after = datetime.combine(year_to, datetime.min.time(), UTC)
            plans = {
                "list (default order)": explained(engine, lambda: readmodel.list_cases(engine)),
                "list (overdue)": explained(
                    engine, lambda: readmodel.list_cases(engine, CaseFilter(overdue=True))
                ),
                "list (force)": explained(
                    engine, lambda: readmodel.list_cases(engine, CaseFilter(force="WMP"))
                ),
                "report (one year, by force)": explained(
                    engine,
                    lambda: build_report(engine, first, after, policy(), parse_grouping("force"), False),
                ),
            }
            for name, found in plans.items():
                print(f"\n-- EXPLAIN {name}")
                for plan in found:
                    print(plan[:4000])
            figures["plans"] = plans
            engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20000, help="cases in the read model")
    parser.add_argument("--runs", type=int, default=20, help="runs of each API read")
    parser.add_argument("--cli-runs", type=int, default=5, help="runs of each CLI process")
    args = parser.parse_args()
    if args.cases < 1 or args.runs < 1 or args.cli_runs < 1:
        parser.error("--cases, --runs and --cli-runs must each be at least 1.")
    figures = asyncio.run(bench(args.cases, args.runs, args.cli_runs))
    print("written:", write_results("reads", figures))


if __name__ == "__main__":
    main()
