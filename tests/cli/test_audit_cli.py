"""`mvp audit verify` and `mvp case show` against a real API, after the database owner's attacks (issue 11):
exit 6 and a sentence naming the problem, never another person's data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from activities.checkpoint import Checkpointer
from infra.checkpoint import signing_key, store_for
from infra.keys import Keys
from infra.settings import Settings
from models.tables import CaseRow
from tests.support.cases import opened_case_with_notices
from tests.support.inprocess import mvp, point_cli_at
from tests.support.intake import OFFICER, example_referral


def open_cases(engine: Engine, keys: Keys) -> list[str]:
    opened = []
    for name in ("referral-domestic-abuse.json", "referral-trafficking.json"):
        referral = example_referral(name)
        case_id = keys.case_id(referral.force_code, referral.referral_id)
        opened.append(opened_case_with_notices(engine, keys, case_id, referral, OFFICER))
    return opened


def sign_checkpoint(settings: Settings, engine: Engine) -> None:
    Checkpointer(engine, store_for(settings), signing_key(settings), timedelta(minutes=5)).write_once()


def test_audit_verify_passes_a_clean_record_and_exits_6_naming_a_deleted_tail(
    api: str,
    issuer: str,
    settings: Settings,
    engine: Engine,
    keys: Keys,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = open_cases(engine, keys)
    sign_checkpoint(settings, engine)
    point_cli_at(monkeypatch, api, issuer, settings.data_dir, actor="auditor:AUD-1")

    clean = mvp(capsys, "audit", "verify")
    assert clean.code == 0, clean.err
    assert "checkpoint 1" in clean.out and "signature verified" in clean.out

    with Session(engine) as session, session.begin():  # the owner, triggers off
        session.execute(text("SET LOCAL session_replication_role = replica"))
        session.execute(
            text(
                "DELETE FROM case_record WHERE case_id = :c AND seq = (SELECT max(seq) FROM case_record "
                "WHERE case_id = :c)"
            ),
            {"c": second},
        )
    broken = mvp(capsys, "audit", "verify")
    assert broken.code == 6
    assert f"{second}: the tail of the record was deleted" in broken.err
    assert "Traceback" not in broken.err


def test_case_show_of_a_swapped_referral_exits_6_with_a_sentence_and_no_ones_data(
    api: str,
    issuer: str,
    settings: Settings,
    engine: Engine,
    keys: Keys,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = open_cases(engine, keys)
    with Session(engine) as session, session.begin():
        a, b = session.get(CaseRow, first), session.get(CaseRow, second)
        assert a is not None and b is not None
        a.referral_sealed, b.referral_sealed = b.referral_sealed, a.referral_sealed
    point_cli_at(monkeypatch, api, issuer, settings.data_dir, actor="supervisor:SUP-7")

    shown = mvp(capsys, "case", "show", first)
    assert shown.code == 6
    assert f"The record of case {first} does not verify" in shown.err
    people = [
        example_referral(n).person for n in ("referral-domestic-abuse.json", "referral-trafficking.json")
    ]
    for person in people:
        assert person.family_name not in shown.out + shown.err

    verified = mvp(capsys, "audit", "verify", first)
    assert verified.code == 6 and "sealed referral does not open for this case" in verified.err


def test_audit_verify_exits_6_on_a_forged_checkpoint(
    api: str,
    issuer: str,
    settings: Settings,
    engine: Engine,
    keys: Keys,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    open_cases(engine, keys)
    sign_checkpoint(settings, engine)
    store = store_for(settings)
    path = store.path(1)
    forged = path.read_bytes().replace(b'"cases": 2', b'"cases": 3')
    path.unlink()
    store.append(1, forged)
    point_cli_at(monkeypatch, api, issuer, settings.data_dir, actor="auditor:AUD-1")
    ran = mvp(capsys, "audit", "verify")
    assert ran.code == 6
    assert "the latest checkpoint does not verify" in ran.err and "signature does not verify" in ran.err
