"""Races decided by the database: these tests commit, so they clean up after themselves."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from service import db
from service.access import service as access
from service.access.models import ApiKey, Role
from service.app import create_app
from service.audit.models import AuditEvent
from service.caller import Caller
from service.errors import Conflict, PreconditionFailed
from service.inventory import service as inventory
from service.inventory.models import Provider, Unit, UnitStatus
from service.inventory.schemas import AvailabilityIn
from service.offers import service as offers
from service.offers.models import Offer, OfferStatus, Placement
from service.referrals.models import Referral, ReferralStatus, Risk
from service.settings import Settings
from tests.service.conftest import KIRKLEES
from tests.support import add_refuge_unit


@pytest.fixture
async def committed_unit(engine: AsyncEngine) -> AsyncIterator[tuple[AsyncClient, dict[str, str], int]]:
    maker = db.session_maker(engine)
    async with maker.begin() as session:
        provider_id, unit_id = await add_refuge_unit(session, KIRKLEES, "Race refuge")
        key_row, key = await access.create_key(session, Role.PROVIDER, "race", provider_id=provider_id)
    app = create_app(Settings(run_scheduler=False), session_maker=maker)
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client:
            yield client, {"Authorization": f"Bearer {key}"}, unit_id
    finally:
        async with maker.begin() as session:
            await session.execute(delete(AuditEvent).where(AuditEvent.api_key_id == key_row.id))
            await session.execute(delete(Provider).where(Provider.id == provider_id))


async def test_two_writers_with_the_same_if_match_one_wins_one_gets_412(
    committed_unit: tuple[AsyncClient, dict[str, str], int],
) -> None:
    client, auth, unit_id = committed_unit
    for round_ in range(1, 6):
        version = round_ * 1  # each round starts from the version the last winner left
        current = (await client.get(f"/api/v1/units/{unit_id}", headers=auth)).json()["version"]
        responses = await asyncio.gather(*[
            client.put(f"/api/v1/units/{unit_id}/availability", json={"status": status},
                       headers={**auth, "If-Match": str(current)})
            for status in ("occupied", "unavailable")
        ])
        codes = sorted(r.status_code for r in responses)
        assert codes == [200, 412], [r.text for r in responses]
        winner = next(r for r in responses if r.status_code == 200).json()
        final = (await client.get(f"/api/v1/units/{unit_id}", headers=auth)).json()
        assert final["version"] == current + 1 == winner["version"]
        assert final["status"] == winner["status"]
        assert version >= 1


async def test_racing_retries_with_one_idempotency_key_apply_once(
    committed_unit: tuple[AsyncClient, dict[str, str], int],
) -> None:
    client, auth, unit_id = committed_unit
    headers: dict[str, Any] = {**auth, "Idempotency-Key": "same-request"}
    responses = await asyncio.gather(*[
        client.put(f"/api/v1/units/{unit_id}/availability", json={"status": "occupied"}, headers=headers)
        for _ in range(6)
    ])
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["version"] for r in responses}) == 1
    assert (await client.get(f"/api/v1/units/{unit_id}", headers=auth)).json()["version"] == 2


@contextlib.asynccontextmanager
async def _connection(engine: AsyncEngine, via: str) -> AsyncIterator[db.Executor]:
    """A bare connection of the engine, or one of a statement lane over its pool (as the app runs an update)."""
    if via == "connection":
        async with engine.connect() as connection:
            yield connection
        return
    lane = db.StatementLane(engine, size=1)
    try:
        async with lane.connection() as connection:
            yield connection
    finally:
        await lane.close()


@pytest.mark.parametrize("via", ["connection", "lane"])
async def test_a_household_moving_in_while_an_update_waits_keeps_the_unit_occupied(
    engine: AsyncEngine, via: str,
) -> None:
    # An offer is accepted (the unit locked, made occupied, a placement recorded) while a provider's
    # "available" waits for the unit's lock: once it gets it, it must see the household, not free the unit.
    maker = db.session_maker(engine)
    async with maker.begin() as session:
        provider_id, unit_id = await add_refuge_unit(session, KIRKLEES, "Moving-in refuge")
        referral = Referral(authority_code=KIRKLEES, status=ReferralStatus.OPEN, risk=Risk.HIGH, marac=False,
                            referred_on=date(2026, 11, 1), household={"adults": [{"gender": "female", "age": 30}],
                                                                       "children": []},
                            needs={}, safety={}, preferences={}, equality={})
        session.add(referral)
        await session.flush()
        made = Offer(referral_id=referral.id, unit_id=unit_id, status=OfferStatus.PENDING,
                     expires_at=db.utcnow() + timedelta(hours=4))
        session.add(made)
        await session.flush()
        referral_id, offer_id = referral.id, made.id
        key_row, _ = await access.create_key(session, Role.PROVIDER, "moving in", provider_id=provider_id)
    caller = Caller(key_id=key_row.id, role=Role.PROVIDER, provider_id=provider_id)
    try:
        async with engine.connect() as accepting:
            async with accepting.begin():
                await accepting.execute(select(Unit.id).where(Unit.id == unit_id).with_for_update())
                await accepting.execute(update(Unit).where(Unit.id == unit_id)
                                        .values(status=UnitStatus.OCCUPIED, version=Unit.version + 1))
                await accepting.execute(insert(Placement).values(offer_id=offer_id, referral_id=referral_id,
                                                                 unit_id=unit_id, started_on=db.utcnow().date()))

                async def free_it() -> Any:
                    async with _connection(engine, via) as connection:
                        return await inventory.set_availability(connection, caller, unit_id,
                                                                AvailabilityIn(status="available"), None,
                                                                lived_in=offers.lived_in)

                waiting = asyncio.create_task(free_it())
                await asyncio.sleep(0.5)  # the update is waiting for the unit's lock
                assert not waiting.done()
            with pytest.raises(Conflict):  # committed: the household is there
                await waiting
        async with maker() as session:
            assert await session.scalar(select(Unit.status).where(Unit.id == unit_id)) == UnitStatus.OCCUPIED
    finally:
        async with maker.begin() as session:
            await session.execute(delete(Referral).where(Referral.id == referral_id))
            await session.execute(delete(AuditEvent).where(AuditEvent.api_key_id == key_row.id))
            await session.execute(delete(ApiKey).where(ApiKey.id == key_row.id))
            await session.execute(delete(Provider).where(Provider.id == provider_id))


async def test_two_updates_on_the_statement_lane_with_the_same_if_match_one_wins(engine: AsyncEngine) -> None:
    # As the served app runs an update whose key was cached: each on a connection of the lane, at once.
    maker = db.session_maker(engine)
    async with maker.begin() as session:
        provider_id, unit_id = await add_refuge_unit(session, KIRKLEES, "Lane race refuge")
        key_row, _ = await access.create_key(session, Role.PROVIDER, "lane race", provider_id=provider_id)
        version = (await session.get_one(Unit, unit_id)).version
    caller = Caller(key_id=key_row.id, role=Role.PROVIDER, provider_id=provider_id)
    lane = db.StatementLane(engine, size=2)

    async def update(status: str) -> Any:
        async with lane.connection() as connection:
            return await inventory.set_availability(connection, caller, unit_id, AvailabilityIn(status=status),
                                                    version, lived_in=offers.lived_in)

    try:
        for _ in range(5):
            outcomes = await asyncio.gather(update("occupied"), update("unavailable"), return_exceptions=True)
            won = [o for o in outcomes if not isinstance(o, BaseException)]
            assert len(won) == 1, outcomes
            assert sum(isinstance(o, PreconditionFailed) for o in outcomes) == 1, outcomes
            async with maker() as session:
                unit = await session.get_one(Unit, unit_id)
                assert (unit.version, unit.status.value) == (version + 1, won[0].status)
            version += 1
        assert lane.lent == 10
    finally:
        await lane.close()
        async with maker.begin() as session:
            await session.execute(delete(AuditEvent).where(AuditEvent.api_key_id == key_row.id))
            await session.execute(delete(ApiKey).where(ApiKey.id == key_row.id))
            await session.execute(delete(Provider).where(Provider.id == provider_id))
