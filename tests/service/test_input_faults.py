"""Small faults of input (issue 13, item 9): each answered 4xx, never 500, and the data rules that were missing."""

from __future__ import annotations

from datetime import timedelta

from httpx import AsyncClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.idempotency.models import IdempotencyRecord
from service.jobs import all_jobs, purge_idempotency
from service.settings import Settings
from tests.service.conftest import KIRKLEES, LEEDS, World, make_unit, scheme_body
from tests.service.inventory.test_inventory import assert_problem


async def test_deeply_nested_json_is_refused_not_a_crash(client: AsyncClient, world: World) -> None:
    auth = {**world.auth("officer"), "Content-Type": "application/json"}
    for body in ("[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000,
                 '{"referrals": ' + "[" * 5_000 + "]" * 5_000 + ', "units": []}'):
        response = await client.post("/api/v1/optimiser/solve", content=body, headers=auth)
        assert 400 <= response.status_code < 500, response.status_code
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_query_values_with_nul_or_too_long_are_400(client: AsyncClient, world: World) -> None:
    auth = world.auth("officer")
    for params in ({"language": "\x00"}, {"language": "e" * 5_000}, {"district": "\x00"}, {"specialism": "\x00"},
                   {"authority": "E0800003\x00"}, {"type": "x" * 5_000}, {"available_by": "\x00"}):
        assert_problem(await client.get("/api/v1/vacancies", params=params, headers=auth), 400)
    assert (await client.get("/api/v1/vacancies", params={"language": "ur"}, headers=auth)).status_code == 200


async def test_a_huge_offset_is_400(client: AsyncClient, world: World) -> None:
    for path, who in (("/api/v1/webhooks", "provider"), ("/api/v1/vacancies", "officer"), ("/api/v1/keys", "admin")):
        for offset in ("9223372036854775808", "1000001", "-1"):
            response = await client.get(path, params={"offset": offset}, headers=world.auth(who))
            assert_problem(response, 400, "offset")


async def test_a_scheme_district_must_be_in_the_schemes_authority(client: AsyncClient, world: World) -> None:
    auth = world.auth("provider")
    # LS1 is Leeds: not a Kirklees scheme's district.
    wrong = scheme_body(world.provider_id, authority=KIRKLEES, district="LS1")
    assert_problem(await client.post("/api/v1/schemes", json=wrong, headers=auth), 422, "district")
    right = scheme_body(world.provider_id, authority=LEEDS, district="LS1")
    assert (await client.post("/api/v1/schemes", json=right, headers=auth)).status_code == 201


async def test_idempotency_records_are_purged_by_a_job(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    assert "idempotency.purge" in {job.name for job in all_jobs(Settings())}
    unit = await make_unit(client, world)
    for n in (1, 2):
        headers = {**world.auth("provider"), "Idempotency-Key": f"purge-{n}"}
        response = await client.put(f"/api/v1/units/{unit['id']}/availability", json={"status": "available"},
                                    headers=headers)
        assert response.status_code == 200, response.text
    async with session_maker() as session, session.begin():
        await session.execute(update(IdempotencyRecord).where(IdempotencyRecord.key == "purge-1")
                              .values(created_at=func.now() - timedelta(days=2)))
        await purge_idempotency(session, Settings())
    async with session_maker() as session:
        left = set(await session.scalars(select(IdempotencyRecord.key).where(IdempotencyRecord.key.like("purge-%"))))
    assert left == {"purge-2"}
