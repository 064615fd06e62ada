"""Authentication by API key and the guards every controller uses. Default deny."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult, DefineMiddleware
from litestar.params import HeaderParameter, PathParameter, QueryParameter
from litestar.types import Receive, Scope, Send

from service import db
from service.access import service as access
from service.caller import Caller, Role
from service.errors import Invalid
from service.vocabulary import INT32_MAX

log = logging.getLogger(__name__)

# Routes reachable without a key. Everything else needs one, and a guard naming its roles.
# The dashboard and the workspace (/login, /logout, /dashboard, /workspace...) check their own session cookie
# and role instead.
PUBLIC_PATHS = {"/health", "/ready", "/login", "/logout", "/metrics"}  # /metrics only when SAFEACCOM_METRICS=1
PUBLIC_PREFIXES = ("/schema", "/static", "/dashboard", "/workspace")

# A row id in a path: PostgreSQL integer keys, so 1 to 2**31 - 1 (larger ones are 400, not a database error).
PathId = Annotated[int, PathParameter(ge=1, le=INT32_MAX)]
# The version a change was based on (parse it with `parse_if_match`).
IfMatch = Annotated[str | None, HeaderParameter(name="If-Match", required=False, max_length=40)]
# A list's offset: bounded, so a huge one is 400, not a database error.
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000)]

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


class ApiKeyAuthentication(AbstractAuthenticationMiddleware):
    """Resolves `Authorization: Bearer <key>` to a Caller; 401 when missing or unknown.

    A key seen lately is answered from the process's KeyCache; otherwise it is looked up in the
    request's own session (the one the handler then uses), so a request opens one session at most.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:  # the handler's session dependency closes it; this covers requests refused first
            await db.close_request_session(scope)

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        scheme, _, key = connection.headers.get("authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise NotAuthorizedException("an API key is required: Authorization: Bearer <key>")
        state = connection.app.state
        key_digest = access.digest(key)
        cache: access.KeyCache | None = state.get("key_cache")
        caller = cache.get(key_digest) if cache is not None else None
        if caller is None:
            generation = cache.generation if cache is not None else 0
            if cache is not None and cache.stamped_lately(key_digest):
                # Looked up in the request's own session: the one the handler then uses.
                session = await db.begin_request_session(connection.scope, state.session_maker)
                found = await access.look_up(session, key_digest)
            else:
                # Not stamped lately: looked up and its use stamped (at most once a minute) in a short
                # transaction of its own, before the request's session exists: a long request never
                # holds the key's row, and a request never holds two connections at once.
                async with state.session_maker() as own, own.begin():
                    found = await access.look_up(own, key_digest)
                    if found is not None and access.use_due(found, db.utcnow()):
                        await access.note_use(own, found.caller.key_id)
                if found is not None and cache is not None:
                    cache.mark_stamped(key_digest)
            if found is not None:
                caller = found.caller
                if cache is not None:
                    expires_in = None if found.expires_at is None else (found.expires_at - db.utcnow()).total_seconds()
                    cache.put(key_digest, caller, generation, expires_in)
        if caller is None:
            raise NotAuthorizedException("unknown or revoked API key")
        return AuthenticationResult(user=caller, auth=None)


def authentication_middleware() -> DefineMiddleware:
    """The middleware, with the public routes excluded."""
    excluded = [f"^{path}$" for path in PUBLIC_PATHS] + [f"^{prefix}" for prefix in PUBLIC_PREFIXES]
    return DefineMiddleware(ApiKeyAuthentication, exclude=excluded)


def allow(*roles: Role) -> Guard:
    """A guard that lets only these roles through (403 for any other known key)."""
    allowed = frozenset(roles)

    # async: Litestar runs a synchronous guard in a worker thread, a thread hop on every request.
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        caller = connection.scope.get("user")
        if not isinstance(caller, Caller):
            raise NotAuthorizedException("an API key is required")
        if caller.role not in allowed:
            raise PermissionDeniedException(f"the {caller.role.value} role may not do this")

    guard.allowed_roles = allowed  # type: ignore[attr-defined]  # read by the default-deny test
    return guard


def etag(version: int) -> dict[str, str]:
    """The ETag header of a versioned record (a unit, a referral)."""
    return {"ETag": f'"{version}"'}


def parse_if_match(value: str | None) -> int | None:
    """A record's version from If-Match: bare (3), quoted ("3") or weak (W/"3"); None when absent."""
    if value is None:
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise Invalid("If-Match", "must be the record's version, e.g. 3 or \"3\"")
    return int(text)


def caller_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Caller:
    """The authenticated caller (a dependency)."""
    caller = connection.scope.get("user")
    if not isinstance(caller, Caller):
        raise NotAuthorizedException("an API key is required")
    return caller


# Headers of every web page (dashboard, workspace): everything a page loads comes from this service
# (scripts, styles, images, form targets), and it is never cached or framed.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",  # no-referrer would make form posts say Origin: null
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def same_origin(request: Request[Any, Any, Any]) -> bool:
    """A form post from this site's own pages (against login CSRF). Browsers say so in Sec-Fetch-Site
    (behind any proxy); older ones send Origin, compared with the host asked for. Scripts send neither."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in {"same-origin", "none"}
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    return urlsplit(origin).netloc == host
