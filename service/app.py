"""The Litestar application factory."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

import msgspec
import prometheus_client
import prometheus_client.multiprocess
from litestar import Litestar, Request, Response, get
from litestar.constants import RESERVED_KWARGS
from litestar.datastructures import State
from litestar.di import Provide
from litestar.enums import ParamType
from litestar.exceptions import PermissionDeniedException, ServiceUnavailableException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Schema,
    SecurityScheme,
)
from litestar.params import ParameterKwarg
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.routes import HTTPRoute
from litestar.types import Scope
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service import db, metrics
from service.access import service as access
from service.access.controller import KeyController
from service.audit import service as audit
from service.audit.controller import AuditController
from service.auth import authentication_middleware, caller_of
from service.caller import Caller
from service.dashboard.controller import DashboardController, dashboard_static_files, dashboard_templates
from service.errors import (
    ETAG,
    EXCEPTION_HANDLERS,
    PROBLEM_DESCRIPTIONS,
    RETRY_AFTER,
    DomainError,
    ProblemDetails,
    problem_details_plugin,
    statuses_of,
)
from service.inventory import service as inventory
from service.inventory.controller import InventoryController
from service.jobs import all_jobs
from service.logs import RequestLog
from service.matching.controller import MatchingController
from service.matching.service import SolveGate
from service.notifications import service as notifications
from service.notifications.controller import WebhookController
from service.offers.controller import OfferController
from service.reference.controller import ReferenceController
from service.referrals.controller import ReferralController
from service.reports.controller import ReportController
from service.scheduler import scheduler_lifespan
from service.settings import Settings
from service.support.controller import SupportController
from service.workspace import forms as workspace_forms
from service.workspace.controller import STATIC as WORKSPACE_STATIC
from service.workspace.controller import TEMPLATES as WORKSPACE_TEMPLATES
from service.workspace.controller import ApiReferenceController, WorkspaceController

API_VERSION = "1.0.0"

log = logging.getLogger(__name__)

# Collections under /api/v1 whose members are records: a refusal on one of their ids is an audit row.
RECORD_TYPES = {
    "referrals": "referral", "offers": "offer", "placements": "placement", "units": "unit", "schemes": "scheme",
    "webhooks": "webhook", "match-runs": "match_run", "keys": "api_key", "providers": "provider",
}
METHOD_ACTIONS = {"GET": "read", "PUT": "update", "PATCH": "update", "DELETE": "delete", "POST": "create"}


def refused_record(method: str, path: str) -> tuple[str, str, int] | None:
    """(action, record type, id) of a request on one record (`/api/v1/offers/7/accept`, its page
    `/workspace/offers/7`), else None."""
    parts = path.strip("/").split("/")
    parts = parts[2:] if parts[:2] == ["api", "v1"] else parts[1:] if parts[:1] == ["workspace"] else []
    if len(parts) < 2 or parts[0] not in RECORD_TYPES or not parts[1].isdigit():
        return None
    record_id = int(parts[1])
    if not 1 <= record_id < 2**31:
        return None
    action = parts[2] if len(parts) > 2 else METHOD_ACTIONS.get(method, method.lower())
    return action[:40], RECORD_TYPES[parts[0]], record_id


# The longest query value any route takes (a date, a code, a number); longer ones are refused.
MAX_QUERY_VALUE = 100


async def refuse_bad_query(request: Request[Any, Any, Any]) -> None:
    """400 for a query value with NUL (PostgreSQL text cannot hold it) or longer than any route needs."""
    for name, value in request.query_params.multi_items():
        message = None
        if "\x00" in name or "\x00" in value:
            message = "must not contain NUL"
        elif len(value) > MAX_QUERY_VALUE:
            message = f"must be at most {MAX_QUERY_VALUE} characters"
        if message:
            raise ValidationException(f"{name[:40]}: {message}",
                                      extra=[{"key": name[:40], "message": message, "source": "query"}])


async def audit_refusal(exc: Exception, scope: Scope) -> None:
    """A key refused on a record (403, or 404 for a record it may not know of) leaves an audit row."""
    refused = (isinstance(exc, DomainError) and exc.status in (403, 404)) or isinstance(exc, PermissionDeniedException)
    caller = scope.get("user")
    if not isinstance(caller, Caller):  # a page: the person its session cookie named
        page = (scope.get("state") or {}).get("page")
        caller = page.get("caller") if isinstance(page, dict) else None
    if not refused or not isinstance(caller, Caller) or scope["type"] != "http":
        return
    found = refused_record(str(scope.get("method", "")), scope["path"])
    if found is None:
        return
    action, record_type, record_id = found
    # The request's own transaction is rolled back by the refusal: end it first, so the row is not
    # undone with it and the request never holds two connections.
    await db.close_request_session(scope)
    try:
        await audit.record_denied(scope["app"].state.session_maker, caller, action, record_type, record_id)
    except Exception as error:  # the refusal is still answered; the log says the row is missing
        log.error("could not audit a refused %s on %s %s: %s", action, record_type, record_id, type(error).__name__)


@get("/health", tags=["operations"], include_in_schema=True)
async def health() -> dict[str, str]:
    """200 while the process is up."""
    return {"status": "ok"}


@get("/ready", tags=["operations"], opt={"problems": [503]})
async def ready(state: State) -> dict[str, str]:
    """200 when the database answers too, 503 (problem details, Retry-After) otherwise."""
    try:
        async with state.session_maker() as session:
            await session.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database means not ready
        raise ServiceUnavailableException("the database is not answering", headers={"Retry-After": "5"}) from None
    return {"status": "ok"}


class MetricsController(PrometheusController):
    """GET /metrics (SAFEACCOM_METRICS=1): Prometheus text; the database-derived gauges are read first."""

    include_in_schema = False

    @get()
    async def get(self, state: State) -> Response[bytes]:
        settings: Settings = state.settings
        try:
            async with state.session_maker() as session:
                backlog = await notifications.backlog(session)
                stale = await inventory.stale_counts(session, settings.stale_after)
        except Exception:  # metrics answer even when the database does not; the gauges keep their last values
            log.warning("metrics: the database gauges could not be read")
        else:
            metrics.set_gauge(metrics.WEBHOOK_BACKLOG, {state_: float(n) for state_, n in backlog.items()})
            metrics.set_gauge(metrics.STALE_VACANCIES, {str(p): float(n) for p, n in stale.items()})
        registry = prometheus_client.REGISTRY
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # several workers: add up what each wrote
            registry = prometheus_client.CollectorRegistry()
            prometheus_client.multiprocess.MultiProcessCollector(registry)
        return Response(prometheus_client.generate_latest(registry),
                        media_type=prometheus_client.CONTENT_TYPE_LATEST)


def prometheus_config() -> PrometheusConfig:
    """Request counts and latencies by route template (not by path: ids would make a series each)."""
    return PrometheusConfig(
        app_name="safeaccom", prefix=metrics.PREFIX, group_path=True, exclude=["^/metrics", "^/schema", "^/static"],
    )


def _provide_caller(request: Request[Any, Any, Any], session: AsyncSession) -> Any:
    # Takes the session (authentication looked the key up in it) so that Litestar resolves the two
    # one after the other: dependencies of one level are resolved in an anyio task group, which
    # costs more than either of them.
    return caller_of(request)


def openapi_config() -> OpenAPIConfig:
    """The OpenAPI document served at /schema/openapi.json and committed as api_spec/openapi.json."""
    return OpenAPIConfig(
        title="Safe accommodation capacity and placement service",
        version=API_VERSION,
        path="/schema",
        render_plugins=[JsonRenderPlugin()],  # Swagger UI: service.workspace, from vendored files
        components=Components(
            security_schemes={"ApiKey": SecurityScheme(type="http", scheme="bearer", description="API key")}
        ),
        security=[{"ApiKey": []}],
    )


def create_app(
    settings: Settings, session_maker: async_sessionmaker[AsyncSession] | None = None
) -> Litestar:
    """Build the app; with no session_maker, the lifespan opens an engine on settings.database_url."""

    key_cache = access.KeyCache(settings.key_cache_seconds)

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        if session_maker is not None:  # given by the caller (tests): already in the state
            yield
            return
        if not settings.database_url:
            raise RuntimeError("create_app needs settings.database_url or a session_maker")
        engine = db.create_engine(settings.database_url, pool_size=settings.db_pool_size)
        app.state.session_maker = db.session_maker(engine)
        # One-statement requests: up to half the pool, without SQLAlchemy's checkout (none for a pool of one).
        lane_size = db.StatementLane.size_for(settings.db_pool_size)
        lane = db.StatementLane(engine, lane_size) if lane_size else None
        setattr(app.state, db.STATEMENT_LANE, lane)
        # Keys are cached only while this process hears revocations (LISTEN); see access.KeyCache.
        listener = None
        if settings.key_cache_seconds > 0:
            dsn = db.libpq_url(settings.database_url)
            listener = asyncio.create_task(access.listen_for_revocations(dsn, key_cache))
        # Everything built at start-up (modules, the app, its routes and schemas) is moved out of the
        # cyclic collector's reach: a full collection then scans only what requests left, not a few
        # hundred thousand long-lived objects (a pause of tens of milliseconds under load).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
            try:
                if lane is not None:
                    await lane.close()
            finally:
                await engine.dispose()

    app = Litestar(
        route_handlers=[
            *([MetricsController] if settings.metrics else []),
            health, ready, ReferenceController, InventoryController, ReferralController, MatchingController,
            OfferController, WebhookController, ReportController, KeyController, AuditController, SupportController,
            DashboardController, WorkspaceController, ApiReferenceController,
            dashboard_static_files(WORKSPACE_STATIC),
        ],
        dependencies={"session": Provide(db.provide_session), "caller": Provide(_provide_caller, sync_to_thread=False)},
        middleware=[*([prometheus_config().middleware] if settings.metrics else []), authentication_middleware()],
        plugins=[problem_details_plugin()],
        after_exception=[audit_refusal],
        before_request=refuse_bad_query,
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=[database, scheduler_lifespan(all_jobs(settings))],  # scheduler after the engine
        state=State({"settings": settings, "session_maker": session_maker,
                     "key_cache": key_cache,
                     "solve_gate": SolveGate(settings.solves_per_key, settings.solves_at_once)}),
        openapi_config=openapi_config(),
        template_config=dashboard_templates(WORKSPACE_TEMPLATES, functions={"rows_for": workspace_forms.rows}),
        logging_config=None,  # configured by the process (service.logs, via uvicorn), not by each app
    )
    document_problems(app)
    # Outermost: every request (unmatched paths and refusals included) gets an id and one log line.
    app.asgi_handler = RequestLog(app.asgi_handler)  # type: ignore[arg-type,assignment]
    return app


@functools.cache
def _operation_class(success_headers: frozenset[str], media_types: tuple[str, ...] = ()) -> type[Operation]:
    """An Operation that adds the headers the table says: Retry-After on 429 and 503, ETag on 412,
    and the named success headers (ETag, Idempotent-Replayed) on 2xx answers; and the other media
    types a route's 2xx answer may have (`opt={"media_types": [...]}`, e.g. a report as CSV)."""

    @dataclasses.dataclass
    class DocumentedOperation(Operation):
        def __post_init__(self) -> None:
            for status, response in (self.responses or {}).items():
                if not isinstance(response, OpenAPIResponse):
                    continue
                wanted: dict[str, dict[str, Any]] = {}
                if status in ("429", "503"):
                    wanted["Retry-After"] = RETRY_AFTER
                if status == "412":
                    wanted["ETag"] = ETAG
                if status.startswith("2"):
                    wanted.update({name: SUCCESS_HEADERS[name] for name in sorted(success_headers)})
                    for media_type in media_types:
                        response.content = response.content or {}
                        binary = None if media_type.startswith("text/") else OpenAPIFormat.BINARY
                        response.content.setdefault(
                            media_type, OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, format=binary)))
                for name, spec in wanted.items():
                    response.headers = response.headers or {}
                    response.headers.setdefault(name, OpenAPIHeader(
                        description=spec["description"], required=False, schema=Schema(**spec["schema"])))

    return DocumentedOperation


SUCCESS_HEADERS = {
    "ETag": ETAG,
    "Idempotent-Replayed": {"description": "true when this is the stored answer to an earlier request with the "
                            "same Idempotency-Key", "schema": {"type": "string", "enum": ["true"]}},
}


def _returns_a_version(handler: HTTPRouteHandler) -> bool:
    returned = handler.parsed_fn_signature.return_type
    inner = returned.inner_types[0].annotation if returned.inner_types else returned.annotation
    return isinstance(inner, type) and issubclass(inner, msgspec.Struct) and "version" in inner.__struct_fields__


def document_problems(app: Litestar) -> None:
    """Every API route documents each problem it can answer (errors.statuses_of), as problem+json.

    Derived from what each route is (its guards, path, parameters, body and method), so routes
    added later are covered too; a handler may name more statuses in `opt={"problems": [...]}`.
    """
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema() or handler.http_methods == {"OPTIONS"}:
                continue
            parameters = handler.parsed_fn_signature.parameters
            headers = {
                field.kwarg_definition.name: field.kwarg_definition for field in parameters.values()
                if isinstance(field.kwarg_definition, ParameterKwarg)
                and field.kwarg_definition.param_type is ParamType.HEADER and field.kwarg_definition.name
            }
            if_match = headers.get("If-Match")
            dependencies = handler.resolve_dependencies()
            guarded = any(getattr(g, "allowed_roles", None) for g in handler.resolve_guards())
            statuses = statuses_of(
                guarded=guarded,
                path_params=bool(route.path_parameters),
                has_input="data" in parameters or any(
                    name not in RESERVED_KWARGS and name not in route.path_parameters and name not in dependencies
                    for name in parameters
                ),
                writes=bool(handler.http_methods & {"POST", "PUT", "PATCH", "DELETE"}),
                if_match=None if if_match is None else ("required" if if_match.required else "optional"),
                extra=handler.opt.get("problems", ()),
            )
            responses = dict(handler.responses or {})
            for status in sorted(statuses):
                responses.setdefault(status, ResponseSpec(
                    data_container=ProblemDetails, media_type="application/problem+json",
                    description=PROBLEM_DESCRIPTIONS.get(status, HTTPStatus(status).phrase), generate_examples=False,
                ))
            handler.responses = responses
            success = {"Idempotent-Replayed"} if "Idempotency-Key" in headers else set()
            if if_match is not None or _returns_a_version(handler):
                success.add("ETag")
            handler.operation_class = _operation_class(frozenset(success), tuple(handler.opt.get("media_types", ())))


def app_from_env() -> Litestar:
    """The app of one `safeaccom serve --workers N` process, configured from the environment."""
    return create_app(Settings.from_env())
