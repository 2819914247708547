"""The one place where the Temporal client is made."""

from __future__ import annotations

from temporalio.client import Client

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
