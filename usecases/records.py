"""Loading Home Office reference records: a records administrator's act, recorded like any other."""

from __future__ import annotations

from datetime import UTC, datetime

from activities.records import load_records
from infra.errors import InputError
from models.case import Actor
from protocol import authority
from protocol.intake import parse_records
from usecases import readmodel
from usecases.context import Services, allowed


def load(services: Services, actor: Actor, raw: object) -> tuple[int, int]:
    """Validate the whole file (every problem named, nothing loaded) and load it in one transaction."""
    allowed(authority.may_load_records(actor))
    records, problems = parse_records(raw, datetime.now(UTC))
    if records is None:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise InputError(
            f"The records were refused ({len(problems)} problem(s)); nothing was loaded:\n{listed}", problems
        )
    counts = load_records(services.engine, records)
    readmodel.record_access(
        services.engine,
        actor.label(),
        "records_load",
        None,
        {"immigration_status": counts[0], "criminal_records": counts[1]},
    )
    return counts
