"""`mvp enforcement check|action` and `mvp officer fact|verify-fact` as a person uses them: a subprocess
against the real servers, with a worker running. Exit codes: 0 permitted or done, 2 bad input, 3 refused."""

from __future__ import annotations

import json

from tests.conftest import Running
from tests.support.cli import mvp, start_example_case

ENFORCER = "enforcement:ENF-3"
REASON = "Planned visit to the address"


async def test_a_check_on_a_person_with_no_case_is_permitted_and_exits_0(running: Running) -> None:
    result = await mvp(
        running, "enforcement", "check", "--person", "HO-5550912", "--reason", REASON, actor=ENFORCER
    )
    assert result.returncode == 0, result.stderr
    assert "PERMITTED" in result.stdout and "check-" in result.stdout


async def test_a_check_on_a_protected_person_is_refused_with_the_case_and_officer_and_exits_3(
    running: Running,
) -> None:
    case_id = await start_example_case(running)

    result = await mvp(
        running, "enforcement", "check", "--person", "HO-7781203", "--reason", REASON, actor=ENFORCER
    )

    assert result.returncode == 3, result.stderr
    assert "REFUSED" in result.stdout
    assert case_id in result.stdout
    assert "officer:NCCU-0042" in result.stdout
    assert "Traceback" not in result.stderr


async def test_json_prints_the_verdict_of_a_refused_check_on_a_dependant(running: Running) -> None:
    case_id = await start_example_case(running)

    result = await mvp(
        running,
        "enforcement", "check", "--person", "RAHMAN, zara, 2021-06-30", "--reason", REASON, "--json",
        actor=ENFORCER,
    )  # fmt: skip

    assert result.returncode == 3, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["verdict"] == "refused" and verdict["permitted"] is False
    assert verdict["case_ids"] == [case_id] and verdict["officers"] == ["officer:NCCU-0042"]
    assert verdict["check_id"].startswith("check-") and verdict["actor"] == ENFORCER


async def test_someone_other_than_enforcement_is_refused_and_exits_3(running: Running) -> None:
    result = await mvp(
        running,
        "enforcement",
        "check",
        "--person",
        "HO-7781203",
        "--reason",
        REASON,
        actor="officer:NCCU-0042",
    )
    assert result.returncode == 3
    assert "only enforcement" in result.stderr
    assert "Traceback" not in result.stderr


async def test_a_malformed_person_exits_2_naming_the_problem_without_echoing_it(running: Running) -> None:
    for person, problem in [
        ("Amina Rahman", "not a Home Office reference"),
        ("Rahman, Amina", "comma-separated parts"),
        ("Rahman, Amina, 14/03/1998", "YYYY-MM-DD"),
    ]:
        result = await mvp(
            running, "enforcement", "check", "--person", person, "--reason", REASON, actor=ENFORCER
        )
        assert result.returncode == 2, (person, result.stderr)
        assert problem in result.stderr
        assert "Amina" not in result.stderr and "Traceback" not in result.stderr


async def test_an_action_is_recorded_after_a_permitted_check_and_refused_after_a_refused_one(
    running: Running,
) -> None:
    await start_example_case(running)
    refused = await mvp(
        running,
        "enforcement",
        "check",
        "--person",
        "HO-7781203",
        "--reason",
        REASON,
        "--json",
        actor=ENFORCER,
    )
    permitted = await mvp(
        running,
        "enforcement",
        "check",
        "--person",
        "HO-5550912",
        "--reason",
        REASON,
        "--json",
        actor=ENFORCER,
    )
    refused_id, permitted_id = (
        json.loads(refused.stdout)["check_id"],
        json.loads(permitted.stdout)["check_id"],
    )

    rejected = await mvp(
        running, "enforcement", "action", "--check", refused_id, "--action", "detained", actor=ENFORCER
    )
    assert rejected.returncode == 3 and "was refused" in rejected.stderr

    accepted = await mvp(
        running, "enforcement", "action", "--check", permitted_id, "--action", "detained", actor=ENFORCER
    )
    assert accepted.returncode == 0, accepted.stderr
    assert "Recorded: detained" in accepted.stdout


async def test_an_officer_records_a_perpetrator_fact_unverified_then_verifies_it(running: Running) -> None:
    case_id = await start_example_case(running)

    told = await mvp(
        running, "officer", "fact", case_id, "--kind", "person_left_uk", "--source", "perpetrator"
    )
    assert told.returncode == 0, told.stderr
    assert "unverified" in told.stdout and "protection" in told.stdout

    verified = await mvp(running, "officer", "verify-fact", case_id, "--number", "1", "--verified")
    assert verified.returncode == 0, verified.stderr
    assert "departed" in verified.stdout

    again = await mvp(running, "officer", "verify-fact", case_id, "--number", "1", "--rejected")
    assert again.returncode == 3
