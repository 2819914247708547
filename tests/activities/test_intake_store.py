"""The store's side of intake (issue 14), on a real Postgres: the opening step writes the case and a hold for each
person before anything else, and every step written twice (a retried activity) writes nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from activities.store import CaseStore
from infra.keys import Keys
from models.tables import CaseRow, HoldRow, NoteRow, OutboxRow, RecordRow
from protocol import lifecycle
from protocol.policy import policy
from protocol.screening import screen
from tests.support.cases import write_step
from tests.support.intake import OFFICER, example_referral
from usecases.audit import verify
from usecases.readmodel import case_record

NOW = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)


def counts(engine: Engine, case_id: str) -> dict[str, int]:
    with Session(engine) as session:
        return {
            table.__tablename__: int(
                session.execute(
                    select(func.count()).select_from(table).where(col(table.case_id) == case_id)
                ).scalar_one()
            )
            for table in (CaseRow, HoldRow, RecordRow, NoteRow, OutboxRow)
        }


def test_an_opened_case_is_held_before_screening_and_each_step_written_twice_writes_nothing_twice(
    engine: Engine, keys: Keys
) -> None:
    case_id = "MVP-INTAKE-00001"
    rules = policy()
    referral = example_referral("referral-domestic-abuse.json")
    opened = lifecycle.open_case(case_id, referral, OFFICER, NOW, rules)
    screened = lifecycle.screened(opened.state, screen(None, None, NOW, rules), [], NOW, rules)
    store = CaseStore(engine, keys)

    def write(step: lifecycle.Step, opening: bool) -> None:
        write_step(store, case_id, step, NOW, opening=opening)

    write(opened, opening=True)
    after_opening = counts(engine, case_id)
    # the person and her dependant are held from the first write, before any look-up
    assert after_opening["cases"] == 1
    assert after_opening["holds"] == 1 + len(referral.dependants)
    with Session(engine) as session:
        holds = session.execute(select(HoldRow).where(col(HoldRow.case_id) == case_id)).scalars().all()
        case = session.get(CaseRow, case_id)
    assert all(hold.active for hold in holds)
    assert case is not None and case.hold_active and case.revision == opened.state.revision

    write(opened, opening=True)  # the opening retried
    assert counts(engine, case_id) == after_opening

    write(screened, opening=False)
    after_screening = counts(engine, case_id)
    assert after_screening["outbox"] == len(screened.notices) > 0
    write(screened, opening=False)  # the screening retried
    assert counts(engine, case_id) == after_screening

    rows = case_record(engine, case_id)
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
    assert len(rows) == len(opened.records) + len(screened.records)
    [report] = verify(engine, case_id)
    assert report.intact and report.entries == len(rows)
