"""The dashboard served for real (uvicorn on 127.0.0.1) on a database of its own, and headless Chromium.

Debian's `chromium` package, driven by Playwright for Python. Never `playwright install` (it downloads
a browser, which fails here). A missing browser fails the tests with a clear message: no skip.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page, async_playwright
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from service import db
from service.access import service as access
from service.access.models import Role
from service.app import create_app
from service.demo import DEMO_PREFIX, PROVIDERS, load_demo
from service.inventory.models import Provider
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
                    "(scripts/test installs it when run as root). "
                    "Do not run `playwright install`.", pytrace=False)


async def _seed(maker: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    """The demo set: its stock, six months of referrals, placements and declines, and daily snapshots;
    a key per role (the provider's is the demo's first provider's, in Kirklees)."""
    async with maker.begin() as session:
        await load_demo(session)
        provider = await session.scalar(select(Provider.id).where(Provider.name == DEMO_PREFIX + PROVIDERS[0][0]))
        keys = {}
        for who, role, authority, provider_id in (
            ("admin", Role.ADMIN, None, None), ("commissioner", Role.COMMISSIONER, KIRKLEES, None),
            ("officer", Role.OFFICER, KIRKLEES, None), ("provider", Role.PROVIDER, None, provider),
        ):
            _, keys[who] = await access.create_key(session, role, f"browser {who}", authority=authority,
                                                   provider_id=provider_id)
    return keys


@pytest.fixture(scope="session")
async def site(database_url: str) -> AsyncIterator[Site]:
    """A database of its own (dropped afterwards), seeded, served by uvicorn in this event loop; shared by the
    browser tests (each leaves the demo's stock usable: no test relies on another's changes)."""
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


AXE = Axe()
BAD_IMPACT = ("serious", "critical")


@dataclass
class Watched:
    """A browser tab under watch: its requests, its console errors and failed responses, a screenshot of
    each page checked (kept on failure)."""

    page: Page
    label: str
    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    shots: list[tuple[str, bytes]] = field(default_factory=list)

    async def check(self, *, phone: bool = False, axe: bool = True) -> None:
        """The page shown now: axe-core finds no serious or critical violation; on a phone nothing scrolls
        sideways."""
        await self.page.wait_for_load_state("load")
        self.shots.append((self.page.url, await self.page.screenshot()))  # the last one is kept whole
        if axe:
            results = await AXE.run(self.page)
            bad = [(v["id"], v["impact"], [node["target"] for node in v["nodes"]][:3])
                   for v in results.response["violations"] if v["impact"] in BAD_IMPACT]
            assert bad == [], f"axe-core on {self.page.url}: {bad}"
        if phone:
            scroll, client = await self.page.evaluate(
                "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert scroll <= client, f"{self.page.url} scrolls sideways at {client} px: {scroll} px wide"

    def foreign(self, site: str) -> list[str]:
        """Requests to any other host."""
        return [url for url in self.requests if not url.startswith(site) and not url.startswith(("data:", "blob:"))]


@asynccontextmanager
async def watched_browser(chromium: Path, name: str) -> AsyncIterator[Callable[..., Awaitable[Watched]]]:
    """Debian's Chromium; `open(label, **context options)` gives a watched tab. On failure every page checked
    and each tab's last state go to test-artifacts/<name>-<label>-*.png."""
    require_browser(chromium)
    tabs: list[Watched] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)

        async def open_tab(label: str, **options: Any) -> Watched:
            page = await (await browser.new_context(**options)).new_page()
            page.set_default_timeout(10_000)
            tab = Watched(page, label)
            page.on("request", lambda request: tab.requests.append(request.url))
            page.on("console", lambda message: tab.problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: tab.problems.append(str(error)))
            page.on("response", lambda response: tab.problems.append(f"{response.status} {response.url}")
                    if response.status >= 400 else None)
            tabs.append(tab)
            return tab

        try:
            yield open_tab
        except BaseException:
            ARTIFACTS.mkdir(exist_ok=True)
            for tab in tabs:
                for number, (_, png) in enumerate(tab.shots):
                    (ARTIFACTS / f"{name}-{tab.label}-{number:02d}.png").write_bytes(png)
                await tab.page.screenshot(path=str(ARTIFACTS / f"{name}-{tab.label}-last.png"), full_page=True)
            raise
        finally:
            await browser.close()
