"""The workspace: pages where providers and officers do the day's work, and the admin's home.

Server-rendered forms that work without JavaScript. Every page finds its caller from the session
cookie of /login (the dashboard's), checks the role as the API's guard does, and calls the feature
services (which check scope) directly, never HTTP to itself. Every form that changes something
carries the session's CSRF token and must come from this site. A refused form is shown again with
what was typed and the API's problem details in plain words next to the field at fault.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import PAGE_HEADERS, PathId, same_origin
from service.caller import Caller, Role
from service.dashboard import service as sessions
from service.errors import DomainError
from service.workspace import forms, pages

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
T = TypeVar("T")

ADMIN, OFFICER, PROVIDER, COMMISSIONER = Role.ADMIN, Role.OFFICER, Role.PROVIDER, Role.COMMISSIONER
# Who may open each kind of page: the same roles as the API routes behind it (CONTRACT sections 2 and 4).
DESK = {PROVIDER, ADMIN}
OFFERS = {PROVIDER, OFFICER, ADMIN}
CASELOAD = {OFFICER, ADMIN}
OFFICER_ONLY = {OFFICER}
PLACEMENTS = {PROVIDER, OFFICER, ADMIN}
MATCH_RUNS = {OFFICER, ADMIN}


class Stop(Exception):
    """Answer now with this response (sign-in needed, wrong role, a forged form)."""

    def __init__(self, response: Response[Any]):
        super().__init__("stop")
        self.response = response


def _stop(_: Request[Any, Any, Any], exc: Stop) -> Response[Any]:
    return exc.response


def _refused(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    """A page the caller may not see, or that does not exist: a page that says so, with the status."""
    context = dict(getattr(request.state, "page", {}))
    titles = {404: "Page not found", 403: "You cannot open this page", 409: "That cannot be done now"}
    context.update(title=titles.get(exc.status, "There is a problem"),
                   message="We could not find that. It may belong to another council or provider."
                   if exc.status == 404 else forms.sentence(exc.detail))
    return Template("workspace/error.html", context=context, status_code=exc.status,
                    headers=PAGE_HEADERS)


def _multi(data: Any) -> dict[str, list[str]]:
    return {key: [v for v in data.getall(key) if isinstance(v, str)] for key in data}


async def _page(
    request: Request[Any, Any, Any], session: AsyncSession, roles: set[Role]
) -> tuple[Caller, dict[str, Any]]:
    """The signed-in caller of one of these roles and the layout's context; otherwise the sign-in or a 403."""
    token = request.cookies.get(sessions.COOKIE_NAME)
    caller = await sessions.signed_in(session, token)
    if caller is None:
        raise Stop(Redirect("/login", status_code=303))
    context: dict[str, Any] = {
        "caller": caller, "who": await sessions.describe(session, caller),
        "csrf_token": sessions.csrf_token(token or ""), "request_path": request.url.path,
    }
    request.state.page = context
    if caller.role not in roles:
        raise Stop(Template("forbidden.html", status_code=403, headers=PAGE_HEADERS, context={
            **context, "home": sessions.home_of(caller), "message": "This page is not part of your role's work."}))
    if request.method == "GET":
        sessions.page_viewed(session, caller, request.url.path)
    return caller, context


async def _posted(
    request: Request[Any, Any, Any], session: AsyncSession, roles: set[Role]
) -> tuple[Caller, dict[str, Any], dict[str, list[str]]]:
    """As _page, for a form that changes something: it must come from this site with this session's token."""
    caller, context = await _page(request, session, roles)
    data = _multi(await request.form())
    if not same_origin(request) or not sessions.csrf_ok(request.cookies.get(sessions.COOKIE_NAME),
                                                        forms.first(data, "csrf_token")):
        raise Stop(Template("forbidden.html", status_code=403, headers=PAGE_HEADERS, context={
            **context, "home": sessions.home_of(caller),
            "message": "This form has expired or was sent from another site. Go back, reload the page and try again."}))
    return caller, context, data


async def _attempt(session: AsyncSession, form: forms.Form, call: Callable[[], Awaitable[T]],
                   to_field: Callable[[str], str] = lambda _: "", fallback: str = "") -> T | None:
    """Run a change in a savepoint: on a refusal nothing of it stays, and the form shows why."""
    try:
        async with session.begin_nested():
            return await call()
    except (DomainError, msgspec.ValidationError) as refusal:
        forms.refusal(form, refusal, to_field, fallback)
        return None


def _back(path: str, note: str | None = None) -> Redirect:
    """After a change: see the result (303, so a reload does not send the form again)."""
    return Redirect(path + (f"?done={note}" if note else ""), status_code=303)


def _render(name: str, context: dict[str, Any], status: int = 200) -> Template:
    return Template(f"workspace/{name}", context=context, status_code=status)


class WorkspaceController(Controller):
    """Pages for providers, officers and admin under /workspace."""

    path = "/workspace"
    include_in_schema = False
    response_headers = PAGE_HEADERS
    exception_handlers = {Stop: _stop, DomainError: _refused}

    # --- admin ------------------------------------------------------------------------------------

    @get("/admin")
    async def admin_home(self, request: Request[Any, Any, Any], session: AsyncSession) -> Template:
        """The admin's home: a link to every page, the API reference and key management."""
        _, context = await _page(request, session, {ADMIN})
        return _render("admin.html", context)

    @get("/keys")
    async def keys(self, request: Request[Any, Any, Any], session: AsyncSession, offset: int = 0,
                   done: str | None = None) -> Template:
        """Key management: who holds a key, and Revoke."""
        _, context = await _page(request, session, {ADMIN})
        context.update(await pages.keys(session, offset), done=done, form=forms.Form())
        return _render("keys.html", context)

    @post("/keys/{key_id:int}/revoke", status_code=303)
    async def revoke_key(self, request: Request[Any, Any, Any], session: AsyncSession,
                         key_id: PathId) -> Response[Any]:
        """Revoke a key: it gets 401 from now on, in every process."""
        caller, context, _ = await _posted(request, session, {ADMIN})
        form = forms.Form()
        revoked = await _attempt(session, form, lambda: pages.revoke_key(session, caller, key_id),
                                 fallback=f"key-{key_id}")
        if revoked is not None:
            return _back("/workspace/keys", "revoked")
        context.update(await pages.keys(session, 0), done=None, form=form)
        return _render("keys.html", context, 404)

    # --- officers: caseload, referrals, proposals ---------------------------------------------------

    @get("/caseload")
    async def caseload(self, request: Request[Any, Any, Any], session: AsyncSession, state: State,
                       status: str = "open", offset: int = 0) -> Template:
        """The open referrals, oldest first, with what suits each now."""
        caller, context = await _page(request, session, CASELOAD)
        context.update(await pages.caseload(session, caller, status, offset, state.settings.stale_after))
        return _render("caseload.html", context)

    @get("/referrals/new")
    async def new_referral(self, request: Request[Any, Any, Any], session: AsyncSession) -> Template:
        """The household form, empty."""
        _, context = await _page(request, session, OFFICER_ONLY)
        context.update(pages.household_choices(), form=forms.Form(values={"referred_on": date.today().isoformat()}),
                       editing=None)
        return _render("referral_form.html", context)

    @post("/referrals/new", status_code=303)
    async def create_referral(self, request: Request[Any, Any, Any], session: AsyncSession) -> Response[Any]:
        """Register the household; the form again with its errors when refused."""
        caller, context, data = await _posted(request, session, OFFICER_ONLY)
        form, body = forms.household_form(data, await pages.authority_names(session))
        referral = None
        if form.ok:
            referral = await _attempt(session, form, lambda: pages.create_referral(session, caller, body),
                                      forms.household_field, "risk")
        if referral is None:
            context.update(pages.household_choices(), form=form, editing=None)
            return _render("referral_form.html", context, 422 if form.errors else 200)
        return _back(f"/workspace/referrals/{referral.id}", "created")

    @get("/referrals/{referral_id:int}")
    async def referral(self, request: Request[Any, Any, Any], session: AsyncSession, referral_id: PathId,
                       done: str | None = None) -> Template:
        """A referral: its household, offers and placement; Find units, Edit, Close."""
        caller, context = await _page(request, session, CASELOAD)
        context.update(await pages.referral(session, caller, referral_id), done=done, form=forms.Form(),
                       close_choices=pages.close_choices())
        return _render("referral.html", context)

    @get("/referrals/{referral_id:int}/edit")
    async def edit_referral(self, request: Request[Any, Any, Any], session: AsyncSession,
                            referral_id: PathId) -> Template:
        """The household form, filled in from the referral; it sends the version it showed (If-Match)."""
        caller, context = await _page(request, session, OFFICER_ONLY)
        referral = await pages.referral_for_edit(session, caller, referral_id)
        context.update(pages.household_choices(), form=forms.Form(values=forms.referral_values(referral)),
                       editing=referral)
        return _render("referral_form.html", context)

    @post("/referrals/{referral_id:int}/edit", status_code=303)
    async def update_referral(self, request: Request[Any, Any, Any], session: AsyncSession,
                              referral_id: PathId) -> Response[Any]:
        """Change the household (PATCH with If-Match): a stale version is refused and the form kept."""
        caller, context, data = await _posted(request, session, OFFICER_ONLY)
        referral = await pages.referral_for_edit(session, caller, referral_id)
        current = referral.version
        form, body = forms.household_form(data, await pages.authority_names(session), referral.referred_on)
        changed = None
        if form.ok:
            changed = await _attempt(
                session, form, lambda: pages.update_referral(session, caller, referral_id, body,
                                                             forms.version_of(data)),
                forms.household_field, "risk")
        if changed is None:
            if form.values.get("conflict"):  # saving again overwrites what the other person saved
                form.values["version"] = str(current)
            context.update(pages.household_choices(), form=form, editing=referral)
            return _render("referral_form.html", context, 412 if form.values.get("conflict") else 422)
        return _back(f"/workspace/referrals/{referral_id}", "changed")

    @get("/referrals/{referral_id:int}/proposals")
    async def proposals(self, request: Request[Any, Any, Any], session: AsyncSession, state: State,
                        referral_id: PathId) -> Template:
        """Find units: the units that suit the household, best first, each with Make offer."""
        caller, context = await _page(request, session, OFFICER_ONLY)
        context.update(await pages.proposals(session, state.session_maker, caller, referral_id,
                                                   state.settings.stale_after))
        return _render("proposals.html", context)

    @post("/referrals/{referral_id:int}/close", status_code=303)
    async def close_referral(self, request: Request[Any, Any, Any], session: AsyncSession,
                             referral_id: PathId) -> Response[Any]:
        """Close the referral with an outcome and a reason."""
        caller, context, data = await _posted(request, session, OFFICER_ONLY)
        form = forms.Form(values={"outcome": forms.first(data, "outcome"), "reason": forms.first(data, "reason")})
        outcome = forms.choice(data, "outcome", forms.CLOSE_OUTCOMES)
        if outcome is None:
            form.error("outcome", "Choose the outcome")
        if not form.values["reason"]:
            form.error("reason", "Choose the reason")
        if form.ok:
            closed = await _attempt(session, form, lambda: pages.close_referral(
                session, caller, referral_id, outcome or "", form.values["reason"]), lambda f: f, "outcome")
            if closed is not None:
                return _back(f"/workspace/referrals/{referral_id}", "closed")
        context.update(await pages.referral(session, caller, referral_id), done=None, form=form,
                       close_choices=pages.close_choices())
        return _render("referral.html", context, 422)

    # --- offers ----------------------------------------------------------------------------------

    @post("/offers", status_code=303)
    async def make_offer(self, request: Request[Any, Any, Any], session: AsyncSession,
                         state: State) -> Response[Any]:
        """Make offer: hold the unit for the household; the proposals again with the reason when refused."""
        caller, context, data = await _posted(request, session, OFFICER_ONLY)
        referral_id, unit_id = forms.first(data, "referral_id"), forms.first(data, "unit_id")
        if not (referral_id.isdigit() and unit_id.isdigit()) or len(referral_id) > 9 or len(unit_id) > 9:
            raise DomainError("Choose a unit from the list of proposals.")
        form = forms.Form()
        made = await _attempt(session, form, lambda: pages.make_offer(
            session, caller, int(referral_id), int(unit_id), state.settings.offer_hold),
            lambda _: f"unit-{unit_id}", f"unit-{unit_id}")
        if made is not None:
            return _back(f"/workspace/referrals/{referral_id}", "offered")
        context.update(await pages.proposals(session, state.session_maker, caller, int(referral_id),
                                                   state.settings.stale_after),
                       form=form)
        return _render("proposals.html", context, 409)

    @get("/offers")
    async def offers(self, request: Request[Any, Any, Any], session: AsyncSession, status: str = "pending",
                     offset: int = 0) -> Template:
        """Offers: on the provider's units (with the household while pending) or for the officer's referrals."""
        caller, context = await _page(request, session, OFFERS)
        context.update(await pages.offers_list(session, caller, status, offset))
        return _render("offers.html", context)

    @get("/offers/{offer_id:int}")
    async def offer(self, request: Request[Any, Any, Any], session: AsyncSession, offer_id: PathId) -> Template:
        """One offer: the household (for the unit's provider), Accept and Decline with a reason."""
        caller, context = await _page(request, session, OFFERS)
        context.update(await pages.offer(session, caller, offer_id), form=forms.Form())
        return _render("offer.html", context)

    @post("/offers/{offer_id:int}/accept", status_code=303)
    async def accept(self, request: Request[Any, Any, Any], session: AsyncSession,
                     offer_id: PathId) -> Response[Any]:
        """Accept: the household moves in; to the placement."""
        caller, context, _ = await _posted(request, session, {PROVIDER})
        form = forms.Form()
        placement = await _attempt(session, form, lambda: pages.accept(session, caller, offer_id),
                                   fallback="accept")
        if placement is not None:
            return _back(f"/workspace/placements/{placement.id}", "accepted")
        context.update(await pages.offer(session, caller, offer_id), form=form)
        return _render("offer.html", context, 409)

    @post("/offers/{offer_id:int}/decline", status_code=303)
    async def decline(self, request: Request[Any, Any, Any], session: AsyncSession,
                      offer_id: PathId) -> Response[Any]:
        """Decline with a reason; the unit is free again."""
        caller, context, data = await _posted(request, session, {PROVIDER, OFFICER})
        form = forms.Form(values={"reason": forms.first(data, "reason")})
        reason = forms.choice(data, "reason", forms.DECLINE_REASONS)
        if reason is None:
            form.error("reason", "Choose why the offer is declined")
        else:
            declined = await _attempt(session, form, lambda: pages.decline(session, caller, offer_id, reason),
                                      fallback="reason")
            if declined is not None:
                return _back("/workspace/offers", "declined")
        context.update(await pages.offer(session, caller, offer_id), form=form)
        return _render("offer.html", context, 422)

    @post("/offers/{offer_id:int}/withdraw", status_code=303)
    async def withdraw(self, request: Request[Any, Any, Any], session: AsyncSession,
                       offer_id: PathId) -> Response[Any]:
        """Withdraw a pending offer (the referral's officer); the unit is free again."""
        caller, context, _ = await _posted(request, session, OFFICER_ONLY)
        form = forms.Form()
        withdrawn = await _attempt(session, form, lambda: pages.withdraw(session, caller, offer_id),
                                   fallback="withdraw")
        if withdrawn is not None:
            return _back(f"/workspace/referrals/{withdrawn.referral_id}", "withdrawn")
        context.update(await pages.offer(session, caller, offer_id), form=form)
        return _render("offer.html", context, 409)

    # --- match runs ------------------------------------------------------------------------------

    @get("/match-runs")
    async def match_runs(self, request: Request[Any, Any, Any], session: AsyncSession) -> Template:
        """Recent match runs and a button to run one."""
        caller, context = await _page(request, session, MATCH_RUNS)
        context.update(runs=await pages.recent_runs(session, caller), form=forms.Form())
        return _render("match_runs.html", context)

    @post("/match-runs", status_code=303)
    async def run_matching(self, request: Request[Any, Any, Any], session: AsyncSession,
                           state: State) -> Response[Any]:
        """Run matching over every open referral in scope and every available unit."""
        caller, context, _ = await _posted(request, session, MATCH_RUNS)
        form = forms.Form()
        run = await _attempt(session, form, lambda: pages.run_matching(
            state.session_maker, caller, state.settings, state.solve_gate), fallback="run")
        if run is not None:
            return _back(f"/workspace/match-runs/{run.id}")
        context.update(runs=await pages.recent_runs(session, caller), form=form)
        return _render("match_runs.html", context, 422)

    @get("/match-runs/{run_id:int}")
    async def match_run(self, request: Request[Any, Any, Any], session: AsyncSession, run_id: PathId) -> Template:
        """A match run: the proposed pairs, and every household left out with the reasons."""
        caller, context = await _page(request, session, MATCH_RUNS)
        context.update(await pages.match_run(session, caller, run_id))
        return _render("match_run.html", context)

    # --- placements ------------------------------------------------------------------------------

    @get("/placements")
    async def placements(self, request: Request[Any, Any, Any], session: AsyncSession, ended: bool = False,
                         offset: int = 0) -> Template:
        """Households living in the provider's units, or placed by the officer's council."""
        caller, context = await _page(request, session, PLACEMENTS)
        context.update(await pages.placements(session, caller, ended, offset))
        return _render("placements.html", context)

    @get("/placements/{placement_id:int}")
    async def placement(self, request: Request[Any, Any, Any], session: AsyncSession, placement_id: PathId,
                        done: str | None = None) -> Template:
        """A placement with the refuge's address, and End placement."""
        caller, context = await _page(request, session, PLACEMENTS)
        context.update(await pages.placement(session, caller, placement_id), done=done,
                       form=forms.Form(values={"ended_on": date.today().isoformat()}))
        return _render("placement.html", context)

    @post("/placements/{placement_id:int}/end", status_code=303)
    async def end_placement(self, request: Request[Any, Any, Any], session: AsyncSession,
                            placement_id: PathId) -> Response[Any]:
        """End placement: the date the household left and where it went; the unit is free again."""
        caller, context, data = await _posted(request, session, {PROVIDER, OFFICER})
        form = forms.Form(values={"ended_on": forms.first(data, "ended_on"),
                                  "destination": forms.first(data, "destination")})
        ended_on = forms.parse_date(form, "ended_on", form.values["ended_on"], "the date the household left",
                                    required=True)
        destination = forms.choice(data, "destination", forms.DESTINATIONS)
        if destination is None:
            form.error("destination", "Choose where the household went")
        if form.ok and ended_on is not None and destination is not None:
            ended = await _attempt(session, form, lambda: pages.end_placement(
                session, caller, placement_id, ended_on, destination), lambda f: f, "ended_on")
            if ended is not None:
                return _back(f"/workspace/placements/{placement_id}", "ended")
        context.update(await pages.placement(session, caller, placement_id), done=None, form=form)
        return _render("placement.html", context, 422)

    # --- the provider's desk ---------------------------------------------------------------------

    @get("/desk")
    async def desk(self, request: Request[Any, Any, Any], session: AsyncSession, state: State,
                   done: str | None = None) -> Template:
        """The provider's units by scheme, with status and staleness; a form per unit; Confirm all vacancies."""
        caller, context = await _page(request, session, DESK)
        context.update(await pages.desk(session, caller, state.settings.stale_after), done=done,
                       forms_by_unit={})
        return _render("desk.html", context)

    @post("/desk/confirm", status_code=303)
    async def confirm_all(self, request: Request[Any, Any, Any], session: AsyncSession,
                          state: State) -> Response[Any]:
        """Confirm all vacancies: every unit's availability is marked as checked now."""
        caller, context, _ = await _posted(request, session, DESK)
        form = forms.Form()
        confirmed = await _attempt(session, form, lambda: pages.confirm_all(session, caller), fallback="confirm")
        if confirmed is not None:
            return _back("/workspace/desk", f"confirmed-{confirmed}")
        context.update(await pages.desk(session, caller, state.settings.stale_after), done=None,
                       forms_by_unit={}, form=form)
        return _render("desk.html", context, 409)

    @post("/units/{unit_id:int}/availability", status_code=303)
    async def availability(self, request: Request[Any, Any, Any], session: AsyncSession, state: State,
                           unit_id: PathId) -> Response[Any]:
        """Change one unit's availability, sending the version shown (If-Match): stale pages are refused."""
        caller, context, data = await _posted(request, session, DESK)
        prefix = f"unit-{unit_id}"
        form = forms.Form(values={"status": forms.first(data, "status"),
                                  "available_from": forms.first(data, "available_from")})
        status = forms.choice(data, "status", forms.STATUSES)
        if status is None:
            form.error(f"{prefix}-status", "Choose the unit's status")
        available_from = forms.parse_date(form, f"{prefix}-available_from", form.values["available_from"],
                                          "the date available from", required=False)
        if form.ok and status is not None:
            changed = await _attempt(session, form, lambda: pages.set_availability(
                session, caller, unit_id, status, available_from, forms.version_of(data)),
                lambda f: f"{prefix}-available_from" if f == "available_from" else "", f"{prefix}-status")
            if changed is not None:
                return _back("/workspace/desk", f"unit-{unit_id}")
        context.update(await pages.desk(session, caller, state.settings.stale_after), done=None,
                       forms_by_unit={unit_id: form}, form=form)
        return _render("desk.html", context, 409 if any("version" in m or "changed" in m
                                                         for m in form.errors.values()) else 422)


# Swagger UI sets inline style attributes as it draws, so styles (never scripts) may be inline here.
API_REFERENCE_HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "no-cache",
}
API_REFERENCE = b"""<!doctype html>
<html lang="en-GB">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>API reference \xc2\xb7 Safe accommodation service</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/static/swagger/swagger-ui.css">
  <script src="/static/swagger/swagger-ui-bundle.js" defer></script>
  <script src="/static/swagger/swagger-init.js" defer></script>
</head>
<body>
  <main id="swagger-ui"><noscript>The API reference needs JavaScript. The document itself is at
    <a href="/schema/openapi.json">/schema/openapi.json</a>.</noscript></main>
</body>
</html>
"""


class ApiReferenceController(Controller):
    """/schema/swagger: Swagger UI from the service's own vendored copy, so it works offline."""

    path = "/schema"
    include_in_schema = False

    @get("/swagger", media_type="text/html", response_headers=API_REFERENCE_HEADERS)
    async def swagger(self) -> bytes:
        """The API reference page."""
        return API_REFERENCE
