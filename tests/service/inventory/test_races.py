"""Races decided by the database: these tests commit, so they clean up after themselves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from service import db
from service.access import service as access
from service.access.models import Role
from service.app import create_app
from service.audit.models import AuditEvent
from service.inventory.models import Provider
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
