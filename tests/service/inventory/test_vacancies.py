"""The vacancy search: who may search, filters, staleness, pagination, and never an address."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db import utcnow
from service.inventory.models import Unit
from tests.service.conftest import CALDERDALE, KIRKLEES, World, make_unit, scheme_body
from tests.service.inventory.test_inventory import assert_problem

ADDRESS = "1 Secret Row, Huddersfield HD1 1AA"


async def vacancies(client: AsyncClient, world: World, who: str = "officer", **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/vacancies", params=params, headers=world.auth(who))
    assert response.status_code == 200, response.text
    assert ADDRESS not in response.text and "address" not in response.text
    return response.json()  # type: ignore[no-any-return]


async def seed(client: AsyncClient, world: World) -> dict[str, dict[str, Any]]:
    units = {
        "refuge": await make_unit(client, world, bedspaces=3),
        "accessible": await make_unit(
            client, world, scheme=scheme_body(world.provider_id, type="dispersed", name="Flats", district="HD3",
                                              pets=True, accepts_nrpf=True, communal=False, languages=["pl"]),
            bedspaces=5, wheelchair_accessible=True,
        ),
        "calderdale": await make_unit(
            client, world, who="admin",
            scheme=scheme_body(world.other_provider_id, authority=CALDERDALE, district="HX1",
                               type="specialist_refuge", specialisms=["lgbtq"], specialist_only=True,
                               genders=["female", "male", "non_binary"]),
            bedspaces=1, step_free=True,
        ),
        "occupied": await make_unit(client, world, status="occupied"),
    }
    return units


async def test_officer_commissioner_and_admin_search_providers_may_not(client: AsyncClient, world: World) -> None:
    units = await seed(client, world)
    found = {item["unit_id"] for item in (await vacancies(client, world))["items"]}
    assert {units["refuge"]["id"], units["accessible"]["id"], units["calderdale"]["id"]} <= found
    assert units["occupied"]["id"] not in found
    for who in ("commissioner", "national_commissioner", "admin", "leeds_officer"):
        await vacancies(client, world, who)
    assert_problem(await client.get("/api/v1/vacancies", headers=world.auth("provider")), 403)
    assert_problem(await client.get("/api/v1/vacancies"), 401)


async def test_filters(client: AsyncClient, world: World) -> None:
    units = await seed(client, world)

    async def ids(**params: Any) -> set[int]:
        return {item["unit_id"] for item in (await vacancies(client, world, **params))["items"]}

    mine = {u["id"] for u in units.values()}
    assert await ids(wheelchair_accessible="true") & mine == {units["accessible"]["id"]}
    assert await ids(step_free="true") & mine == {units["accessible"]["id"], units["calderdale"]["id"]}
    assert await ids(authority=CALDERDALE) & mine == {units["calderdale"]["id"]}
    assert await ids(type="dispersed", district="hd3") & mine == {units["accessible"]["id"]}
    assert await ids(min_bedspaces=5) & mine == {units["accessible"]["id"]}
    assert await ids(language="pl", pets="true", accepts_nrpf="true") & mine == {units["accessible"]["id"]}
    assert await ids(specialism="lgbtq", gender="male") & mine == {units["calderdale"]["id"]}
    assert await ids(authority=KIRKLEES, communal="true") & mine == {units["refuge"]["id"]}


async def test_listing_shows_eligibility_and_staleness(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    units = await seed(client, world)
    async with session_maker() as session, session.begin():
        await session.execute(update(Unit).where(Unit.id == units["refuge"]["id"])
                              .values(confirmed_at=utcnow() - timedelta(hours=25)))
    items = {i["unit_id"]: i for i in (await vacancies(client, world, authority=KIRKLEES, limit=200))["items"]}
    refuge, flats = items[units["refuge"]["id"]], items[units["accessible"]["id"]]
    assert refuge["stale"] is True and flats["stale"] is False
    assert refuge["max_boy_age"] == 14 and refuge["communal"] is True and refuge["district"] == "HD1"
    assert "lat" not in refuge and "lon" not in refuge
    fresh = {i["unit_id"] for i in (await vacancies(client, world, include_stale="false", limit=200))["items"]}
    assert units["refuge"]["id"] not in fresh and units["accessible"]["id"] in fresh
    # An officer placing a household with an assistance dog sees why a refuge cannot take one.
    reason = "a resident's severe allergy, confirmed by the GP"
    no_dogs = await make_unit(client, world, scheme=scheme_body(world.provider_id, name="Allergy-safe refuge",
                                                                no_assistance_dog_reason=reason))
    items = {i["unit_id"]: i for i in (await vacancies(client, world, authority=KIRKLEES, limit=200))["items"]}
    assert items[no_dogs["id"]]["no_assistance_dog_reason"] == reason
    assert items[units["accessible"]["id"]]["no_assistance_dog_reason"] is None


async def test_pagination(client: AsyncClient, world: World) -> None:
    await seed(client, world)
    whole = await vacancies(client, world, limit=200)
    first = await vacancies(client, world, limit=2, offset=0)
    second = await vacancies(client, world, limit=2, offset=2)
    assert first["total"] == second["total"] == whole["total"] >= 3
    assert first["limit"] == 2 and second["offset"] == 2
    assert [i["unit_id"] for i in first["items"] + second["items"]] == [i["unit_id"] for i in whole["items"][:4]]
    assert_problem(await client.get("/api/v1/vacancies", params={"limit": 0}, headers=world.auth("officer")),
                   400, "limit")
    assert_problem(await client.get("/api/v1/vacancies", params={"limit": 201}, headers=world.auth("officer")),
                   400, "limit")
    assert_problem(await client.get("/api/v1/vacancies", params={"specialism": "x"}, headers=world.auth("officer")),
                   400, "specialism")
