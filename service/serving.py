"""How `safeaccom serve` runs uvicorn: bounded connections, and a deadline for each request's headers.

uvicorn closes idle keep-alive connections, but waits without end for a request's headers: a client
that opens connections and trickles a header line now and then (slowloris) holds them for ever.
The protocol here closes a connection whose request headers are not complete within the deadline.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from service.settings import Settings

# The most of an unfinished request head uvicorn buffers, in bytes (the proxy in front limits
# complete heads: deploy/Caddyfile).
MAX_HEAD_BYTES = 16 * 1024


class _HeaderDeadlineProtocol(H11Protocol):
    header_timeout: float = 10.0
    _headers_due: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        if self._headers_due is not None:
            self._headers_due.cancel()
        self._headers_due = self.loop.call_later(self.header_timeout, self._headers_late, self.cycle)

    def _headers_late(self, cycle_then: object) -> None:
        # No request began since the deadline was set: its headers never completed.
        if self.cycle is cycle_then and not self.transport.is_closing():
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()  # the next request on this connection gets its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        if self._headers_due is not None:
            self._headers_due.cancel()
        super().connection_lost(exc)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for uvicorn.run: limits that keep one client from holding the server."""
    protocol = type("HeaderDeadlineProtocol", (_HeaderDeadlineProtocol,),
                    {"header_timeout": settings.header_timeout_seconds})
    return {
        "http": protocol,
        "limit_concurrency": settings.max_connections,  # beyond it uvicorn answers 503 at once
        "timeout_keep_alive": 5,
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "backlog": 256,
        "proxy_headers": settings.behind_proxy,
        "forwarded_allow_ips": "*" if settings.behind_proxy else None,
        "server_header": False,
    }


class HeaderDeadlineProtocol(_HeaderDeadlineProtocol):
    """The same protocol by import path, for `safeaccom serve --workers N` (each worker imports it; a
    class made at run time cannot be sent to a worker process): the deadline from the environment."""

    header_timeout = Settings.from_env().header_timeout_seconds
