"""A database outage is 503 problem details with Retry-After on every route, never 500; service resumes after.

The outage is real: the app reaches the test's PostgreSQL through a TCP relay that the test cuts
(every connection dropped, nothing listening) and restores.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import delete
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service import db
from service.access import service as access
from service.access.models import ApiKey, Role
from service.app import create_app
from service.dashboard.models import DashboardSession
from service.settings import Settings
from tests.service.conftest import KIRKLEES
from tests.support import free_port


class Relay:
    """A TCP relay to PostgreSQL (a TCP or unix socket) that can be cut and restored."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        socket_dir = url.query.get("host")
        self.unix = f"{socket_dir}/.s.PGSQL.{url.port or 5432}" if isinstance(socket_dir, str) else None
        self.target = (url.host or "127.0.0.1", url.port or 5432)
        self.port = free_port()
        self.url = url.set(host="127.0.0.1", port=self.port, query={}).render_as_string(hide_password=False)
        self.server: asyncio.Server | None = None
        self.pipes: set[asyncio.StreamWriter] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.unix:
            upstream_reader, upstream_writer = await asyncio.open_unix_connection(self.unix)
        else:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self.pipes.update({writer, upstream_writer})
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.pipes:
            writer.close()
        self.pipes.clear()
        await self.server.wait_closed()


@pytest.fixture
async def relay(database_url: str) -> AsyncIterator[Relay]:
    relay = Relay(database_url)
    await relay.start()
    yield relay
    if relay.server is not None and relay.server.is_serving():
        await relay.cut()


def assert_unavailable(response: Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["status"] == 503 and "database" in response.json()["detail"]


async def test_an_outage_is_503_with_retry_after_and_service_resumes(engine: AsyncEngine, relay: Relay) -> None:
    maker = db.session_maker(engine)
    async with maker.begin() as session:
        officer, officer_key = await access.create_key(session, Role.OFFICER, "outage officer", authority=KIRKLEES)
        admin, admin_key = await access.create_key(session, Role.ADMIN, "outage admin")
    through_relay = db.create_engine(relay.url)
    app = create_app(Settings(run_scheduler=False), session_maker=db.session_maker(through_relay))
    officer_auth = {"Authorization": f"Bearer {officer_key}"}
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client:
            assert (await client.get("/api/v1/vacancies", headers=officer_auth)).status_code == 200
            signed_in = await client.post("/login", data={"api_key": admin_key})
            assert signed_in.status_code == 303

            await relay.cut()  # PostgreSQL is gone, mid-session, with connections in the pool
            assert_unavailable(await client.get("/api/v1/vacancies", headers=officer_auth))
            assert_unavailable(await client.get("/dashboard"))  # signed in: the session is looked up
            assert_unavailable(await client.get("/workspace/admin"))
            client.cookies.clear()
            assert_unavailable(await client.post("/login", data={"api_key": admin_key}))
            assert (await client.get("/login")).status_code == 200  # the bare form needs no database
            assert_unavailable(await client.get("/api/v1/referrals/1", headers=officer_auth))
            assert (await client.get("/ready")).status_code == 503
            assert (await client.get("/health")).status_code == 200  # the process itself is up

            await relay.start()  # back: the pool reconnects on its own
            assert (await client.get("/api/v1/vacancies", headers=officer_auth)).status_code == 200
    finally:
        await through_relay.dispose()
        async with maker.begin() as session:
            await session.execute(delete(DashboardSession).where(DashboardSession.api_key_id == admin.id))
            await session.execute(delete(ApiKey).where(ApiKey.id.in_([officer.id, admin.id])))


async def test_an_exhausted_pool_is_503_not_a_wait_then_500(engine: AsyncEngine, database_url: str) -> None:
    maker = db.session_maker(engine)
    async with maker.begin() as session:
        officer, key = await access.create_key(session, Role.OFFICER, "pool officer", authority=KIRKLEES)
    small = create_async_engine(db.async_url(database_url), pool_size=1, max_overflow=0, pool_timeout=0.5)
    app = create_app(Settings(run_scheduler=False), session_maker=db.session_maker(small))
    try:
        async with small.connect() as held, AsyncClient(
            transport=ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            await held.exec_driver_sql("SELECT 1")  # the pool's one connection, taken
            assert_unavailable(await client.get("/api/v1/vacancies", headers={"Authorization": f"Bearer {key}"}))
    finally:
        await small.dispose()
        async with maker.begin() as session:
            await session.execute(delete(ApiKey).where(ApiKey.id == officer.id))
