"""The one place where the Temporal client is made."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.service import TLSConfig

from infra.casekeys import CaseKeys
from infra.codec import data_converter
from infra.errors import Unavailable
from infra.keys import Keyring
from infra.settings import Settings


async def connect(settings: Settings, keyring: Keyring, case_keys: CaseKeys | None = None) -> Client:
    """A client whose codec seals each case's payloads under its data key (`case_keys`), the rest with the
    keyring."""
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=data_converter(keyring, case_keys),
            tls=tls_config(settings),
        )
    except RuntimeError as err:
        raise Unavailable(
            f"Cannot reach Temporal at {settings.temporal_address}: is `make run` (or the worker's "
            "Temporal server) running?"
        ) from err


def tls_config(settings: Settings) -> TLSConfig | bool:
    """Mutual TLS when a client certificate is configured (production); plain TCP otherwise."""
    if settings.temporal_tls_cert is None or settings.temporal_tls_key is None:
        return False
    try:
        return TLSConfig(
            server_root_ca_cert=settings.temporal_tls_ca.read_bytes() if settings.temporal_tls_ca else None,
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
            domain=settings.temporal_tls_server_name,
        )
    except OSError as err:
        raise Unavailable(
            f"Cannot read a Temporal TLS file ({err.filename}): check TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY "
            "and TEMPORAL_TLS_CA"
        ) from err
