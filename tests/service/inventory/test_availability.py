"""Availability updates: owner only, If-Match (412), Idempotency-Key replay, held units (409)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.audit.models import AuditEvent
from service.changes.models import SuitabilityChange
from service.db import utcnow
from service.inventory.models import Unit, UnitStatus
from tests.service.conftest import World, make_unit
from tests.service.inventory.test_inventory import assert_problem

Client = AsyncClient


def path(unit: dict[str, Any]) -> str:
    return f"/api/v1/units/{unit['id']}/availability"


async def test_provider_confirms_availability_and_the_version_moves(client: Client, world: World) -> None:
    unit = await make_unit(client, world)
    response = await client.put(path(unit), json={"status": "unavailable"}, headers=world.auth("provider"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "unavailable" and body["version"] == 2 and body["confirmed_at"]
    assert response.headers["etag"] == '"2"'
    response = await client.put(path(unit), json={"status": "available", "available_from": "2026-12-01"},
                                headers={**world.auth("admin"), "If-Match": '"2"'})
    assert response.status_code == 200 and response.json()["available_from"] == "2026-12-01"
    assert response.json()["version"] == 3


async def test_stale_if_match_is_refused_and_changes_nothing(client: Client, world: World) -> None:
    unit = await make_unit(client, world)
    auth = world.auth("provider")
    assert (await client.put(path(unit), json={"status": "occupied"}, headers={**auth, "If-Match": "1"})
            ).status_code == 200
    problem = assert_problem(
        await client.put(path(unit), json={"status": "available"}, headers={**auth, "If-Match": "1"}), 412
    )
    assert "version 2" in problem["detail"]
    current = (await client.get(f"/api/v1/units/{unit['id']}", headers=auth)).json()
    assert current["status"] == "occupied" and current["version"] == 2
    for odd in ("two", "\u00b2".encode("latin-1"), "1" * 12):
        assert_problem(await client.put(path(unit), json={"status": "available"}, headers={**auth, "If-Match": odd}),
                       422, "If-Match")


async def test_only_the_owning_provider_or_admin_changes_availability(client: Client, world: World) -> None:
    unit = await make_unit(client, world)
    for who in ("other_provider",):
        assert_problem(await client.put(path(unit), json={"status": "occupied"}, headers=world.auth(who)), 403)
    for who in ("officer", "commissioner"):
        assert_problem(await client.put(path(unit), json={"status": "occupied"}, headers=world.auth(who)), 403)
    assert_problem(await client.put(path(unit), json={"status": "occupied"}), 401)
    assert_problem(await client.put("/api/v1/units/999999/availability", json={"status": "occupied"},
                                    headers=world.auth("admin")), 404)
    assert_problem(await client.put(path(unit), json={"status": "held"}, headers=world.auth("provider")),
                   400, "status")
    assert_problem(await client.put(path(unit), json={"status": "available", "available_from": "soon"},
                                    headers=world.auth("provider")), 400, "available_from")
    assert_problem(await client.put(path(unit), json={"status": "available", "available_from": "0001-01-01"},
                                    headers=world.auth("provider")), 422, "available_from")
    # Whose unit it is, and whether it exists, are answered before what is wrong with the date.
    past = {"status": "occupied", "available_from": (utcnow().date() - timedelta(days=1)).isoformat()}
    assert_problem(await client.put(path(unit), json=past, headers=world.auth("provider")), 422, "available_from")
    assert_problem(await client.put(path(unit), json=past, headers=world.auth("other_provider")), 403)
    assert_problem(await client.put("/api/v1/units/999999/availability", json=past, headers=world.auth("admin")), 404)


async def test_idempotency_key_replays_the_first_answer(client: Client, world: World) -> None:
    unit = await make_unit(client, world)
    headers = {**world.auth("provider"), "Idempotency-Key": "retry-1", "If-Match": "1"}
    first = await client.put(path(unit), json={"status": "occupied"}, headers=headers)
    again = await client.put(path(unit), json={"status": "occupied"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    current = (await client.get(f"/api/v1/units/{unit['id']}", headers=world.auth("provider"))).json()
    assert current["version"] == 2  # applied once
    reused = await client.put(path(unit), json={"status": "unavailable"}, headers=headers)
    assert_problem(reused, 422, "Idempotency-Key")


async def test_a_held_unit_cannot_be_changed_by_hand(
    client: Client, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    unit = await make_unit(client, world)
    async with session_maker() as session, session.begin():
        await session.execute(update(Unit).where(Unit.id == unit["id"]).values(status=UnitStatus.HELD))
    assert_problem(await client.put(path(unit), json={"status": "available"}, headers=world.auth("provider")), 409)


async def test_each_change_is_audited_and_a_unit_that_comes_free_is_queued_for_the_recheck(
    client: Client, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    unit = await make_unit(client, world)

    async def recorded() -> tuple[int, int]:
        async with session_maker() as session:
            audited = await session.scalar(
                select(func.count()).select_from(AuditEvent).where(
                    AuditEvent.entity == "unit", AuditEvent.entity_id == str(unit["id"]),
                    AuditEvent.action == "availability", AuditEvent.outcome == "ok"))
            noted = await session.scalar(
                select(func.count()).select_from(SuitabilityChange).where(SuitabilityChange.unit_id == unit["id"]))
            return int(audited or 0), int(noted or 0)

    audited, noted = await recorded()
    auth = world.auth("provider")
    assert (await client.put(path(unit), json={"status": "unavailable"}, headers=auth)).status_code == 200
    assert await recorded() == (audited + 1, noted)  # audited; nothing newly free to re-check
    assert (await client.put(path(unit), json={"status": "available"}, headers=auth)).status_code == 200
    assert await recorded() == (audited + 2, noted + 1)  # came free: queued for the re-check
    assert (await client.put(path(unit), json={"status": "available"}, headers=auth)).status_code == 200
    assert await recorded() == (audited + 3, noted + 1)  # confirmed again: was already free

    # A refusal changes nothing and is not recorded as done; the first rule that fails answers,
    # in order: whose unit it is, then If-Match, then a pending offer, then a household living there.
    assert_problem(await client.put(path(unit), json={"status": "unavailable"},
                                    headers={**world.auth("other_provider"), "If-Match": "1"}), 403)
    assert_problem(await client.put(path(unit), json={"status": "unavailable"}, headers={**auth, "If-Match": "1"}),
                   412)
    async with session_maker() as session, session.begin():
        await session.execute(update(Unit).where(Unit.id == unit["id"]).values(status=UnitStatus.HELD))
    assert_problem(await client.put(path(unit), json={"status": "unavailable"}, headers={**auth, "If-Match": "1"}),
                   412)
    assert await recorded() == (audited + 3, noted + 1)
    current = (await client.get(f"/api/v1/units/{unit['id']}", headers=auth)).json()
    assert current["status"] == "held" and current["version"] == 4
