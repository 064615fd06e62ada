"""The API served over HTTP on a database of its own (demo data, a key per role), for contract tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import uvicorn
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from service import db
from service.access import service as access
from service.app import create_app
from service.caller import Role
from service.demo import KIRKLEES, load_demo
from service.migrate import migrate
from service.models import Provider
from service.settings import Settings
from tests.support import free_port


@dataclass
class Live:
    url: str
    keys: dict[str, str]  # role -> key
    provider_id: int


@pytest.fixture(scope="package")
async def live(database_url: str) -> AsyncIterator[Live]:
    """A database of its own (dropped afterwards) with the demo data, served by uvicorn in this event loop."""
    name = f"contract_{uuid.uuid4().hex[:8]}"
    server_admin = create_async_engine(db.async_url(database_url), isolation_level="AUTOCOMMIT")
    async with server_admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = db.async_url(database_url).set(database=name).render_as_string(hide_password=False)
    try:
        await migrate(url)
        engine = db.create_engine(url)
        async with db.session_maker(engine).begin() as session:
            await load_demo(session)
            provider_id = await session.scalar(
                select(Provider.id).where(Provider.authority_code == KIRKLEES).order_by(Provider.id).limit(1)
            )
            assert provider_id is not None
            # Fuzzed ids are mostly small: keep these keys out of their reach (a fuzzed revocation
            # or deletion must not take the test's own keys away).
            await session.execute(text("SELECT setval(pg_get_serial_sequence('api_key', 'id'), 1000000)"))
            keys = {}
            for role, authority, provider in ((Role.ADMIN, None, None), (Role.OFFICER, KIRKLEES, None),
                                              (Role.PROVIDER, None, provider_id),
                                              (Role.COMMISSIONER, KIRKLEES, None)):
                _, keys[role.value] = await access.create_key(
                    session, role, f"contract {role.value}", authority=authority, provider_id=provider
                )
        port = free_port()
        app = create_app(Settings(run_scheduler=False, request_log=False), session_maker=db.session_maker(engine))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                               lifespan="off", access_log=False))
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110  (uvicorn exposes a flag, not an event)
            await asyncio.sleep(0.05)
        try:
            yield Live(f"http://127.0.0.1:{port}", keys, provider_id)
        finally:
            server.should_exit = True
            await task
            await engine.dispose()
    finally:
        async with server_admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await server_admin.dispose()
