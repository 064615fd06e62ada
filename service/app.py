"""The Litestar application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service import db
from service.auth import authentication_middleware, caller_of
from service.dashboard.controller import DashboardController, dashboard_static_files, dashboard_templates
from service.errors import EXCEPTION_HANDLERS, problem_details_plugin
from service.inventory.controller import InventoryController
from service.jobs import all_jobs
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

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        if session_maker is not None:  # given by the caller (tests): already in the state
            yield
            return
        if not settings.database_url:
            raise RuntimeError("create_app needs settings.database_url or a session_maker")
        engine = db.create_engine(settings.database_url)
        app.state.session_maker = db.session_maker(engine)
        try:
            yield
        finally:
            await engine.dispose()

    return Litestar(
        route_handlers=[
            health, ready, ReferenceController, InventoryController, ReferralController, MatchingController,
            OfferController, WebhookController, ReportController,
            DashboardController, WorkspaceController, ApiReferenceController,
            dashboard_static_files(WORKSPACE_STATIC),
        ],
        dependencies={"session": Provide(db.provide_session), "caller": Provide(_provide_caller, sync_to_thread=False)},
        middleware=[authentication_middleware()],
        plugins=[problem_details_plugin()],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=[database, scheduler_lifespan(all_jobs(settings))],  # scheduler after the engine
        state=State({"settings": settings, "session_maker": session_maker,
                     "solve_gate": SolveGate(settings.solves_per_key, settings.solves_at_once)}),
        openapi_config=openapi_config(),
        template_config=dashboard_templates(WORKSPACE_TEMPLATES, functions={"rows_for": workspace_forms.rows}),
    )
