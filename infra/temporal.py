"""The one place where the Temporal client and the worker are made."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from infra.codec import data_converter
from infra.errors import Unavailable
from infra.keys import Keyring
from infra.settings import Settings


async def connect(settings: Settings, keyring: Keyring) -> Client:
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=data_converter(keyring),
        )
    except RuntimeError as err:
        raise Unavailable(
            f"Cannot reach Temporal at {settings.temporal_address}: is `make run` (or the worker's "
            "Temporal server) running?"
        ) from err


def make_worker(
    client: Client, task_queue: str, activities: list[object], executor: ThreadPoolExecutor
) -> Worker:
    """The case worker: the case workflow and every activity, on one task queue."""
    from workflows.case import ProtocolCaseWorkflow
    from workflows.enforcement import EnforcementActionWorkflow, EnforcementCheckWorkflow

    return Worker(
        client,
        task_queue=task_queue,
        workflows=[ProtocolCaseWorkflow, EnforcementCheckWorkflow, EnforcementActionWorkflow],
        activities=activities,  # type: ignore[arg-type]
        activity_executor=executor,
    )
