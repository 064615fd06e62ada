"""One database session per request, and API keys cached in the process until a revocation is heard.

These run the app on its own engine (as `safeaccom serve` does), so they commit and clean up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, event, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from service import db
from service.access import service as access
from service.access.models import ApiKey
from service.app import create_app
from service.audit.models import AuditEvent
from service.caller import Role
from service.inventory.models import Provider, Scheme, Unit, UnitStatus
from service.settings import Settings


@contextlib.asynccontextmanager
async def serving(database_url: str, engine: AsyncEngine) -> AsyncIterator[tuple[Any, AsyncClient, ApiKey, str]]:
    """The app with its own engine and key cache, and a committed admin key (entered in the test's own task)."""
    maker = db.session_maker(engine)
    async with maker.begin() as session:
        row, key = await access.create_key(session, Role.ADMIN, "sessions and keys test")
    app = create_app(Settings(database_url=database_url, run_scheduler=False))
    try:
        async with app.lifespan():
            cache: access.KeyCache = app.state.key_cache
            for _ in range(200):  # the revocation listener connects in the background
                if cache.enabled:
                    break
                await asyncio.sleep(0.01)
            assert cache.enabled, "the key cache is on once the process listens for revocations"
            async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client:
                yield app, client, row, key
    finally:
        async with maker.begin() as session:
            await session.execute(delete(AuditEvent).where(AuditEvent.api_key_id == row.id))
            await session.execute(delete(ApiKey).where(ApiKey.id == row.id))


async def test_an_authenticated_request_checks_out_one_connection(database_url: str, engine: AsyncEngine) -> None:
    async with serving(database_url, engine) as (app, client, _, key):
        await _one_checkout_each(app, client, key)


async def _one_checkout_each(app: Any, client: AsyncClient, key: str) -> None:
    checkouts: list[int] = []

    def count(*_: Any) -> None:
        checkouts.append(1)

    app_engine = app.state.session_maker.kw["bind"].sync_engine
    event.listen(app_engine, "checkout", count)
    try:
        auth = {"Authorization": f"Bearer {key}"}
        # The key's first use is stamped in a short transaction of its own (at most once a minute).
        assert (await client.get("/api/v1/vacancies?limit=1", headers=auth)).status_code == 200
        app.state.key_cache.clear()
        checkouts.clear()
        # The key looked up: the request's session takes one connection, and the search runs in it.
        lane: db.StatementLane = getattr(app.state, db.STATEMENT_LANE)
        lent_before = lane.lent
        response = await client.get("/api/v1/vacancies?limit=1", headers=auth)
        assert response.status_code == 200, response.text
        assert len(checkouts) == 1
        assert lane.lent == lent_before
        # The key from the cache: no session; the search takes a connection of the statement lane,
        # which keeps it: only the first such request checks one out of the pool.
        checkouts.clear()
        for _ in range(3):
            response = await client.get("/api/v1/vacancies?limit=1", headers=auth)
            assert response.status_code == 200, response.text
        assert lane.lent == lent_before + 3
        assert len(checkouts) <= 1
    finally:
        event.remove(app_engine, "checkout", count)


async def test_a_revoked_key_is_refused_once_the_revocation_is_heard(database_url: str, engine: AsyncEngine) -> None:
    async with serving(database_url, engine) as (_, client, row, key):
        await _revoke_and_see(client, row, key, engine)


async def _revoke_and_see(client: AsyncClient, row: ApiKey, key: str, engine: AsyncEngine) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/api/v1/authorities", headers=auth)).status_code == 200

    # Revoked behind the service's back (no notification): the cached key still works for a while...
    maker = db.session_maker(engine)
    async with maker.begin() as session:
        await session.execute(update(ApiKey).where(ApiKey.id == row.id).values(revoked_at=db.utcnow()))
    assert (await client.get("/api/v1/authorities", headers=auth)).status_code == 200

    # ...and once the revocation is announced (as revoking does, in its transaction), it is refused.
    async with maker.begin() as session:
        await access.notify_revoked(session, [row.id])
    statuses = []
    for _ in range(100):  # a NOTIFY arrives within milliseconds; allow a second on a busy machine
        statuses.append((await client.get("/api/v1/authorities", headers=auth)).status_code)
        if statuses[-1] == 401:
            break
        await asyncio.sleep(0.01)
    assert statuses[-1] == 401, statuses


async def test_unknown_keys_are_not_cached_so_a_new_key_works_at_once(database_url: str, engine: AsyncEngine) -> None:
    async with serving(database_url, engine) as (_, client, _, _):
        await _new_key_works(client, engine)


async def _new_key_works(client: AsyncClient, engine: AsyncEngine) -> None:
    maker = db.session_maker(engine)
    async with maker.begin() as session:
        row, key = await access.create_key(session, Role.ADMIN, "created while serving")
    try:
        assert (await client.get("/api/v1/authorities", headers={"Authorization": f"Bearer {key}x"})).status_code == 401
        assert (await client.get("/api/v1/authorities", headers={"Authorization": f"Bearer {key}"})).status_code == 200
    finally:
        async with maker.begin() as session:
            await session.execute(delete(AuditEvent).where(AuditEvent.api_key_id == row.id))
            await session.execute(delete(ApiKey).where(ApiKey.id == row.id))


async def test_a_change_made_in_the_session_authentication_opened_is_committed(
    database_url: str, engine: AsyncEngine
) -> None:
    maker = db.session_maker(engine)
    async with maker.begin() as session:
        provider = Provider(name="Sessions test provider", authority_code="E08000034")
        session.add(provider)
        await session.flush()
        scheme = Scheme(provider_id=provider.id, name="Sessions test refuge", type="dispersed",
                        authority_code="E08000034", district="HD1", address="confidential", lat=53.64, lon=-1.79,
                        genders=["female"], accepts_children=True, pets=False, accepts_nrpf=False, communal=False,
                        languages=["en"], specialisms=[], specialist_only=False)
        session.add(scheme)
        await session.flush()
        unit = Unit(scheme_id=scheme.id, label="Room", bedspaces=1, wheelchair_accessible=False, step_free=False,
                    status=UnitStatus.UNAVAILABLE)
        session.add(unit)
    try:
        async with serving(database_url, engine) as (app, client, _, key):
            auth = {"Authorization": f"Bearer {key}"}
            assert (await client.get("/api/v1/authorities", headers=auth)).status_code == 200  # key stamped
            for status in ("available", "unavailable"):
                app.state.key_cache.clear()  # so authentication looks the key up in the request's session
                answer = await client.put(f"/api/v1/units/{unit.id}/availability", json={"status": status},
                                          headers=auth)
                assert answer.status_code == 200, answer.text
                async with maker() as session:
                    assert await session.scalar(select(Unit.status).where(Unit.id == unit.id)) == status
    finally:
        async with maker.begin() as session:
            await session.execute(delete(AuditEvent).where(AuditEvent.entity == "unit",
                                                           AuditEvent.entity_id == str(unit.id)))
            await session.execute(delete(Provider).where(Provider.id == provider.id))
