"""The read model says what the workflow knows.

Sixteen cases live random lifecycles on the real Temporal and Postgres servers: police updates,
contacts, applications and their decisions, route clocks, supervisors' decisions, departures and
withdrawals, and months of fast-forwarded time. After every move, what a supervisor reads from Postgres
(`mvp case show --json`, and the `cases` row's own columns) must come to equal what the workflow
answers to its `state` query. A refused command must change nothing. The random choices are seeded:
a failure names the seed and the case, and replays the same way.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest

import cli
from activities.records import load_records
from infra.errors import Refused
from models.case import (
    Actor,
    ActorRole,
    ApplicationEvent,
    ApplicationStage,
    CaseCommand,
    CaseView,
    ContactRecord,
    ContactResult,
    DecisionKind,
    DepartureRecord,
    ExclusionDecision,
    InvestigationStatus,
    Phase,
    PoliceUpdate,
    ReleaseDecision,
    Route,
    RouteStarted,
    Withdrawal,
)
from models.records import Conviction, CriminalRecord, ImmigrationStatus, ImmigrationStatusRecord, RecordsFile
from models.referral import Referral
from protocol.contact import MEETS_CONTACT
from protocol.lifecycle import APPLICATION_FOLLOWS
from tests.conftest import Running
from tests.support.inprocess import point_cli_at
from tests.support.intake import example_referral
from usecases import cases, readmodel

SEED = 20211201
CASES = 16
MOVES = 12  # at most, per case
OFFICER = Actor(role=ActorRole.officer, id="NCCU-0042")
SUPERVISOR = Actor(role=ActorRole.supervisor, id="NCCU-SUP-7")
POLICE = Actor(role=ActorRole.police, id="WMP-4471", force="WMP")
VIEW_FIELDS = list(CaseView.model_fields)


# --- the people ------------------------------------------------------------------------------------


def person(n: int) -> Referral:
    base = example_referral("referral-domestic-abuse.json")
    who = base.person.model_copy(
        update={
            "given_names": f"Given{n}",
            "family_name": f"Family{n}",
            "home_office_ref": f"HO-CONS-{n:03d}",
        }
    )
    return base.model_copy(
        update={"person": who, "crime_reference": f"WMP/26/11/{n:05d}", "referral_id": f"NCCU-2026-{n:06d}"}
    )


def records_for(n: int, referral: Referral) -> tuple[ImmigrationStatusRecord | None, CriminalRecord | None]:
    """Every fifth person has no Home Office record; one is British (closed at screening); two have
    convictions that need a supervisor's exclusion decision; the rest have no status or partner leave."""
    p = referral.person
    assert p.home_office_ref is not None
    ident = {
        "home_office_ref": p.home_office_ref,
        "given_names": p.given_names,
        "family_name": p.family_name,
        "date_of_birth": p.date_of_birth,
    }
    if n % 5 == 4:
        return None, None
    if n == 1:
        status = ImmigrationStatus.british_citizen
    elif n % 3 == 0:
        status = ImmigrationStatus.leave_to_remain
    else:
        status = ImmigrationStatus.no_status
    leave = (
        {"last_leave": "partner_of_settled_person", "leave_expires": date(2027, 6, 1)} if n % 3 == 0 else {}
    )
    criminal = None
    if n in (2, 7):
        conviction = Conviction(
            offence="wounding", convicted_on=date(2016, 5, 2), custodial=True, sentence_months=20
        )
        criminal = CriminalRecord(**ident, convictions=[conviction])
    return ImmigrationStatusRecord(**ident, status=status, **leave), criminal


# --- random moves ----------------------------------------------------------------------------------


@dataclass
class Life:
    n: int
    case_id: str
    rng: random.Random
    quiet: bool = False
    moves: list[str] = field(default_factory=list)
    refused: int = 0

    def where(self) -> str:
        return f"case {self.n} ({self.case_id}), seed {SEED}, after {self.moves}"


def investigation(rng: random.Random, view: CaseView) -> InvestigationStatus:
    """Mostly the next stages (or an end), sometimes anything: the workflow refuses what cannot follow."""
    if rng.random() < 0.2:
        return rng.choice(list(InvestigationStatus))
    return rng.choice(
        [
            InvestigationStatus.under_investigation,
            InvestigationStatus.charged,
            InvestigationStatus.concluded,
            InvestigationStatus.no_further_action,
            InvestigationStatus.no_further_action,
        ]
    )


def application(rng: random.Random, view: CaseView) -> tuple[ApplicationEvent, bool | None]:
    """A new application, or a stage for an existing one. Returns the command and whether the workflow
    must refuse it (None: it may go either way)."""
    route = rng.choice([Route.appendix_victim_of_domestic_abuse, Route.domestic_abuse_concession])
    if not view.applications or rng.random() < 0.35:
        return ApplicationEvent(actor=OFFICER, route=route, stage=ApplicationStage.submitted), False
    app = rng.choice(view.applications)
    stage = rng.choice([s for s in ApplicationStage if s is not ApplicationStage.submitted])
    impossible = app.stage not in APPLICATION_FOLLOWS[stage]
    return ApplicationEvent(actor=OFFICER, route=app.route, stage=stage, number=app.number), impossible


def next_move(life: Life, view: CaseView) -> tuple[str, CaseCommand | timedelta, bool | None]:
    """(name, a command or a stretch of time, whether it must be refused)."""
    rng = life.rng
    pending = set(view.pending_decisions)
    choices: list[tuple[str, float]] = [
        ("later", 3.0),
        ("contact", 2.5),
        ("police", 2.0),
        ("application", 2.5),
        ("route", 0.7),
        ("exclusion", 4.0 if DecisionKind.exclusion in pending else 0.3),
        ("release", 5.0 if view.phase is Phase.awaiting_release else 0.3),
        ("departure", 0.15 if len(life.moves) > 6 else 0.0),
        ("withdrawal", 0.15 if len(life.moves) > 6 else 0.0),
    ]
    if life.quiet:  # a case whose grounds run out: engagement, its notice period, a release decision
        choices = [(c, w) for c, w in choices if c in ("later", "contact", "police", "exclusion", "release")]
    name = rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]
    match name:
        case "later":
            return name, timedelta(days=rng.randint(1, 45), hours=rng.randint(0, 23)), None
        case "contact":
            result = rng.choice(list(ContactResult))
            support = rng.choice([None, False] if life.quiet else [None, None, False, False, True])
            refused = support is not None and result not in MEETS_CONTACT  # only a reached person says
            return name, ContactRecord(actor=OFFICER, result=result, support_active=support), refused
        case "police":
            actor = rng.choice([POLICE, OFFICER])
            update = PoliceUpdate(actor=actor, investigation=investigation(rng, view))
            return name, update, None
        case "application":
            event, impossible = application(rng, view)
            return name, event, impossible
        case "route":
            route = rng.choice([Route.domestic_abuse_concession, Route.national_referral_mechanism])
            return name, RouteStarted(actor=OFFICER, route=route, days=rng.choice([None, 10])), False
        case "exclusion":
            verdict = rng.choice(["confirm", "override", "override"])
            command = ExclusionDecision(actor=SUPERVISOR, verdict=verdict, reason="reviewed the full record")
            return name, command, DecisionKind.exclusion not in pending
        case "release":
            release = ReleaseDecision(actor=SUPERVISOR, reason="notice period over, no new grounds")
            return name, release, view.phase is not Phase.awaiting_release
        case "departure":
            return name, DepartureRecord(actor=OFFICER), False
        case _:
            return name, Withdrawal(actor=OFFICER, reason="referral made in error", made_in_error=True), False


# --- reading both sides ----------------------------------------------------------------------------


def shown(capsys: pytest.CaptureFixture[str], case_id: str) -> dict[str, Any]:
    """`mvp case show CASE --json`, as a supervisor runs it: read from Postgres only."""
    capsys.readouterr()
    code = cli.run(["case", "show", case_id, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)  # type: ignore[no-any-return]


def row_columns(running: Running, case_id: str) -> dict[str, Any]:
    """The read model's own columns, which `cases list` filters and sorts on, in the view's terms."""
    row = readmodel.get_case(running.engine, case_id)
    return {
        "revision": row.revision,
        "phase": row.phase,
        "hold": {"active": row.hold_active, "grounds": row.hold_grounds},
        "outcome": row.outcome,
        "next_contact_due": row.next_contact_due.isoformat() if row.next_contact_due else None,
        "contact_overdue": row.contact_overdue,
        "overdue_since": row.overdue_since.isoformat() if row.overdue_since else None,
        "pending_decisions": row.pending_decisions,
        "status_at_referral": row.status_at_referral,
        "exclusion_indicators": row.exclusion_indicators,
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
    }


def differences(workflow: dict[str, Any], postgres: dict[str, Any], names: list[str]) -> dict[str, Any]:
    def same(a: Any, b: Any) -> bool:
        if (
            isinstance(a, str) and isinstance(b, str) and a != b
        ):  # timestamps: the same instant, however written
            try:
                return datetime.fromisoformat(a) == datetime.fromisoformat(b)
            except ValueError:
                return False
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
        return bool(a == b)

    return {
        name: {"workflow": workflow.get(name), "postgres": postgres.get(name)}
        for name in names
        if not same(workflow.get(name), postgres.get(name))
    }


async def consistent(running: Running, capsys: pytest.CaptureFixture[str], life: Life) -> CaseView:
    """Wait (up to 15 s) until the workflow has written its last step, then require Postgres to say
    exactly what the workflow says: every field of the view, and the row's own columns."""
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        view = await cases.state(running.client, life.case_id)
        expected = view.model_dump(mode="json")
        from_show = differences(expected, shown(capsys, life.case_id), VIEW_FIELDS)
        columns = row_columns(running, life.case_id)
        hold = {"active": view.hold.active, "grounds": [g.value for g in view.hold.grounds]}
        from_row = differences({**expected, "hold": hold}, columns, list(columns))
        if not from_show and not from_row:
            return view
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(
                f"read model differs from the workflow for {life.where()}:\n"
                f"case show --json: {json.dumps(from_show, indent=1)}\n"
                f"cases row: {json.dumps(from_row, indent=1)}"
            )
        await asyncio.sleep(0.1)


async def live(running: Running, capsys: pytest.CaptureFixture[str], life: Life) -> Life:
    view = await consistent(running, capsys, life)
    for _ in range(MOVES):
        if view.phase is Phase.closed:
            break
        name, move, must_refuse = next_move(life, view)
        if isinstance(move, timedelta):
            life.moves.append(f"later {move.days}d{move.seconds // 3600}h")
            handle = running.client.get_workflow_handle(life.case_id)
            assert await asyncio.wait_for(running.env.fast_forward(handle, move), timeout=60), life.where()
        else:
            detail = [getattr(move, a, None) for a in ("stage", "investigation", "verdict", "result")]
            life.moves.append(f"{name}:{next((str(d) for d in detail if d is not None), '')}")
            before = view.revision
            try:
                await cases.send(running.client, life.case_id, move)
            except Refused as refusal:
                life.moves[-1] += " (refused)"
                life.refused += 1
                assert must_refuse is not False, f"{refusal} — {life.where()}"
                assert str(refusal).startswith("Refused: ") and len(str(refusal)) > 12
                after = await consistent(running, capsys, life)
                assert after.revision == before, f"a refused command changed the case: {life.where()}"
            else:
                assert must_refuse is not True, f"{name} should have been refused: {life.where()}"
        view = await consistent(running, capsys, life)
    return life


@pytest.fixture
def show_env(running: Running, api: str, issuer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`mvp case show` in this process, through the case API, as a supervisor's terminal has it."""
    point_cli_at(monkeypatch, api, issuer, running.settings.data_dir, actor="supervisor:NCCU-SUP-7")


@pytest.mark.usefixtures("show_env")
async def test_what_supervisors_read_is_what_the_workflow_knows_through_random_lifecycles(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    master = random.Random(SEED)
    referrals = [person(n) for n in range(CASES)]
    statuses, criminal = [], []
    for n, referral in enumerate(referrals):
        status, crimes = records_for(n, referral)
        statuses += [status] if status else []
        criminal += [crimes] if crimes else []
    load_records(running.engine, RecordsFile(immigration_status=statuses, criminal_records=criminal))

    lives = []
    for n, referral in enumerate(referrals):
        case_id = await cases.start_referral(
            running.client, running.keys, running.settings.task_queue, referral, OFFICER
        )
        lives.append(Life(n=n, case_id=case_id, rng=random.Random(master.getrandbits(64)), quiet=n % 3 == 2))
    for life in lives:
        assert await cases.wait_until_open(running.client, life.case_id) is not None, life.where()

    done = await asyncio.wait_for(
        asyncio.gather(*(live(running, capsys, life) for life in lives)), timeout=240
    )

    # the lifecycles went somewhere: time passed, commands were refused, cases closed and stayed open
    moves = [m for life in done for m in life.moves]
    assert sum(m.startswith("later") for m in moves) >= CASES
    assert sum(life.refused for life in done) >= 3
    phases = {(await cases.state(running.client, life.case_id)).phase for life in done}
    assert Phase.closed in phases and phases - {Phase.closed}
