"""The Litestar application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import PermissionDeniedException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import Scope
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service import db
from service.access import service as access
from service.access.controller import KeyController
from service.audit import service as audit
from service.audit.controller import AuditController
from service.auth import authentication_middleware, caller_of
from service.caller import Caller
from service.dashboard.controller import DashboardController, dashboard_static_files, dashboard_templates
from service.errors import EXCEPTION_HANDLERS, DomainError, problem_details_plugin
from service.inventory.controller import InventoryController
from service.jobs import all_jobs
from service.logs import RequestLog
from service.matching.controller import MatchingController
from service.matching.service import SolveGate
from service.notifications.controller import WebhookController
from service.offers.controller import OfferController
from service.reference.controller import ReferenceController
from service.referrals.controller import ReferralController
from service.reports.controller import ReportController
from service.scheduler import scheduler_lifespan
from service.settings import Settings
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
    try:
        await audit.record_denied(scope["app"].state.session_maker, caller, action, record_type, record_id)
    except Exception as error:  # the refusal is still answered; the log says the row is missing
        log.error("could not audit a refused %s on %s %s: %s", action, record_type, record_id, type(error).__name__)


@get("/health", tags=["operations"], include_in_schema=True)
async def health() -> dict[str, str]:
    """200 while the process is up."""
    return {"status": "ok"}


@get("/ready", tags=["operations"])
async def ready(state: State) -> Response[dict[str, str]]:
    """200 when the database answers too, 503 otherwise."""
    try:
        async with state.session_maker() as session:
            await session.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database means not ready
        return Response({"status": "database unavailable"}, status_code=503)
    return Response({"status": "ok"})


def _provide_caller(request: Request[Any, Any, Any]) -> Any:
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
        engine = db.create_engine(settings.database_url)
        app.state.session_maker = db.session_maker(engine)
        # Keys are cached only while this process hears revocations (LISTEN); see access.KeyCache.
        listener = None
        if settings.key_cache_seconds > 0:
            dsn = db.libpq_url(settings.database_url)
            listener = asyncio.create_task(access.listen_for_revocations(dsn, key_cache))
        try:
            yield
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
            await engine.dispose()

    app = Litestar(
        route_handlers=[
            health, ready, ReferenceController, InventoryController, ReferralController, MatchingController,
            OfferController, WebhookController, ReportController, KeyController, AuditController,
            DashboardController, WorkspaceController, ApiReferenceController,
            dashboard_static_files(WORKSPACE_STATIC),
        ],
        dependencies={"session": Provide(db.provide_session), "caller": Provide(_provide_caller, sync_to_thread=False)},
        middleware=[authentication_middleware()],
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
    # Outermost: every request (unmatched paths and refusals included) gets an id and one log line.
    app.asgi_handler = RequestLog(app.asgi_handler)  # type: ignore[arg-type,assignment]
    return app


def app_from_env() -> Litestar:
    """The app of one `safeaccom serve --workers N` process, configured from the environment."""
    return create_app(Settings.from_env())
