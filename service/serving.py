"""How `safeaccom serve` runs uvicorn: httptools, bounded connections and request heads, a deadline
for each request's headers, and worker processes that share the load evenly.

uvicorn closes idle keep-alive connections, but waits without end for a request's headers: a client
that opens connections and trickles a header line now and then (slowloris) holds them for ever. The
protocol here closes a connection whose request headers are not complete within the deadline, and
refuses (400, as uvicorn answers any malformed request) a request line and headers over 16 KiB,
finished or not: httptools parses as bytes arrive and, unlike h11, sets no limit of its own.

With several workers, uvicorn's supervisor hands every worker one shared listening socket; the first
worker to wake accepts a whole burst of new connections, and with keep-alive it keeps them: in the
API benchmark one of two workers held 48 of 50 connections, so half the requests queued behind a
busy process while the other idled. Here each worker binds a socket of its own with SO_REUSEPORT
and the kernel spreads new connections evenly among them (`WorkerListener`); uvicorn's supervisor
still starts, watches and replaces the workers.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.settings import Settings

# The most a request line and its headers may take, in bytes (the proxy in front limits them too:
# deploy/Caddyfile).
MAX_HEAD_BYTES = 16 * 1024


class _HeadTooLarge(Exception):
    """Raised inside a parser callback: httptools stops, and uvicorn answers 400 and closes."""


class _GuardedProtocol(HttpToolsProtocol):
    header_timeout: float = 10.0
    _headers_due: asyncio.TimerHandle | None = None
    _head_bytes = 0

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

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > MAX_HEAD_BYTES:
            raise _HeadTooLarge

    _in_head = False

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # httptools hands over a header only once its line is complete, and keeps what it has of an
        # unfinished one: count the bytes that arrived while a request's head was still unfinished.
        if self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self.send_400_response("Request headers too large.")

    def on_message_begin(self) -> None:
        self._head_bytes = 0
        self._in_head = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()  # the next request on this connection gets its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        if self._headers_due is not None:
            self._headers_due.cancel()
        super().connection_lost(exc)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for uvicorn.run: limits that keep one client from holding the server."""
    protocol = type("GuardedProtocol", (_GuardedProtocol,), {"header_timeout": settings.header_timeout_seconds})
    return {
        "http": protocol,
        "limit_concurrency": settings.max_connections,  # beyond it uvicorn answers 503 at once
        "timeout_keep_alive": 5,
        "backlog": 256,
        "proxy_headers": settings.behind_proxy,
        "forwarded_allow_ips": "*" if settings.behind_proxy else None,
        "server_header": False,
    }


class GuardedProtocol(_GuardedProtocol):
    """The same protocol by import path, for `safeaccom serve --workers N` (each worker imports it; a
    class made at run time cannot be sent to a worker process): the deadline from the environment."""

    header_timeout = Settings.from_env().header_timeout_seconds


def pool_size_for(workers: int) -> int:
    """Database connections each of `workers` processes keeps when SAFEACCOM_DB_POOL_SIZE is not set:
    20, fewer beyond four workers so that together they stay under 90 (PostgreSQL allows 100 by
    default), at least 5."""
    return max(5, min(20, 90 // workers))


def listen_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) with SO_REUSEPORT, not yet listening (uvicorn calls listen)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


class WorkerListener:
    """What uvicorn's supervisor hands each worker in place of the shared socket.

    uvicorn pickles a worker's sockets to send them to the new process; this one unpickles as a
    socket the worker binds for itself (`listen_socket`), so every worker, and every replacement the
    supervisor starts, listens on the port with SO_REUSEPORT and gets its share of connections.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        return listen_socket, (self.host, self.port)


def serve_workers(options: dict[str, Any], workers: int) -> None:
    """Run `workers` processes of the app from the environment under uvicorn's supervisor, each with
    its own SO_REUSEPORT socket on options' host and port."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    options = dict(options)
    host, port = options.pop("host"), options.pop("port")
    config = uvicorn.Config("service.app:app_from_env", factory=True, workers=workers, **options)
    # Bound here first: a port already taken fails now, in one line, and stays ours while workers
    # come and go (a bound socket that does not listen is given no connections).
    with listen_socket(host, port) as held:
        port = held.getsockname()[1]
        logging.getLogger("uvicorn.error").info("Serving on http://%s:%d with %d workers", host, port, workers)
        Multiprocess(config, sockets=[WorkerListener(host, port)]).run()  # type: ignore[list-item]
