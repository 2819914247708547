"""The audit trail is readable by supervisors and auditors: who read which case when, and every enforcement check
(who asked, when, why, the answer), filterable, as CSV for an auditor; reading it is recorded too."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select
from sqlmodel import Session, col

from models.tables import AccessRow
from tests.conftest import Running
from tests.support.cli import mvp, start_example_case

AUDITOR = "auditor:DPO-1"


async def test_an_auditor_reads_who_read_a_case_and_every_check_on_it(running: Running) -> None:
    case_id = await start_example_case(running)
    shown = await mvp(running, "case", "show", case_id, actor="supervisor:SUP-7")
    assert shown.returncode == 0, shown.stderr
    checked = await mvp(
        running,
        "enforcement",
        "check",
        "--person",
        "HO-7781203",
        "--reason",
        "Planned visit to the address",
        actor="enforcement:ENF-3",
    )
    assert checked.returncode == 3  # refused: she is protected

    reads = await mvp(running, "audit", "reads", "--case", case_id, "--csv", actor=AUDITOR)
    assert reads.returncode == 0, reads.stderr
    rows = list(csv.DictReader(io.StringIO(reads.stdout)))
    assert ("supervisor:SUP-7", "case_show", case_id) in [
        (r["actor"], r["action"], r["case_id"]) for r in rows
    ]

    by_role = await mvp(running, "audit", "reads", "--role", "officer", "--json", actor=AUDITOR)
    assert by_role.returncode == 0 and all(
        r["actor"].startswith("officer:") for r in json.loads(by_role.stdout)
    )

    checks = await mvp(
        running, "enforcement", "checks", "--case", case_id, "--json", actor="supervisor:SUP-7"
    )
    assert checks.returncode == 0, checks.stderr
    [check] = json.loads(checks.stdout)
    assert check["actor"] == "enforcement:ENF-3" and check["verdict"] == "refused"
    assert check["why"] == "Planned visit to the address" and case_id in check["case_ids"]

    table = await mvp(running, "enforcement", "checks", actor=AUDITOR)
    assert table.returncode == 0 and "1 check(s)" in table.stdout

    with Session(running.engine) as session:
        trail_reads = session.execute(
            select(col(AccessRow.actor), col(AccessRow.action)).where(
                col(AccessRow.action).in_(["audit_reads", "enforcement_checks"])
            )
        ).all()
    assert (AUDITOR, "audit_reads") in trail_reads and (
        "supervisor:SUP-7",
        "enforcement_checks",
    ) in trail_reads


async def test_officers_and_police_may_not_read_the_trail_and_a_bad_role_is_named(running: Running) -> None:
    for who in ("officer:NCCU-0042", "police:WMP-4471:WMP", "enforcement:ENF-3"):
        refused = await mvp(running, "audit", "reads", actor=who)
        assert refused.returncode == 3 and "auditors" in refused.stderr
    bad = await mvp(running, "audit", "reads", "--role", "janitor", actor=AUDITOR)
    assert bad.returncode == 2 and "janitor" in bad.stderr and "officer" in bad.stderr
