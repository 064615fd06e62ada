"""The dashboard served for real (uvicorn on 127.0.0.1) on a database of its own, and headless Chromium.

Debian's `chromium` package, driven by Playwright for Python. Never `playwright install` (it downloads
a browser, which fails here). A missing browser fails the tests with a clear message: no skip.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from service import db
from service.access import service as access
from service.access.models import Role
from service.app import create_app
from service.demo import load_demo
from service.migrate import migrate
from service.settings import Settings
from tests.support import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
KIRKLEES, LEEDS = "E08000034", "E08000035"


@dataclass
class Site:
    url: str
    keys: dict[str, str]



@pytest.fixture(scope="session")
def chromium() -> Path:
    return CHROMIUM


def require_browser(path: Path) -> None:
    """Fail (never skip) when the browser is not installed."""
    if not path.exists():
        pytest.fail(f"{path} is missing: install Debian's chromium package "
                    "(apt-get install -y --no-install-recommends chromium; .ci/run does). "
                    "Do not run `playwright install`.", pytrace=False)


async def _seed(maker: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    """The demo set: its stock, six months of referrals, placements and declines, and daily snapshots."""
    async with maker.begin() as session:
        await load_demo(session)
        keys = {}
        for who, role, authority in (("admin", Role.ADMIN, None), ("commissioner", Role.COMMISSIONER, KIRKLEES)):
            _, keys[who] = await access.create_key(session, role, f"browser {who}", authority=authority)
    return keys


@pytest.fixture(scope="module")
async def site(database_url: str) -> AsyncIterator[Site]:
    """A database of its own (dropped afterwards), seeded, served by uvicorn in this event loop."""
    name = f"browser_{uuid.uuid4().hex[:8]}"
    server_admin = create_async_engine(db.async_url(database_url), isolation_level="AUTOCOMMIT")
    async with server_admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = db.async_url(database_url).set(database=name).render_as_string(hide_password=False)
    try:
        await migrate(url)
        engine = db.create_engine(url)
        keys = await _seed(db.session_maker(engine))
        port = free_port()
        app = create_app(Settings(run_scheduler=False), session_maker=db.session_maker(engine))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                               lifespan="off"))
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110  (uvicorn exposes a flag, not an event)
            await asyncio.sleep(0.05)
        try:
            yield Site(f"http://127.0.0.1:{port}", keys)
        finally:
            server.should_exit = True
            await task
            await engine.dispose()
    finally:
        async with server_admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await server_admin.dispose()
