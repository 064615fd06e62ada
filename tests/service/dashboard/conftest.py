"""Helpers for the dashboard tests: sign in through the form, seed figures through the API."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db import utcnow
from service.reports.models import OccupancySnapshot
from tests.service.conftest import KIRKLEES, LEEDS, World, make_unit, scheme_body
from tests.service.workflow.conftest import make_referral, offer

TODAY = utcnow().date()


async def sign_in(client: AsyncClient, key: str, **headers: str) -> Response:
    return await client.post("/login", data={"api_key": key}, headers=headers)


async def signed_in(client: AsyncClient, world: World, who: str = "commissioner") -> str:
    """Sign in through the form; the client keeps the cookie. Returns the session token."""
    response = await sign_in(client, world.keys[who])
    assert response.status_code == 303, response.text
    token = response.cookies.get("safeaccom_dashboard")
    assert token
    return token


async def seed_figures(client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]) -> None:
    """Seven placements; unmet: six for want of a wheelchair unit, two for boys' age, one for language;
    vacancies in Kirklees and Leeds; a week of snapshots."""
    for _ in range(7):
        unit = await make_unit(client, world)
        referral_id = await make_referral(client, world, equality={"ethnicity": "white", "sex": "female"})
        made = (await offer(client, world, referral_id, unit["id"])).json()
        accepted = await client.post(f"/api/v1/offers/{made['id']}/accept", headers=world.auth("provider"))
        assert accepted.status_code == 200, accepted.text
    for reason, count in (("wheelchair", 6), ("boy_age", 2), ("language", 1)):
        for _ in range(count):
            referral_id = await make_referral(client, world, needs={"wheelchair": reason == "wheelchair"})
            closed = await client.post(f"/api/v1/referrals/{referral_id}/close",
                                       json={"outcome": "unmet", "reason": reason}, headers=world.auth("officer"))
            assert closed.status_code == 200, closed.text
    for _ in range(3):  # vacancies today: a Kirklees refuge and a Leeds dispersed unit
        await make_unit(client, world, bedspaces=2)
    await make_unit(client, world, who="other_provider", scheme=scheme_body(
        world.other_provider_id, name="Leeds dispersed", type="dispersed", authority=LEEDS, district="LS1"))
    async with session_maker() as session, session.begin():
        session.add_all([
            OccupancySnapshot(snapshot_on=TODAY - timedelta(days=days), authority_code=KIRKLEES, type="refuge",
                              status=status, units=units, bedspaces=units * 3)
            for days in range(1, 8) for status, units in (("occupied", 7 - days % 3), ("available", 3 + days % 3))
        ])


class Assets(HTMLParser):
    """Every URL the page would load or link to, and its form fields."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inputs: list[dict[str, str | None]] = []
        self.canvases: list[dict[str, str | None]] = []
        self.labels: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found: dict[str, Any] = dict(attrs)
        for name in ("src", "href", "action", "formaction", "data", "poster", "srcset"):
            if found.get(name):
                self.urls.append(found[name])
        if tag in ("input", "select", "textarea"):
            self.inputs.append(found)
        if tag == "canvas":
            self.canvases.append(found)
        if tag == "label":
            self.labels.append(found.get("for"))


def assets(html: str) -> Assets:
    parser = Assets()
    parser.feed(html)
    return parser
