"""Logging: one structured line per request, text or JSON, the scheduler's chatter at DEBUG.

A request's line names its id, method, route template, role, status and duration; never a body,
a key, a query string or an address (routes are templates such as `/api/v1/referrals/{referral_id}`,
and the client's address is not logged). The request id is the caller's `X-Request-ID` when it is
a plain token, otherwise a fresh one; it is answered in `X-Request-ID` and carried into problem
details (service/errors.py).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = "safeaccom.request_id"
_GIVEN_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

request_log = logging.getLogger("service.requests")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


def request_id(scope: Any) -> str:
    """The request's id (set when the request arrived; made now for anything that bypassed that)."""
    state = scope.setdefault("state", {})
    found = state.get(_REQUEST_ID)
    if found is None:
        found = state[_REQUEST_ID] = _incoming_id(scope) or uuid.uuid4().hex
    return str(found)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _GIVEN_ID.match(text) else None
    return None


class RequestLog:
    """ASGI wrapper around the whole app (unmatched paths included): request id header and one log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(scope)
        header = (REQUEST_ID_HEADER.lower().encode(), rid.encode())
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if request_log.isEnabledFor(logging.INFO):
                role = getattr(getattr(scope.get("user"), "role", None), "value", None)
                request_log.info(
                    "request", extra={"fields": {
                        "request_id": rid, "method": scope.get("method"),
                        "route": scope.get("path_template") or "unmatched", "role": role or "-",
                        "status": status, "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    }},
                )


class TextFormatter(logging.Formatter):
    """`time level logger message key=value ...`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "fields", None)
        if fields:
            line += " " + " ".join(f"{key}={value}" for key, value in fields.items())
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: at, level, logger, message, and the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["error"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return json.dumps(entry, default=str)


class SchedulerChatterAtDebug(logging.Filter):
    """APScheduler's INFO lines (a job ran, a job was added) are DEBUG here; its warnings stay."""

    def __init__(self, level: str = "INFO") -> None:
        super().__init__()
        self.threshold = logging.getLevelName(level.upper())

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("apscheduler") and record.levelno == logging.INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return bool(self.threshold <= logging.DEBUG)
        return True


def log_config(level: str = "INFO", format: str = "text", request_log: bool = True) -> dict[str, Any]:
    """A logging.config.dictConfig for the service, uvicorn's loggers included (Settings.log_*)."""
    handler = {"class": "logging.StreamHandler", "formatter": "json" if format == "json" else "text",
               "filters": ["scheduler"], "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"text": {"()": TextFormatter}, "json": {"()": JsonFormatter}},
        "filters": {"scheduler": {"()": SchedulerChatterAtDebug, "level": level}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            # uvicorn's own handlers would print a second, unstructured copy; its access log is off
            # (it names client addresses): service.requests is the request log.
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
            **({} if request_log else {"service.requests": {"level": "WARNING"}}),
        },
    }
