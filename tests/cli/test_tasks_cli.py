"""`mvp tasks`: the IE work queue. What is addressed to the case officer (here: the protocol notice to a
person whose safe channel is her support worker) is a task with an owner, a due time and the full text in
her language; only its owner or a supervisor can mark it done, and both the refusal and the completion are
recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from infra.keys import Keys
from models.referral import ContactChannel
from models.tables import AccessRow, OutboxRow
from tests.support.cases import opened_case_with_notices
from tests.support.inprocess import mvp, point_cli_at
from tests.support.intake import OFFICER, example_referral


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, api: str, issuer: str, tmp_path: Path) -> None:
    point_cli_at(monkeypatch, api, issuer, tmp_path, actor=OFFICER.label())


def case_via_support_worker(engine: Engine, keys: Keys, case_id: str, now: datetime | None = None) -> str:
    referral = example_referral("referral-domestic-abuse.json")
    referral = referral.model_copy(
        update={
            "safe_contact": referral.safe_contact.model_copy(
                update={"channel": ContactChannel.via_support_worker}
            )
        }
    )
    return opened_case_with_notices(engine, keys, case_id, referral, OFFICER, now)


def test_a_notice_to_pass_on_through_a_support_worker_is_the_case_officers_task_until_done(
    cli_env: None, engine: Engine, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = case_via_support_worker(engine, keys, "MVP-TASKS-00001")
    with Session(engine) as session:
        notice = session.execute(
            select(OutboxRow).where(
                col(OutboxRow.case_id) == case_id, col(OutboxRow.kind) == "protocol_notice"
            )
        ).scalar_one()
    assert notice.status == "task" and notice.channel == "internal"

    listed = mvp(capsys, "tasks", "--mine")
    assert listed.code == 0, listed.err
    assert case_id in listed.out and "protocol notice" in listed.out and "[bn]" in listed.out
    assert f"for {OFFICER.label()}" in listed.out and "Police shared your details" in listed.out
    task_id = listed.out.split("#", 1)[1].split()[0]
    assert mvp(capsys, "tasks", "--due-today").out.strip() == "No open tasks."  # due tomorrow
    assert mvp(capsys, "tasks", "--overdue").out.strip() == "No open tasks."

    refused = mvp(capsys, "tasks", "done", task_id, "--as", "officer:NCCU-0099")
    assert refused.code == 3 and f"belongs to {OFFICER.label()}" in refused.err
    assert mvp(capsys, "tasks", "--as", "enforcement:ENF-12").code == 3

    done = mvp(capsys, "tasks", "done", task_id)
    assert done.code == 0 and f"Task {task_id} done." in done.out
    assert mvp(capsys, "tasks", "--mine").out.strip() == "No open tasks."
    assert mvp(capsys, "tasks", "done", task_id).code == 3  # already done
    assert mvp(capsys, "tasks", "done", "999999").code == 4
    with Session(engine) as session:
        actions = session.execute(
            select(col(AccessRow.action), col(AccessRow.actor)).order_by(col(AccessRow.id))
        ).all()
    assert ("task_done_refused", "officer:NCCU-0099") in actions
    assert ("task_done", OFFICER.label()) in actions


def test_overdue_tasks_are_listed_as_overdue_and_a_supervisor_sees_every_task(
    cli_env: None, engine: Engine, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    case_via_support_worker(engine, keys, "MVP-TASKS-00002", datetime.now(UTC) - timedelta(days=3))

    overdue = mvp(capsys, "tasks", "--overdue")
    assert overdue.code == 0 and "MVP-TASKS-00002" in overdue.out and "OVERDUE" in overdue.out
    supervisor = mvp(capsys, "tasks", "--as", "supervisor:SUP-7")
    assert supervisor.code == 0 and "MVP-TASKS-00002" in supervisor.out


def test_a_notice_no_safe_channel_can_carry_is_a_deliver_by_hand_task_with_the_text_in_her_language(
    cli_env: None, engine: Engine, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    referral = example_referral("referral-domestic-abuse.json")
    unsafe_post = referral.safe_contact.model_copy(
        update={"channel": ContactChannel.post, "post_is_safe": False}
    )
    opened_case_with_notices(
        engine, keys, "MVP-TASKS-00003", referral.model_copy(update={"safe_contact": unsafe_post}), OFFICER
    )

    listed = mvp(capsys, "tasks", "--mine")

    assert listed.code == 0, listed.err
    assert "deliver by hand" in listed.out and "[bn]" in listed.out
    assert "not marked safe" in listed.out  # why it was not sent
    assert (
        "The notice to pass on (language: bn):" in listed.out and "Police shared your details" in listed.out
    )
