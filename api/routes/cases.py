"""Cases: the list and one case (officers, supervisors; police a summary of their own force's cases), and one
route per case command, generated from the command registry (`models.registry`)."""

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, create_model

from api.deps import ActorDep, ServicesDep
from models.case import COMMAND_MODELS
from models.registry import COMMANDS, CaseCommandSpec
from protocol import finding
from usecases import commands, find, reads
from usecases.readmodel import PAGE_SIZE, PAGE_SIZE_MAX, CaseFilter
from usecases.report import parse_day

router = APIRouter()

AUDIENCE = {"police": "police", "officer": "officers", "supervisor": "supervisors"}


@router.get("/cases", tags=["supervisors"])
def list_cases(
    request: Request,
    response: Response,
    actor: ActorDep,
    services: ServicesDep,
    phase: str | None = None,
    hold: bool | None = None,
    overdue: bool | None = None,
    pending: str | None = Query(None, description="any, exclusion or release"),
    overdue_for: int | None = Query(None, ge=0, le=3650, description="days"),
    force: str | None = Query(None, max_length=8),
    crime_type: str | None = None,
    referred_from: str | None = Query(None, alias="from", description="YYYY-MM-DD, included"),
    referred_to: str | None = Query(None, alias="to", description="YYYY-MM-DD, not included"),
    outcome: str | None = None,
    mine: bool = Query(False, description="only the cases whose case officer is you"),
    page_size: int = Query(
        PAGE_SIZE, ge=1, le=PAGE_SIZE_MAX, description="cases on a page (keyset paging, most urgent first)"
    ),
    after: str | None = Query(
        None, max_length=512, description="the cursor of the page before: the `after` of its Link rel=next"
    ),
) -> list[dict[str, Any]]:
    """One page of cases, most urgent first (a workflow lost outside the service, overdue contact with a
    decision pending, overdue, pending, open, closed). When more follow, the `Link` header's `rel="next"`
    is this request with `after` set to the next page's cursor (opaque; good for the same filters)."""
    where = CaseFilter(
        phase=phase,
        hold_active=hold,
        overdue=overdue,
        decision_pending=True if pending == "any" else None,
        pending_kind=pending if pending not in (None, "any") else None,
        overdue_for=timedelta(days=overdue_for) if overdue_for is not None else None,
        force=force,
        crime_type=crime_type,
        referred_from=parse_day(referred_from, "--from") if referred_from else None,
        referred_to=parse_day(referred_to, "--to") if referred_to else None,
        outcome=outcome,
    )
    rows, following = reads.case_list(services, actor, where, mine=mine, after=after, size=page_size)
    if following is not None:
        link = request.url.include_query_params(after=following)
        response.headers["Link"] = f'<{link}>; rel="next"'
    return rows


# Declared before `/cases/{case_id}`, which would otherwise take "find" for a case id.
@router.get("/cases/find", tags=["officers", "supervisors", "police"])
def find_cases(
    actor: ActorDep,
    services: ServicesDep,
    crime_ref: str | None = Query(None, max_length=finding.VALUE_MAX, description="police crime reference"),
    referral_id: str | None = Query(None, max_length=finding.VALUE_MAX, description="police referral id"),
    ho_ref: str | None = Query(None, max_length=finding.VALUE_MAX, description="Home Office reference"),
    officer: str | None = Query(None, max_length=finding.VALUE_MAX, description="referring officer's id"),
    name: str | None = Query(None, max_length=finding.VALUE_MAX, description="FAMILY, GIVEN (with born)"),
    born: str | None = Query(None, max_length=finding.VALUE_MAX, description="YYYY-MM-DD (with name)"),
) -> list[dict[str, Any]]:
    """Cases matching every key given, exact matches first: case ids and codes only (police: their own
    force's cases). A name and date of birth, or a Home Office reference, may match possibly (a misspelt
    name, a near date or reference), as in the enforcement check. The search is recorded in the access log."""
    return find.find(
        services,
        actor,
        crime_ref=crime_ref,
        referral_id=referral_id,
        ho_ref=ho_ref,
        officer=officer,
        name=name,
        born=born,
    )


class FindBody(BaseModel):
    """The same search as `GET /cases/find`, in a body: a name and date of birth stay out of URLs, which
    proxies and servers tend to log. The CLI searches this way."""

    model_config = ConfigDict(extra="forbid")

    crime_ref: str | None = Field(None, max_length=finding.VALUE_MAX)
    referral_id: str | None = Field(None, max_length=finding.VALUE_MAX)
    ho_ref: str | None = Field(None, max_length=finding.VALUE_MAX)
    officer: str | None = Field(None, max_length=finding.VALUE_MAX)
    name: str | None = Field(None, max_length=finding.VALUE_MAX, description="FAMILY, GIVEN (with born)")
    born: str | None = Field(None, max_length=finding.VALUE_MAX, description="YYYY-MM-DD (with name)")


@router.post("/cases/find", tags=["officers", "supervisors", "police"])
def find_cases_in_body(body: FindBody, actor: ActorDep, services: ServicesDep) -> list[dict[str, Any]]:
    """`GET /cases/find` with the search in the body (recorded in the access log the same way)."""
    return find.find(services, actor, **body.model_dump())


@router.get("/cases/{case_id}", tags=["supervisors", "officers", "police"])
def show_case(case_id: str, actor: ActorDep, services: ServicesDep) -> dict[str, Any]:
    """One case. The read is recorded in the access log."""
    return reads.case_detail(services, actor, case_id)


def _body_model(spec: CaseCommandSpec) -> type[BaseModel]:
    """The request body of a command: its message without what the service fills in (actor, kind)."""
    model = COMMAND_MODELS[spec.kind]
    fields: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in model.model_fields.items()
        if name not in commands.RESERVED
    }
    return create_model(f"{model.__name__}Body", __config__=ConfigDict(extra="forbid"), **fields)


def _add_command_route(spec: CaseCommandSpec) -> None:
    body_model = _body_model(spec)

    async def send(case_id: str, body: body_model, actor: ActorDep, services: ServicesDep) -> dict[str, Any]:  # type: ignore[valid-type]
        return await commands.send(
            services,
            actor,
            reads.case_id_from(case_id),
            spec.route,
            body.model_dump(exclude_unset=True),  # type: ignore[attr-defined]
        )

    send.__name__ = spec.kind
    send.__doc__ = spec.summary + " Who may: " + ", ".join(sorted(spec.roles)) + "."
    router.add_api_route(
        f"/cases/{{case_id}}/{spec.route}",
        send,
        methods=["POST"],
        tags=[AUDIENCE[spec.cli[0]]],
        summary=spec.summary,
    )


for _spec in COMMANDS.values():
    _add_command_route(_spec)
