"""The case API (ASGI, FastAPI on uvicorn): with the worker, the only holder of the Temporal connection, the
database credentials and the keys. Every route but `/healthz` needs a verified bearer token; the actor comes from
its claims. Errors are JSON: `{"error": {"type", "message", "exit_code", "problems"}}` — the CLI exits with
`exit_code` and prints `message`.

    uvicorn api.app:app     (or `mvp api`)
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.routes import (
    audit,
    cases,
    codec,
    enforcement,
    health,
    records,
    referrals,
    reports,
    retention,
    tasks,
    training,
)
from infra.db import make_engine
from infra.errors import InputError, NotPermitted, ServiceError, Unavailable
from infra.keyguard import worker_keys
from infra.settings import Settings, load_settings
from infra.temporal import connect
from models.case import Actor
from models.documents import MAX_DOCUMENT_BYTES, DocumentRefused, read_json_document
from protocol import case_ids
from protocol.intake import describe_request_problem
from usecases import readmodel
from usecases.context import Services

log = logging.getLogger("mvp.api")

# Every answer of a service in training mode says so; the CLI prints a TRAINING line on every screen.
MODE_HEADER = "X-MVP-Mode"


def error_body(error: ServiceError) -> dict[str, object]:
    return {
        "error": {
            "type": type(error).__name__,
            "message": str(error),
            "exit_code": error.exit_code,
            "problems": error.problems,
        }
    }


def record_refusal(request: Request, error: NotPermitted) -> None:
    """A request refused for the caller's role or force is written to the access log under the verified
    caller: the route's name as the action, the refusal as the detail (PROTOCOL.md §10: refusals are
    recorded). A command the workflow refused is also in the case's record as `command_refused`."""
    actor: Actor | None = getattr(request.state, "actor", None)
    route = request.scope.get("route")
    if actor is None or route is None:
        return
    raw_case = request.path_params.get("case_id")
    try:
        case_id = case_ids.canonical(raw_case) if raw_case else None
    except ValueError:
        case_id = None  # not a case id: nothing to name (the caller's text is not written)
    services: Services = request.app.state.services
    try:
        readmodel.record_access(
            services.engine,
            actor.label(),
            getattr(route, "name", "unknown"),
            case_id,
            {"refused": str(error), "method": request.method, "route": getattr(route, "path", "")},
        )
    except sqlalchemy.exc.DBAPIError as failed:  # the answer stays a refusal; the operator is told
        log.warning("a refusal on %s could not be recorded: %s", route.path, type(failed.orig).__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app; its services (keys, database engine, Temporal client, token verifier) are made at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from api.auth import TokenVerifier

        chosen = settings or load_settings()
        if (
            chosen.training and settings is None
        ):  # its routes were chosen without it: cases would be movable unseen
            raise RuntimeError(
                "training mode needs the app built with its settings: create_app(load_settings())"
            )
        engine = make_engine(chosen)
        try:
            keys = worker_keys(chosen, engine)  # checked against the database; follows `mvp keys rotate`
            client = await connect(chosen, keys.keyring, keys.case_keys)
        except BaseException:
            engine.dispose()
            raise
        app.state.services = Services(settings=chosen, engine=engine, keys=keys, temporal=client)
        app.state.verifier = TokenVerifier.from_settings(chosen)
        yield
        engine.dispose()

    app = FastAPI(
        title="Migrant Victims Protocol case API",
        version="1",
        lifespan=lifespan,
        description="The one service boundary of the case service. Every route but /healthz needs an OIDC "
        "bearer token; the caller's role (and police force) come from its verified claims.",
    )

    @app.middleware("http")
    async def documents_only(request: Request, call_next: Any) -> Any:
        """A body is read with the rules every outside document meets (size, UTF-8, nesting) before anything
        parses it: one sentence, 4xx, never a traceback."""
        if request.method in ("POST", "PUT", "PATCH"):
            declared = request.headers.get("content-length", "0")
            if declared.isdigit() and int(declared) > MAX_DOCUMENT_BYTES:
                limit = f"larger than {MAX_DOCUMENT_BYTES // 1024} KiB"
                too_big = InputError(f"The request body is {limit}.", [f"body: {limit}"])
                return JSONResponse(error_body(too_big), status_code=413)
            body = await request.body()
            if body:
                try:
                    read_json_document(body)
                except DocumentRefused as refused:
                    bad = InputError(f"The request body {refused}.", [f"body: {refused}"])
                    return JSONResponse(
                        error_body(bad), status_code=413 if len(body) > MAX_DOCUMENT_BYTES else 422
                    )
        return await call_next(request)

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, error: ServiceError) -> JSONResponse:
        if isinstance(error, NotPermitted):
            await run_in_threadpool(record_refusal, request, error)
        headers = {"WWW-Authenticate": "Bearer"} if error.http_status == 401 else None
        return JSONResponse(error_body(error), status_code=error.http_status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = list(dict.fromkeys(describe_request_problem(detail) for detail in error.errors()))
        listed = "\n".join(f"  - {p}" for p in problems)
        refused = InputError(f"The request was refused ({len(problems)} problem(s)):\n{listed}", problems)
        return JSONResponse(error_body(refused), status_code=422)

    @app.exception_handler(sqlalchemy.exc.DBAPIError)
    async def database_error(request: Request, error: sqlalchemy.exc.DBAPIError) -> JSONResponse:
        # parameters are hidden by the engine: no personal data in the message
        log.warning("database error on %s: %s", request.url.path, type(error.orig).__name__)
        down = Unavailable(f"Postgres could not be used ({type(error.orig).__name__}); try again shortly.")
        return JSONResponse(error_body(down), status_code=503)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        ref = uuid.uuid4().hex[:12]
        log.exception("unexpected error %s on %s", ref, request.url.path)
        failed = ServiceError(
            f"The service failed unexpectedly (reference {ref}); nothing more is known here."
        )
        return JSONResponse(error_body(failed), status_code=500)

    for module in (health, referrals, cases, tasks, enforcement, records, reports, audit, retention, codec):
        app.include_router(module.router)
    if settings is not None and settings.training:  # the training routes exist only on a training stack

        @app.middleware("http")
        async def training_is_marked(request: Request, call_next: Any) -> Any:
            response = await call_next(request)
            response.headers[MODE_HEADER] = "training"
            return response

        app.include_router(training.router)
    return app


def app() -> FastAPI:
    """For `uvicorn --factory api.app:app`."""
    return create_app(load_settings())
