"""`mvp officer amend` through the case API (issue 12): the officer changes what changed; the record names the
fields and never their values; bad input is a sentence, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session, col

from infra.chain import referral_binding
from models.referral import Referral
from models.tables import CaseRow, HoldRow, RecordRow
from tests.conftest import Running
from tests.support.inprocess import amvp, point_cli_at
from tests.support.inprocess import start_example_case as start_case

OFFICER = "officer:NCCU-0042"
SUPERVISOR = "supervisor:NCCU-SUP-7"


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, running: Running, tmp_path: Path) -> None:
    point_cli_at(monkeypatch, running.api_url, running.issuer_url, tmp_path, actor=OFFICER)


def sealed_referral(running: Running, case_id: str) -> Referral:
    with Session(running.engine) as session:
        sealed = session.execute(
            select(col(CaseRow.referral_sealed)).where(col(CaseRow.case_id) == case_id)
        ).scalar_one()
    return Referral.model_validate_json(
        running.keys.sealer.open_text(case_id, sealed, referral_binding(case_id))
    )


async def test_an_officer_amends_the_safe_contact_location_and_dependants_of_a_case(
    cli_env: None, running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = await start_case(capsys)

    done = await amvp(
        capsys, "officer", "amend", case_id, "--phone", "+44 7700 900999", "--language", "pl",
        "--no-interpreter", "--location", "a refuge in Leeds", "--never-contact-via", "landlord",
        "--add-dependant", "Rahman, Noor, 2026-10-01, child", "--told-by-police", "--note", "moved to a refuge",
    )  # fmt: skip
    assert done.code == 0, done.err
    assert "amended: phone, language, interpreter_needed, never_contact_via, location, dependants" in done.out

    referral = sealed_referral(running, case_id)
    safe = referral.safe_contact
    assert (safe.phone, safe.language, safe.interpreter_needed) == ("+44 7700 900999", "pl", False)
    assert safe.never_contact_via == ["landlord"] and referral.person.location == "a refuge in Leeds"
    assert [d.given_names for d in referral.dependants] == ["Zara", "Noor"]
    with Session(running.engine) as session:
        subjects = session.execute(
            select(col(HoldRow.subject)).where(col(HoldRow.case_id) == case_id)
        ).scalars()
        assert sorted(subjects) == ["dependant-1", "dependant-2", "person"]
        [entry] = session.execute(
            select(RecordRow).where(
                col(RecordRow.case_id) == case_id, col(RecordRow.action) == "details_amended"
            )
        ).scalars()
    assert entry.shared_with is not None and "from" in entry.shared_with  # police told IE: a sharing
    assert "900999" not in json.dumps(entry.model_dump(mode="json")) and "Leeds" not in entry.summary


async def test_amend_refuses_bad_input_and_other_roles_with_a_sentence(
    cli_env: None, running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = await start_case(capsys)

    nothing = await amvp(capsys, "officer", "amend", case_id)
    assert nothing.code != 0 and "the amend changes nothing" in nothing.err
    malformed = await amvp(capsys, "officer", "amend", case_id, "--add-dependant", "Rahman Noor 2026-10-01")
    assert malformed.code == 2 and "FAMILY_NAME, GIVEN_NAMES, YYYY-MM-DD, relationship" in malformed.err
    bad_date = await amvp(
        capsys, "officer", "amend", case_id, "--add-dependant", "Rahman, Noor, 2026-13-01, child"
    )
    assert bad_date.code != 0 and "date_of_birth" in bad_date.err
    no_email = await amvp(capsys, "officer", "amend", case_id, "--channel", "email")
    assert no_email.code != 0 and "give --email" in no_email.err
    listed = await amvp(
        capsys,
        "officer",
        "amend",
        case_id,
        "--phone",
        "+44 7700 900999",
        "--never-contact-via",
        "07700900999",
    )
    assert listed.code != 0 and "the phone given is listed as never to be used" in listed.err
    assert sealed_referral(running, case_id).safe_contact.phone != "+44 7700 900999"  # nothing half-written
    supervisor = await amvp(
        capsys, "officer", "amend", case_id, "--phone", "+44 7700 900999", "--as", SUPERVISOR
    )
    assert supervisor.code == 3 and "only officer" in supervisor.err
    for ran in (nothing, malformed, bad_date, no_email, listed, supervisor):
        assert "Traceback" not in ran.err and "Noor" not in ran.err and "900999" not in ran.err
