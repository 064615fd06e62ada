"""The domain error tree and its map to RFC 9457 problem details."""

from __future__ import annotations

import logging
import re
import socket
import traceback
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from service.logs import request_id

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A refusal the caller can act on; `status` is its HTTP status."""

    status = 400

    def __init__(
        self, detail: str, *, errors: Sequence[dict[str, Any]] = (), headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers
        self.extra = extra or {}


class NotFound(DomainError):
    status = 404

    def __init__(self, kind: str, ident: object):
        super().__init__(f"{kind} {ident} not found")


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class PreconditionFailed(DomainError):
    status = 412


class PreconditionRequired(DomainError):
    """A change that must name the version it was based on (If-Match) did not."""

    status = 428


class Infeasible(DomainError):
    """The household cannot be placed in that unit: the hard rules it breaks, by code."""

    status = 422

    def __init__(self, codes: Sequence[str], field: str = "unit_id"):
        super().__init__(
            f"this unit breaks the household's hard rules: {', '.join(codes)}",
            errors=[{"field": field, "message": f"rule {code} not met", "code": code} for code in codes],
            extra={"codes": list(codes)},
        )


class Invalid(DomainError):
    """Input that parses but cannot be accepted: names the field at fault."""

    status = 422

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}", errors=[{"field": field, "message": message}])


class TooManyRequests(DomainError):
    """This caller already has as much running as it may: try again after `retry_after` seconds."""

    status = 429

    def __init__(self, detail: str, retry_after: int):
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class Busy(DomainError):
    """The service is shedding this kind of work just now: try again after `retry_after` seconds."""

    status = 503

    def __init__(self, detail: str, retry_after: int):
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class Problem(ProblemDetailsException):
    """Problem details that also carry the request's id (as in the X-Request-ID header and the log)."""

    def to_response(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        response = super().to_response(request)
        response.content["request_id"] = request_id(request.scope)
        return response


def _problem(
    status: int, detail: str, errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> ProblemDetailsException:
    members = {**(extra or {}), **({"errors": errors} if errors else {})}
    return Problem(
        status_code=status, title=HTTPStatus(status).phrase, detail=detail, extra=members or None, headers=headers
    )


def _domain_to_problem(exc: DomainError) -> ProblemDetailsException:
    return _problem(exc.status, exc.detail, exc.errors, exc.headers, exc.extra)


_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
_NAMED_FIELD = re.compile(r"(?:missing required field|unknown field) `([^`]+)`")


def _field_of(item: dict[str, Any]) -> dict[str, Any]:
    """One field at fault, from Litestar's and msgspec's wording of a validation error."""
    key = str(item.get("key") or "")
    message = str(item.get("message", ""))
    if key in ("", "data"):  # the body: msgspec names the field inside the message
        at_path = _AT_PATH.search(message)
        named = _NAMED_FIELD.search(message)
        if at_path:
            message = message[: at_path.start()]
        parts = [p for p in ((at_path.group(1) if at_path else ""), (named.group(1) if named else "")) if p]
        key = ".".join(parts) or "body"
    return {"field": key, "message": message, "source": item.get("source", "body")}


def _http_to_problem(exc: HTTPException) -> ProblemDetailsException:
    errors: list[dict[str, Any]] = []
    if isinstance(exc, ValidationException) or exc.status_code == 400:
        extra = exc.extra if isinstance(exc.extra, list) else []
        errors = [_field_of(item) for item in extra if isinstance(item, dict)]
    detail = exc.detail if exc.detail != HTTPStatus(exc.status_code).phrase else ""
    if errors and (not detail or detail.startswith("Validation failed")):
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return _problem(exc.status_code, detail or HTTPStatus(exc.status_code).phrase, errors, exc.headers)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # Never a traceback to the caller. The log gets the error's class and where it was raised, but
    # not its message: database errors quote the values of the statement (an address, a referral).
    frames = "".join(traceback.format_tb(exc.__traceback__)[-8:])
    log.error("unhandled %s on %s %s (request %s)\n%s", type(exc).__name__, request.method,
              request.scope.get("path_template") or "unmatched", request_id(request.scope), frames)
    return _problem(500, "The service could not complete the request; nothing was changed.").to_response(request)


def _database_refused(request: Request[Any, Any, Any], exc: DataError) -> Response[Any]:
    # A value the database cannot store (out of range, too long) that validation did not catch.
    log.warning("database refused a value on %s %s (request %s)", request.method,
                request.scope.get("path_template") or "unmatched", request_id(request.scope))
    return _problem(422, "A value is out of the range the service can store; nothing was changed.").to_response(request)


# How long a client should wait before trying again when the database cannot be reached.
RETRY_AFTER_SECONDS = 5


def _database_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # Unreachable, restarting, out of connections, or this process's pool exhausted: the request
    # did nothing, and a retry after a pause is the right answer, not a 500.
    log.warning("database unavailable on %s %s: %s", request.method, request.scope["path"], type(exc).__name__)
    return _problem(
        503, "The service cannot reach its database just now; nothing was changed. Try again shortly.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    ).to_response(request)


def _database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    # A connection lost during a statement is an outage; any other database error is a defect.
    if exc.connection_invalidated or isinstance(exc.orig, OSError | asyncpg.PostgresConnectionError):
        return _database_unavailable(request, exc)
    return _unexpected(request, exc)


def problem_details_plugin() -> ProblemDetailsPlugin:
    """Every failure answered as application/problem+json."""
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            enable_for_all_http_exceptions=True,
            exception_to_problem_detail_map={DomainError: _domain_to_problem, HTTPException: _http_to_problem},
        )
    )


def _too_deep(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    # A body nested thousands of levels deep (the JSON decoder recurses): the caller's input, not our fault.
    return _problem(400, "The request body is nested too deeply to read.",
                    [{"field": "body", "message": "nested too deeply"}]).to_response(request)


EXCEPTION_HANDLERS = {
    DataError: _database_refused,
    RecursionError: _too_deep,
    DBAPIError: _database_error,
    OperationalError: _database_unavailable,  # connections refused, lost, or the server shutting down
    InterfaceError: _database_unavailable,  # the driver's connection closed under it
    PoolTimeout: _database_unavailable,  # no connection free in the pool within its timeout
    ConnectionError: _database_unavailable,  # asyncpg's connect: refused or reset
    TimeoutError: _database_unavailable,  # asyncpg's connect timeout
    socket.gaierror: _database_unavailable,  # the database's host name does not resolve
    asyncpg.PostgresConnectionError: _database_unavailable,
    asyncpg.CannotConnectNowError: _database_unavailable,  # starting up or shutting down
    asyncpg.TooManyConnectionsError: _database_unavailable,
    Exception: _unexpected,
}


# --- The OpenAPI side: every route documents the problems it can answer -----------------------

class FieldError(msgspec.Struct, kw_only=True):
    """One field at fault."""

    field: str
    message: str
    source: str | None = None  # body, query, path, header
    code: str | None = None  # a hard-rule code, when a rule is what failed


class ProblemDetails(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem (application/problem+json). More members may follow, such as `codes`."""

    status: int
    title: str
    detail: str
    request_id: str  # as in the X-Request-ID header and the service's log
    type: str | None = None
    errors: list[FieldError] | None = None  # input at fault, one item per field
    codes: list[str] | None = None  # hard-rule codes of an infeasible pair


# What each status means to a client, as the document says it.
PROBLEM_DESCRIPTIONS = {
    400: "The request is malformed: a path, query, header or body value fails its schema (`errors` names each).",
    401: "No API key, or an unknown or revoked one.",
    403: "The key's role or scope may not do this.",
    404: "No such record, or one the caller may not see.",
    409: "The record's state does not allow this now (for example, the unit is not available).",
    412: "The If-Match version is stale: read the record again (its version is in ETag).",
    422: "The input parses but cannot be accepted (`errors` names each field; `codes` the broken rules).",
    428: "This change needs an If-Match header with the record's version.",
    429: "Too many requests for this key right now: retry after Retry-After seconds.",
    503: "The service cannot serve this now (database unreachable or overloaded): retry after Retry-After seconds.",
}
RETRY_AFTER = {"description": "Seconds to wait before retrying", "schema": {"type": "integer", "minimum": 0}}
ETAG = {"description": "The record's version, quoted", "schema": {"type": "string"}}


def statuses_of(
    *, guarded: bool, path_params: bool, has_input: bool, writes: bool, if_match: str | None, extra: Sequence[int] = (),
) -> set[int]:
    """The problem statuses a route can answer, from what it is: the one table every route is documented by.

    `if_match` is None (no If-Match), "optional" or "required".
    """
    statuses = set(extra)
    if guarded:  # authenticated routes: key checks, the caller's limits, and the database behind them
        statuses |= {401, 403, 429, 503}
    if path_params:
        statuses |= {400, 404}
    if has_input:
        statuses |= {400, 422}
    if writes:
        statuses |= {409, 422}
    if if_match is not None:
        statuses.add(412)
    if if_match == "required":
        statuses.add(428)
    return statuses
