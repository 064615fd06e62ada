"""API keys: the admin lists and revokes them; a revoked or expired key is refused; every process hears of it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service import db
from service.access import service as access
from service.access.models import ApiKey, Role
from service.app import create_app
from service.db import utcnow
from service.settings import Settings
from tests.service.conftest import KIRKLEES, World


async def test_admin_lists_keys_without_their_secrets(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.get("/api/v1/keys", headers=world.auth("admin"))
    assert response.status_code == 200, response.text
    items = {item["name"]: item for item in response.json()["items"]}
    officer = items["officer"]
    assert officer["role"] == "officer" and officer["authority"] == KIRKLEES and officer["provider_id"] is None
    assert world.keys["officer"].startswith(officer["prefix"]) and officer["revoked_at"] is None
    assert items["provider"]["provider_id"] == world.provider_id
    async with session_maker() as session:
        digests = list(await session.scalars(select(ApiKey.key_hash)))
    for secret in [*world.keys.values(), *digests]:
        assert secret not in response.text
    # The admin's own call was a use of its key; keys not used yet say so.
    assert items["admin"]["last_used_at"] is not None and items["leeds_officer"]["last_used_at"] is None

    for who in ("officer", "provider", "commissioner", "national_commissioner"):
        assert (await client.get("/api/v1/keys", headers=world.auth(who))).status_code == 403
    assert (await client.get("/api/v1/keys")).status_code == 401


async def test_a_revoked_key_is_refused_at_once(client: AsyncClient, world: World) -> None:
    listed = (await client.get("/api/v1/keys", headers=world.auth("admin"))).json()["items"]
    officer_id = next(item["id"] for item in listed if item["name"] == "officer")
    assert (await client.get("/api/v1/vacancies", headers=world.auth("officer"))).status_code == 200

    revoke = f"/api/v1/keys/{officer_id}/revoke"
    assert (await client.post(revoke, headers=world.auth("leeds_officer"))).status_code == 403
    revoked = await client.post(revoke, headers=world.auth("admin"))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["id"] == officer_id and revoked.json()["revoked_at"] is not None

    refused = await client.get("/api/v1/vacancies", headers=world.auth("officer"))
    assert refused.status_code == 401 and refused.headers["content-type"].startswith("application/problem+json")
    assert (await client.post(f"/api/v1/keys/{officer_id}/revoke", headers=world.auth("admin"))).status_code == 200
    assert (await client.post("/api/v1/keys/2000000000/revoke", headers=world.auth("admin"))).status_code == 404
    # Others' keys are untouched.
    assert (await client.get("/api/v1/vacancies", headers=world.auth("leeds_officer"))).status_code == 200


async def test_a_key_past_its_expiry_is_refused(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    async with session_maker() as session, session.begin():
        row, key = await access.create_key(session, Role.OFFICER, "temporary", authority=KIRKLEES,
                                           expires_at=utcnow() + timedelta(days=1))
    headers = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/api/v1/vacancies", headers=headers)).status_code == 200
    listed = (await client.get("/api/v1/keys", headers=world.auth("admin"))).json()["items"]
    assert next(item for item in listed if item["id"] == row.id)["expires_at"] is not None
    async with session_maker() as session, session.begin():
        past = utcnow() - timedelta(hours=1)
        await session.execute(update(ApiKey).where(ApiKey.id == row.id).values(expires_at=past))
    assert (await client.get("/api/v1/vacancies", headers=headers)).status_code == 401


async def test_revocation_is_announced_to_every_process_when_it_commits(engine: AsyncEngine, database_url: str) -> None:
    """Processes that cache keys LISTEN on safeaccom_keys: the revoking transaction NOTIFYs the key's id."""
    maker = db.session_maker(engine)
    async with maker.begin() as session:
        admin, admin_key = await access.create_key(session, Role.ADMIN, "notify test admin")
        victim, _ = await access.create_key(session, Role.COMMISSIONER, "notify test victim")
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(db.async_url(database_url).set(drivername="postgresql").render_as_string(False))
    try:
        await listener.add_listener(access.KEYS_CHANNEL, lambda *args: heard.put_nowait(args[3]))
        app = create_app(Settings(run_scheduler=False), session_maker=maker)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client:
            response = await client.post(f"/api/v1/keys/{victim.id}/revoke",
                                         headers={"Authorization": f"Bearer {admin_key}"})
        assert response.status_code == 200
        assert await asyncio.wait_for(heard.get(), 10) == str(victim.id)
    finally:
        await listener.close()
        async with maker.begin() as session:
            await session.execute(delete(ApiKey).where(ApiKey.id.in_([admin.id, victim.id])))
