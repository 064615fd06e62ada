"""Forty officers offer the same room at once, over real HTTP: the database lets exactly one through."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
import uvicorn
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from service import db
from service.access import service as access
from service.access.models import ApiKey, Role
from service.app import create_app
from service.audit.models import AuditEvent
from service.inventory.models import Provider, Unit, UnitStatus
from service.offers.models import Offer
from service.referrals.models import Referral, ReferralStatus, Risk
from service.settings import Settings
from tests.service.conftest import KIRKLEES
from tests.support import add_refuge_unit, free_port

RACERS = 40



@pytest.fixture
async def contested(engine: AsyncEngine) -> AsyncIterator[tuple[str, str, int, list[int]]]:
    maker = db.session_maker(engine)
    async with maker.begin() as session:
        provider_id, unit_id = await add_refuge_unit(session, KIRKLEES, "Contested refuge", bedspaces=3)
        key_row, key = await access.create_key(session, Role.OFFICER, "racing officer", authority=KIRKLEES)
        referrals = [
            Referral(authority_code=KIRKLEES, status=ReferralStatus.OPEN, risk=Risk.HIGH, marac=False,
                     referred_on=date(2026, 11, 1), household={"adults": [{"gender": "female", "age": 30}],
                                                                "children": []},
                     needs={}, safety={}, preferences={}, equality={})
            for _ in range(RACERS)
        ]
        session.add_all(referrals)
        await session.flush()
        ids = [r.id for r in referrals]
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(run_scheduler=False), session_maker=maker),
                                           host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  (uvicorn exposes a flag, not an event)
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", key, unit_id, ids
    finally:
        server.should_exit = True
        await task
        async with maker.begin() as session:
            await session.execute(delete(Referral).where(Referral.id.in_(ids)))
            await session.execute(delete(AuditEvent).where(AuditEvent.api_key_id == key_row.id))
            await session.execute(delete(ApiKey).where(ApiKey.id == key_row.id))
            await session.execute(delete(Provider).where(Provider.id == provider_id))


async def test_forty_concurrent_offers_for_one_unit_one_wins(
    engine: AsyncEngine, contested: tuple[str, str, int, list[int]]
) -> None:
    url, key, unit_id, referral_ids = contested
    limits = httpx.Limits(max_connections=RACERS)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, limits=limits,
                                 timeout=60) as client:
        responses = await asyncio.gather(*[
            client.post("/api/v1/offers", json={"referral_id": rid, "unit_id": unit_id}) for rid in referral_ids
        ])
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * (RACERS - 1), [r.text for r in responses if r.status_code not in (201, 409)]
    async with db.session_maker(engine)() as session:
        live = list(await session.scalars(select(Offer).where(Offer.unit_id == unit_id)))
        unit = await session.get(Unit, unit_id)
    assert len(live) == 1 and live[0].status == "pending"
    assert unit is not None and unit.status == UnitStatus.HELD and unit.version == 2
