"""Fixtures for HTTP tests: the app on the rolled-back transaction, keys for every role and scope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.access import service as access
from service.access.models import Role
from service.app import create_app
from service.inventory.models import Provider
from service.settings import Settings

KIRKLEES, LEEDS, CALDERDALE = "E08000034", "E08000035", "E08000033"


@pytest.fixture
def settings() -> Settings:
    # The tests' webhook receivers listen on 127.0.0.1.
    return Settings(database_url=None, run_scheduler=False, webhooks_internal=True)


@pytest.fixture
async def client(settings: Settings, session_maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncClient]:
    """httpx on the ASGI app, in the test's own event loop (the app's state already holds the sessions)."""
    app = create_app(settings, session_maker=session_maker)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


@dataclass
class World:
    """Two providers and a key for every role and scope the tests need."""

    provider_id: int
    other_provider_id: int
    keys: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


@pytest.fixture
async def world(session_maker: async_sessionmaker[AsyncSession]) -> World:
    async with session_maker() as session, session.begin():
        provider = Provider(name="Test refuge provider", authority_code=KIRKLEES)
        other = Provider(name="Another provider", authority_code=LEEDS)
        session.add_all([provider, other])
        await session.flush()
        wanted: dict[str, tuple[Role, str | None, int | None]] = {
            "admin": (Role.ADMIN, None, None),
            "officer": (Role.OFFICER, KIRKLEES, None),
            "leeds_officer": (Role.OFFICER, LEEDS, None),
            "provider": (Role.PROVIDER, None, provider.id),
            "other_provider": (Role.PROVIDER, None, other.id),
            "commissioner": (Role.COMMISSIONER, KIRKLEES, None),
            "national_commissioner": (Role.COMMISSIONER, None, None),
        }
        keys = {}
        for who, (role, authority, provider_id) in wanted.items():
            _, keys[who] = await access.create_key(session, role, who, authority=authority, provider_id=provider_id)
        return World(provider.id, other.id, keys)


def scheme_body(provider_id: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "provider_id": provider_id, "name": "Huddersfield refuge", "type": "refuge", "authority": KIRKLEES,
        "district": "HD1", "address": "1 Secret Row, Huddersfield HD1 1AA", "genders": ["female"],
        "accepts_children": True, "max_children": 3, "max_boy_age": 14, "communal": True,
        "languages": ["en", "ur"], "specialisms": [],
    }
    body.update(overrides)
    return body


async def make_unit(
    client: AsyncClient, world: World, *, who: str = "provider", scheme: dict[str, Any] | None = None,
    **unit: Any,
) -> dict[str, Any]:
    """Create a scheme and one unit through the API; return the unit."""
    response = await client.post(
        "/api/v1/schemes", json=scheme or scheme_body(world.provider_id), headers=world.auth(who)
    )
    assert response.status_code == 201, response.text
    body = {"label": "Room 1", "bedspaces": 3, **unit}
    response = await client.post(
        f"/api/v1/schemes/{response.json()['id']}/units", json=body, headers=world.auth(who)
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]
