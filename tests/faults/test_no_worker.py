"""No worker polls the task queue (it crashed, or was never started): callers are told so within a bound, in a
sentence, and a referral that was started is still reported as started."""

from __future__ import annotations

import asyncio
import time

import httpx
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from infra.errors import Unavailable
from infra.keys import Keys
from infra.settings import Settings
from tests.conftest import EXAMPLES, Running
from tests.support.boundary import ACTORS, bearer, dev_token
from tests.support.cli import mvp
from tests.support.intake import OFFICER, example_referral
from usecases import cases

# usecases/cases.py ANSWER_WITHIN is 15 s: the bound a caller waits for a worker, with room for the round trip.
ANSWERED_WITHIN = 20.0
NOT_PROCESSING = "not processing commands"


def _without_worker(
    client: Client,
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    keys: Keys,
    engine: Engine,
    api: str,
    issuer: str,
) -> Running:
    return Running(
        client=client,
        env=temporal_env,
        settings=settings,
        keys=keys,
        engine=engine,
        api_url=api,
        issuer_url=issuer,
    )


async def test_a_command_with_no_worker_answers_in_bounded_time_that_the_service_is_not_processing_commands(
    client: Client,
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    keys: Keys,
    engine: Engine,
    api: str,
    issuer: str,
) -> None:
    """Through the API (503, exit code 5) and the CLI (exit 5) at once: the same sentence, no traceback."""
    stack = _without_worker(client, temporal_env, settings, keys, engine, api, issuer)
    case_id = await cases.start_referral(
        client, keys, settings.task_queue, example_referral("referral-domestic-abuse.json"), OFFICER
    )
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as http:
        officer = bearer(await dev_token(http, issuer, ACTORS["officer"]))
        began = time.monotonic()
        answer, ran = await asyncio.gather(
            http.post(f"{api}/cases/{case_id}/contact", json={"result": "no_answer"}, headers=officer),
            mvp(stack, "officer", "contact", case_id, "--result", "no_answer"),
        )
        took = time.monotonic() - began

    assert took < ANSWERED_WITHIN
    assert answer.status_code == 503, answer.text
    error = answer.json()["error"]
    assert error["exit_code"] == 5
    assert NOT_PROCESSING in error["message"]
    assert "Traceback" not in answer.text
    assert ran.returncode == 5, ran.stdout + ran.stderr
    assert NOT_PROCESSING in " ".join((ran.stdout + ran.stderr).split())
    assert "Traceback" not in ran.stdout + ran.stderr


async def test_a_referral_started_with_no_worker_is_reported_as_started_and_pending_screening(
    client: Client,
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    keys: Keys,
    engine: Engine,
    api: str,
    issuer: str,
) -> None:
    stack = _without_worker(client, temporal_env, settings, keys, engine, api, issuer)
    began = time.monotonic()
    started = await mvp(stack, "referral", "start", str(EXAMPLES / "referral-domestic-abuse.json"))
    took = time.monotonic() - began

    assert took < ANSWERED_WITHIN
    assert started.returncode == 0, started.stdout + started.stderr
    case_id = cases.case_id_for(keys, example_referral("referral-domestic-abuse.json"))
    assert f"Case started: {case_id}" in started.stdout
    assert "Screening pending" in started.stdout
    description = await client.get_workflow_handle(case_id).describe()
    assert description.id == case_id  # the case's workflow is there, waiting for a worker


def test_a_command_refused_while_its_case_recovers_says_so_in_words_and_that_nothing_was_recorded() -> None:
    """Temporal refuses an update outright while the case's workflow task is on its third attempt (worker kills
    close together, README "Durability"): the officer gets a sentence, not the server's words, and exit 5."""
    refused = RPCError(
        "Unable to perform workflow execution update due to Workflow Task in failed state.",
        RPCStatusCode.FAILED_PRECONDITION,
        b"",
    )

    error = cases._rpc_error("MVP-0000A-0000B", refused)

    assert isinstance(error, Unavailable)
    assert str(error) == (
        "The case service could not take this command for case MVP-0000A-0000B just now: the case is "
        "recovering after its worker restarted (usually within a minute). Nothing was recorded; send the "
        "command again shortly."
    )
    other = cases._rpc_error("MVP-0000A-0000B", RPCError("deadline exceeded", RPCStatusCode.UNAVAILABLE, b""))
    assert str(other) == "Temporal refused the request for case MVP-0000A-0000B: deadline exceeded"
