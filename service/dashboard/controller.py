"""HTTP for the dashboard: the sign-in form, the page, the annual return downloads, and their assets.

These routes are outside the Bearer middleware (service.auth.PUBLIC_*): each one finds its caller
from the session cookie itself and sends a visitor without a valid session to /login.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.router import Router
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import PAGE_HEADERS, same_origin
from service.caller import Caller
from service.dashboard import service
from service.db import utcnow
from service.errors import DomainError
from service.settings import Settings

HERE = Path(__file__).parent



def dashboard_templates(*more: Path, functions: dict[str, Any] | None = None) -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja templates of the dashboard, and of other pages that share its layout (autoescaped);
    `functions` become template globals."""

    def add_globals(engine: JinjaTemplateEngine) -> None:
        engine.engine.globals.update({"nav_links": service.nav_links, **(functions or {})})

    return TemplateConfig(directory=[HERE / "templates", *more], engine=JinjaTemplateEngine,
                          engine_callback=add_globals)


def dashboard_static_files(*more: Path) -> Router:
    """/static: the vendored Chart.js, the dashboard's own script and style sheet, and other pages' assets."""
    return create_static_files_router(
        path="/static", directories=[HERE / "static", *more], include_in_schema=False, name="dashboard-static",
    )


def _session_cookie(request: Request[Any, Any, Any], token: str, max_age: int) -> Cookie:
    settings: Settings = request.app.state.settings
    return Cookie(key=service.COOKIE_NAME, value=token, path="/", httponly=True, samesite="strict",
                  secure=settings.secure_cookies, max_age=max_age)


def _to_login() -> Redirect:
    return Redirect("/login", status_code=303)


async def _caller(request: Request[Any, Any, Any], session: AsyncSession) -> Caller | None:
    return await service.signed_in(session, request.cookies.get(service.COOKIE_NAME))


def _not_for_this_role(caller: Caller) -> Template:
    return Template("forbidden.html", status_code=403, context={
        "caller": caller, "home": service.home_of(caller),
        "message": "The dashboard is for commissioners and administrators."})


class DashboardController(Controller):
    """Sign-in, sign-out, the dashboard page and the annual return files."""

    include_in_schema = False
    response_headers = PAGE_HEADERS

    @get("/login")
    async def login_form(self, request: Request[Any, Any, Any], session: AsyncSession) -> Template | Redirect:
        """The sign-in form (a signed-in visitor goes straight to their home page)."""
        caller = await _caller(request, session)
        if caller is not None:
            return Redirect(service.home_of(caller), status_code=303)
        return Template("login.html", context={"error": None})

    @post("/login", status_code=303)
    async def login(self, request: Request[Any, Any, Any], session: AsyncSession) -> Template | Redirect:
        """Start a session for a key of any role and land on that role's home; an unknown key gets the form again."""
        if not same_origin(request):
            return Template("login.html", context={"error": "Sign in from this site's own form."}, status_code=403)
        await service.sign_out(session, request.cookies.get(service.COOKIE_NAME))  # a new sign-in, a new token
        form = await request.form()
        key = form.get("api_key")
        try:
            token, _ = await service.sign_in(session, key if isinstance(key, str) else "")
        except service.SignInRefused as refused:
            return Template("login.html", context={"error": refused.message}, status_code=refused.status)
        caller = await service.signed_in(session, token)
        assert caller is not None
        max_age = int(service.LIFETIME.total_seconds())
        return Redirect(service.home_of(caller), status_code=303, cookies=[_session_cookie(request, token, max_age)])

    @post("/logout", status_code=303)
    async def logout(self, request: Request[Any, Any, Any], session: AsyncSession) -> Redirect:
        """End the session and forget the cookie."""
        if same_origin(request):
            await service.sign_out(session, request.cookies.get(service.COOKIE_NAME))
        return Redirect("/login", status_code=303, cookies=[_session_cookie(request, "", 0)])

    @get("/dashboard")
    async def dashboard(
        self, request: Request[Any, Any, Any], session: AsyncSession, start: str | None = None,
        end: str | None = None, authority: str | None = None, characteristic: str | None = None,
        year: str | None = None,
    ) -> Template | Redirect:
        """The commissioners' page: occupancy, vacancies, unmet need, time to placement, capacity planning."""
        caller = await _caller(request, session)
        if caller is None:
            return _to_login()
        if caller.role not in service.DASHBOARD_ROLES:
            return _not_for_this_role(caller)
        service.page_viewed(session, caller, request.url.path)
        context: dict[str, Any] = {
            "caller": caller, "who": await service.describe(session, caller), "request_path": "/dashboard",
            "csrf_token": service.csrf_token(request.cookies.get(service.COOKIE_NAME) or ""),
            "authorities": await service.authority_choices(session, caller),
            "query": {"start": start or "", "end": end or "", "authority": authority or "", "year": year or ""},
            "error": None,
        }
        try:
            chosen = service.filters(caller, utcnow().date(), start=start, end=end, authority=authority,
                                     characteristic=characteristic, year=year)
        except DomainError as refused:
            context["error"] = refused.detail
            return Template("dashboard.html", context=context, status_code=refused.status)
        context["filters"] = chosen
        context["query"] = {"start": chosen.start.isoformat(), "end": chosen.end.isoformat(),
                            "authority": chosen.authority or "", "year": str(chosen.year)}
        context.update(await service.page(session, caller, chosen, request.app.state.settings.solve_time_limit))
        return Template("dashboard.html", context=context)

    async def _annual_return(
        self, request: Request[Any, Any, Any], session: AsyncSession, fmt: str, year: str | None,
        authority: str | None,
    ) -> Response[Any]:
        caller = await _caller(request, session)
        if caller is None:
            return _to_login()
        if caller.role not in service.DASHBOARD_ROLES:
            return _not_for_this_role(caller)
        body, media_type, name = await service.annual_return_file(session, caller, year, authority, fmt,
                                                                  utcnow().date())
        return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @get("/dashboard/annual-return.csv")
    async def annual_return_csv(
        self, request: Request[Any, Any, Any], session: AsyncSession, year: str | None = None,
        authority: str | None = None,
    ) -> Response[Any]:
        """The annual return as CSV."""
        return await self._annual_return(request, session, "csv", year, authority)

    @get("/dashboard/annual-return.xlsx")
    async def annual_return_xlsx(
        self, request: Request[Any, Any, Any], session: AsyncSession, year: str | None = None,
        authority: str | None = None,
    ) -> Response[Any]:
        """The annual return as an Excel workbook."""
        return await self._annual_return(request, session, "xlsx", year, authority)

    @get("/dashboard/annual-return.json")
    async def annual_return_json(
        self, request: Request[Any, Any, Any], session: AsyncSession, year: str | None = None,
        authority: str | None = None,
    ) -> Response[Any]:
        """The annual return as JSON."""
        return await self._annual_return(request, session, "json", year, authority)
