"""A provider's day: its schemes and units, changes to them, confirming vacancies, known move-out dates."""

from __future__ import annotations

from datetime import timedelta

from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db import utcnow
from service.inventory.models import Unit
from tests.service.conftest import World, make_unit, scheme_body
from tests.service.workflow.conftest import TODAY, make_referral, offer


async def _age(session_maker: async_sessionmaker[AsyncSession], unit_id: int, hours: int = 30) -> None:
    async with session_maker() as session, session.begin():
        await session.execute(update(Unit).where(Unit.id == unit_id)
                              .values(confirmed_at=utcnow() - timedelta(hours=hours)))


async def test_provider_lists_its_own_schemes_with_unit_counts_and_never_an_address(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    mine = await make_unit(client, world)
    await make_unit(client, world, status="occupied")
    theirs = await make_unit(client, world, who="other_provider", scheme=scheme_body(world.other_provider_id,
                                                                                      name="Leeds refuge"))
    await _age(session_maker, mine["id"])

    response = await client.get("/api/v1/schemes", headers=world.auth("provider"))
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert {i["provider_id"] for i in items} == {world.provider_id} and len(items) == 2
    counts = sorted((i["units"]["available"], i["units"]["occupied"], i["units"]["stale"]) for i in items)
    assert counts == [(0, 1, 0), (1, 0, 1)]
    assert "address" not in response.text and "Secret Row" not in response.text

    every = (await client.get("/api/v1/schemes", headers=world.auth("admin"))).json()["items"]
    assert len(every) == 3
    assert (await client.get("/api/v1/schemes", headers=world.auth("officer"))).status_code == 403

    scheme_id = theirs["scheme_id"]
    assert (await client.get(f"/api/v1/schemes/{scheme_id}", headers=world.auth("provider"))).status_code == 403
    assert (await client.get("/api/v1/schemes/2000000000", headers=world.auth("provider"))).status_code == 404
    detail = await client.get(f"/api/v1/schemes/{mine['scheme_id']}", headers=world.auth("provider"))
    assert detail.status_code == 200 and "Secret Row" not in detail.text and "address" not in detail.text
    [unit] = detail.json()["units"]
    assert unit["id"] == mine["id"] and unit["stale"] is True and unit["version"] == 1
    assert set(unit) == {"id", "label", "bedspaces", "wheelchair_accessible", "step_free", "status",
                         "available_from", "confirmed_at", "stale", "version"}


async def test_patch_scheme_takes_an_address_without_echoing_it(client: AsyncClient, world: World) -> None:
    unit = await make_unit(client, world)
    path = f"/api/v1/schemes/{unit['scheme_id']}"
    response = await client.patch(path, json={"name": "Kirklees refuge", "address": "2 New Secret Close, HD1 2BB",
                                              "languages": ["bfi", "en"]}, headers=world.auth("provider"))
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Kirklees refuge" and response.json()["languages"] == ["bfi", "en"]
    assert "New Secret" not in response.text and "address" not in response.json()
    answer = await client.patch(path, json={"name": "Mine now"}, headers=world.auth("other_provider"))
    assert answer.status_code == 403
    assert (await client.patch(path, json={"name": "x"}, headers=world.auth("officer"))).status_code == 403
    bad = await client.patch(path, json={"accepts_children": False}, headers=world.auth("provider"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "max_children"


async def test_a_scheme_change_that_makes_a_pending_offer_infeasible_withdraws_it(
    client: AsyncClient, world: World
) -> None:
    referral = await make_referral(client, world)  # a mother and her six-year-old son
    unit = await make_unit(client, world)
    made = (await offer(client, world, referral, unit["id"])).json()
    path = f"/api/v1/schemes/{unit['scheme_id']}"
    kept = await client.patch(path, json={"pets": True}, headers=world.auth("provider"))
    assert kept.status_code == 200
    answer = await client.get(f"/api/v1/offers/{made['id']}", headers=world.auth("officer"))
    assert answer.json()["status"] == "pending"
    changed = await client.patch(path, json={"max_boy_age": 5}, headers=world.auth("provider"))
    assert changed.status_code == 200, changed.text
    read = (await client.get(f"/api/v1/offers/{made['id']}", headers=world.auth("officer"))).json()
    assert read["status"] == "withdrawn" and read["reason"] == "scheme_changed"
    assert (await client.get(f"/api/v1/units/{unit['id']}", headers=world.auth("provider"))).json()["status"] == \
        "available"


async def test_patch_unit_honours_if_match_and_the_owner(client: AsyncClient, world: World) -> None:
    unit = await make_unit(client, world)
    path = f"/api/v1/units/{unit['id']}"
    stale = await client.patch(path, json={"label": "Room 4"}, headers={**world.auth("provider"), "If-Match": '"9"'})
    assert stale.status_code == 412
    other = await client.patch(path, json={"label": "Mine"}, headers={**world.auth("other_provider"), "If-Match": "1"})
    assert other.status_code == 403
    done = await client.patch(path, json={"label": "Room 4", "step_free": True},
                              headers={**world.auth("provider"), "If-Match": '"1"'})
    assert done.status_code == 200, done.text
    assert done.json()["label"] == "Room 4" and done.json()["step_free"] is True and done.json()["version"] == 2
    assert done.headers["etag"] == '"2"'
    shrink = await client.patch(path, json={"bedspaces": 0}, headers=world.auth("provider"))
    assert shrink.status_code == 400


async def test_a_unit_change_that_makes_the_pending_offer_infeasible_withdraws_it(
    client: AsyncClient, world: World
) -> None:
    referral = await make_referral(client, world)  # two people
    unit = await make_unit(client, world)
    made = (await offer(client, world, referral, unit["id"])).json()
    response = await client.patch(f"/api/v1/units/{unit['id']}", json={"bedspaces": 1}, headers=world.auth("provider"))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "available"
    read = (await client.get(f"/api/v1/offers/{made['id']}", headers=world.auth("officer"))).json()
    assert read["status"] == "withdrawn" and read["reason"] == "unit_changed"


async def test_confirm_marks_every_unit_checked_and_refuses_another_providers_unit(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    first = await make_unit(client, world)
    second = await make_unit(client, world)
    theirs = await make_unit(client, world, who="other_provider", scheme=scheme_body(world.other_provider_id))
    for unit in (first, second, theirs):
        await _age(session_maker, unit["id"])

    refused = await client.post("/api/v1/availability/confirm", json={"unit_ids": [first["id"], theirs["id"]]},
                                headers=world.auth("provider"))
    assert refused.status_code == 403
    async with session_maker() as session:
        ages = [u.confirmed_at for u in await session.scalars(select(Unit).order_by(Unit.id))]
    assert all(at < utcnow() - timedelta(hours=29) for at in ages)

    one = await client.post("/api/v1/availability/confirm", json={"unit_ids": [first["id"]]},
                            headers=world.auth("provider"))
    assert one.status_code == 200 and one.json() == {"confirmed": 1}
    every = await client.post("/api/v1/availability/confirm", json={}, headers=world.auth("provider"))
    assert every.json() == {"confirmed": 2}
    units = (await client.get(f"/api/v1/schemes/{second['scheme_id']}", headers=world.auth("provider"))).json()
    assert [(u["stale"], u["version"], u["status"]) for u in units["units"]] == [(False, 1, "available")]
    answer = await client.post("/api/v1/availability/confirm", json={}, headers=world.auth("officer"))
    assert answer.status_code == 403
    still = (await client.get(f"/api/v1/schemes/{theirs['scheme_id']}", headers=world.auth("admin"))).json()
    assert still["units"][0]["stale"] is True


async def test_a_known_move_out_date_is_listed_as_expected_and_never_offered(
    client: AsyncClient, world: World
) -> None:
    unit = await make_unit(client, world)
    frees_on = (TODAY + timedelta(days=12)).isoformat()
    path = f"/api/v1/units/{unit['id']}/availability"
    past = await client.put(path, json={"status": "occupied", "available_from": TODAY.isoformat()},
                            headers=world.auth("provider"))
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "available_from"
    set_ = await client.put(path, json={"status": "occupied", "available_from": frees_on},
                            headers=world.auth("provider"))
    assert set_.status_code == 200 and set_.json()["available_from"] == frees_on

    plain = (await client.get("/api/v1/vacancies", headers=world.auth("officer"))).json()
    assert plain["total"] == 0
    planned = (await client.get("/api/v1/vacancies?include_expected=true", headers=world.auth("officer"))).json()
    assert [(v["unit_id"], v["expected"], v["available_from"]) for v in planned["items"]] == [
        (unit["id"], True, frees_on)
    ]
    referral = await make_referral(client, world)
    assert (await offer(client, world, referral, unit["id"])).status_code == 409
    proposals = await client.post(f"/api/v1/referrals/{referral}/proposals", headers=world.auth("officer"))
    assert proposals.json()["items"] == []
    caseload = (await client.get("/api/v1/referrals", headers=world.auth("officer"))).json()
    assert caseload["items"][0]["suitable_now"] == 0
