"""The dashboard served for real (uvicorn on 127.0.0.1) on a database of its own, and headless Chromium.

Debian's `chromium` package, driven by Playwright for Python. Never `playwright install` (it downloads
a browser, which fails here). A missing browser fails the tests with a clear message: no skip.
"""

from __future__ import annotations

import asyncio
import random
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from service import db
from service.access import service as access
from service.access.models import Role
from service.app import create_app
from service.demo import load_demo
from service.inventory.models import Scheme, Unit, UnitStatus
from service.migrate import migrate
from service.offers.models import Offer, OfferStatus, Placement
from service.referrals.models import Referral, ReferralStatus, Risk
from service.reports import service as reports
from service.reports.models import OccupancySnapshot
from service.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
KIRKLEES, LEEDS = "E08000034", "E08000035"


@dataclass
class Site:
    url: str
    keys: dict[str, str]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
    """The demo stock, a year of referrals (placed, unmet, open) in Kirklees and Leeds, 60 days of snapshots."""
    rng = random.Random(5)
    today = db.utcnow().date()
    async with maker.begin() as session:
        await load_demo(session)
        keys = {}
        for who, role, authority in (("admin", Role.ADMIN, None), ("commissioner", Role.COMMISSIONER, KIRKLEES)):
            _, keys[who] = await access.create_key(session, role, f"browser {who}", authority=authority)
        occupied = {
            code: list(await session.scalars(
                select(Unit).join(Scheme).where(Scheme.authority_code == code, Unit.status == UnitStatus.OCCUPIED)))
            for code in (KIRKLEES, LEEDS)
        }
        for code, placed, unmet, open_ in ((KIRKLEES, 9, 8, 3), (LEEDS, 6, 5, 2)):
            for i in range(placed + unmet + open_):
                outcome = "placed" if i < placed else "unmet" if i < placed + unmet else None
                referred_on = today - timedelta(days=rng.randint(10, 300))
                referral = Referral(
                    authority_code=code, risk=rng.choice(list(Risk)), marac=rng.random() < 0.4,
                    status=ReferralStatus.PLACED if outcome == "placed" else
                    ReferralStatus.CLOSED if outcome else ReferralStatus.OPEN,
                    referred_on=referred_on, needed_by=None,
                    household={"adults": [{"gender": "female", "age": rng.randint(19, 60)}],
                               "children": [{"age": rng.randint(0, 15), "sex": rng.choice(["male", "female"])}
                                            for _ in range(rng.randint(0, 2))]},
                    needs={"wheelchair": outcome == "unmet" and i % 2 == 0}, safety={}, preferences={},
                    equality={"sex": "female", "ethnicity": rng.choice(["white", "asian", "black", "mixed"]),
                              "age_band": "25-34", "disability": rng.choice(["yes", "no"])},
                    outcome="unmet" if outcome == "unmet" else None,
                    close_reason=rng.choice(["wheelchair", "capacity", "nrpf"]) if outcome == "unmet" else None,
                    closed_at=db.utcnow() if outcome == "unmet" else None,
                )
                session.add(referral)
                await session.flush()
                if outcome == "placed":
                    unit = occupied[code].pop()
                    started = referred_on + timedelta(days=rng.randint(0, 9))
                    offer = Offer(referral_id=referral.id, unit_id=unit.id, status=OfferStatus.ACCEPTED,
                                  expires_at=db.utcnow(), answered_at=db.utcnow())
                    session.add(offer)
                    await session.flush()
                    session.add(Placement(offer_id=offer.id, referral_id=referral.id, unit_id=unit.id,
                                          started_on=started))
        await reports.record_snapshot(session, today)
        for day in range(1, 61):
            for code in (KIRKLEES, LEEDS):
                for kind, base in (("refuge", 20), ("dispersed", 12)):
                    occupied_beds = base - 4 + (day * 7 + len(code)) % 9
                    session.add_all([
                        OccupancySnapshot(snapshot_on=today - timedelta(days=day), authority_code=code, type=kind,
                                          status=status, units=beds // 2, bedspaces=beds)
                        for status, beds in (("occupied", occupied_beds), ("available", base + 6 - occupied_beds),
                                             ("unavailable", 2))
                    ])
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
