"""Proposals, match runs, offers, placements: the whole path through the HTTP API, with every refusal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db import utcnow
from service.inventory.models import Unit
from service.offers import service as offers_service
from service.offers.models import Offer
from tests.service.conftest import World, make_unit, scheme_body
from tests.service.inventory.test_inventory import assert_problem
from tests.service.workflow.conftest import make_referral, offer


async def unit_status(client: AsyncClient, world: World, unit_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/units/{unit_id}", headers=world.auth("provider"))
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


async def vacancy_ids(client: AsyncClient, world: World) -> set[int]:
    response = await client.get("/api/v1/vacancies", params={"limit": 200}, headers=world.auth("officer"))
    return {item["unit_id"] for item in response.json()["items"]}


async def test_offer_accept_placement_end(client: AsyncClient, world: World) -> None:
    unit = await make_unit(client, world)
    referral_id = await make_referral(client, world)
    response = await offer(client, world, referral_id, unit["id"])
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["status"] == "pending"
    assert (await unit_status(client, world, unit["id"]))["status"] == "held"
    assert unit["id"] not in await vacancy_ids(client, world)

    # Another provider is told nothing: the same 404 as for an offer that does not exist.
    assert_problem(await client.post(f"/api/v1/offers/{made['id']}/accept", headers=world.auth("other_provider")), 404)
    assert_problem(await client.post(f"/api/v1/offers/{made['id']}/accept", headers=world.auth("officer")), 403)
    response = await client.post(f"/api/v1/offers/{made['id']}/accept", headers=world.auth("provider"))
    assert response.status_code == 200
    placement_id = response.json()["placement_id"]
    assert (await unit_status(client, world, unit["id"]))["status"] == "occupied"
    referral = (await client.get(f"/api/v1/referrals/{referral_id}", headers=world.auth("officer"))).json()
    assert referral["status"] == "placed"
    assert_problem(await client.post(f"/api/v1/offers/{made['id']}/accept", headers=world.auth("provider")), 409)

    for who in ("officer", "provider", "admin"):
        placement = await client.get(f"/api/v1/placements/{placement_id}", headers=world.auth(who))
        assert placement.status_code == 200
        assert placement.json()["address"] == scheme_body(world.provider_id)["address"]
    for who in ("leeds_officer", "other_provider"):
        assert_problem(await client.get(f"/api/v1/placements/{placement_id}", headers=world.auth(who)), 404)
    assert_problem(await client.get(f"/api/v1/placements/{placement_id}", headers=world.auth("commissioner")), 403)

    freed_by_hand = await client.put(f"/api/v1/units/{unit['id']}/availability", json={"status": "available"},
                                     headers=world.auth("provider"))
    assert_problem(freed_by_hand, 409)  # a household lives there: end the placement instead
    assert unit["id"] not in await vacancy_ids(client, world)

    today = utcnow().date()
    assert_problem(await client.post(f"/api/v1/placements/{placement_id}/end",
                                     json={"ended_on": (today + timedelta(days=1)).isoformat(),
                                           "destination": "own_tenancy"}, headers=world.auth("provider")),
                   422, "ended_on")
    assert_problem(await client.post(f"/api/v1/placements/{placement_id}/end",
                                     json={"ended_on": today.isoformat(), "destination": "moon"},
                                     headers=world.auth("provider")), 400, "destination")
    response = await client.post(f"/api/v1/placements/{placement_id}/end",
                                 json={"ended_on": today.isoformat(), "destination": "own_tenancy"},
                                 headers=world.auth("officer"))
    assert response.status_code == 200 and response.json()["destination"] == "own_tenancy"
    assert (await unit_status(client, world, unit["id"]))["status"] == "available"
    assert unit["id"] in await vacancy_ids(client, world)
    assert_problem(await client.post(f"/api/v1/placements/{placement_id}/end",
                                     json={"ended_on": today.isoformat(), "destination": "own_tenancy"},
                                     headers=world.auth("provider")), 409)


async def test_offer_refusals(client: AsyncClient, world: World) -> None:
    unit = await make_unit(client, world)
    first, second = await make_referral(client, world), await make_referral(client, world)
    assert (await offer(client, world, first, unit["id"])).status_code == 201
    problem = assert_problem(await offer(client, world, second, unit["id"]), 409)
    assert "not available" in problem["detail"]
    other_unit = await make_unit(client, world)
    assert_problem(await offer(client, world, first, other_unit["id"]), 409)  # one pending offer per referral
    assert_problem(await offer(client, world, second, 999999), 404)
    assert_problem(await offer(client, world, second, other_unit["id"], who="leeds_officer"), 404)
    for who in ("provider", "commissioner", "admin"):
        assert_problem(await offer(client, world, second, other_unit["id"], who=who), 403)


async def test_an_infeasible_pair_is_refused_with_its_rule_codes(client: AsyncClient, world: World) -> None:
    small = await make_unit(client, world, bedspaces=1)
    referral_id = await make_referral(client, world, needs={"wheelchair": True})
    problem = assert_problem(await offer(client, world, referral_id, small["id"]), 422)
    assert set(problem["codes"]) == {"household_size", "wheelchair"}
    assert (await unit_status(client, world, small["id"]))["status"] == "available"


async def test_declines_and_withdrawals_free_the_unit_and_keep_the_reason(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    unit = await make_unit(client, world)
    referral_id = await make_referral(client, world)
    made = (await offer(client, world, referral_id, unit["id"])).json()
    assert_problem(await client.post(f"/api/v1/offers/{made['id']}/decline", json={"reason": "because"},
                                     headers=world.auth("provider")), 400, "reason")
    assert_problem(await client.post(f"/api/v1/offers/{made['id']}/decline", json={"reason": "other"},
                                     headers=world.auth("leeds_officer")), 404)
    response = await client.post(f"/api/v1/offers/{made['id']}/decline", json={"reason": "needs_not_met"},
                                 headers=world.auth("provider"))
    assert response.status_code == 200 and response.json()["status"] == "declined"
    assert response.json()["decline_reason"] == "needs_not_met"
    assert (await unit_status(client, world, unit["id"]))["status"] == "available"
    assert_problem(await client.post(f"/api/v1/offers/{made['id']}/decline", json={"reason": "other"},
                                     headers=world.auth("provider")), 409)

    again = (await offer(client, world, referral_id, unit["id"])).json()
    assert_problem(await client.post(f"/api/v1/offers/{again['id']}/withdraw", headers=world.auth("provider")), 403)
    response = await client.post(f"/api/v1/offers/{again['id']}/withdraw", headers=world.auth("officer"))
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    assert (await unit_status(client, world, unit["id"]))["status"] == "available"
    read = await client.get(f"/api/v1/offers/{made['id']}", headers=world.auth("provider"))
    assert read.status_code == 200 and read.json()["decline_reason"] == "needs_not_met"
    assert_problem(await client.get(f"/api/v1/offers/{made['id']}", headers=world.auth("other_provider")), 404)


async def test_a_pending_offer_expires_and_frees_the_unit(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    unit = await make_unit(client, world)
    referral_id = await make_referral(client, world)
    made = (await offer(client, world, referral_id, unit["id"])).json()
    async with session_maker() as session, session.begin():
        await session.execute(update(Offer).where(Offer.id == made["id"])
                              .values(expires_at=utcnow() - timedelta(minutes=1)))
    assert_problem(await client.post(f"/api/v1/offers/{made['id']}/accept", headers=world.auth("provider")), 409)
    async with session_maker() as session, session.begin():
        assert await offers_service.expire_offers(session) >= 1
    expired = await client.get(f"/api/v1/offers/{made['id']}", headers=world.auth("officer"))
    assert expired.json()["status"] == "expired"
    assert (await unit_status(client, world, unit["id"]))["status"] == "available"
    assert (await offer(client, world, referral_id, unit["id"])).status_code == 201


async def test_closing_waits_for_a_pending_offer(client: AsyncClient, world: World) -> None:
    unit = await make_unit(client, world)
    referral_id = await make_referral(client, world)
    assert (await offer(client, world, referral_id, unit["id"])).status_code == 201
    assert_problem(await client.post(f"/api/v1/referrals/{referral_id}/close",
                                     json={"outcome": "withdrawn", "reason": "no_contact"},
                                     headers=world.auth("officer")), 409)


async def test_linked_households_are_never_placed_under_one_roof(client: AsyncClient, world: World) -> None:
    body = scheme_body(world.provider_id)
    first_unit = await make_unit(client, world, scheme=body)
    second_unit = (await client.post(f"/api/v1/schemes/{first_unit['scheme_id']}/units",
                                     json={"label": "Room 2", "bedspaces": 3}, headers=world.auth("provider"))).json()
    elsewhere = await make_unit(client, world, scheme=scheme_body(world.provider_id, district="HD7"))
    first = await make_referral(client, world)
    second = await make_referral(client, world, safety={"separate_from": [first]})
    assert (await offer(client, world, first, first_unit["id"])).status_code == 201
    problem = assert_problem(await offer(client, world, second, second_unit["id"]), 422)
    assert problem["codes"] == ["separation"]
    proposals = (await client.post(f"/api/v1/referrals/{second}/proposals", headers=world.auth("officer"))).json()
    proposed = {item["unit_id"] for item in proposals["items"]}
    assert second_unit["id"] not in proposed and elsewhere["id"] in proposed
    assert proposals["excluded"]["separation"] >= 1
    assert (await offer(client, world, second, elsewhere["id"])).status_code == 201


async def test_proposals_rank_feasible_units_and_count_exclusions(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    fits = await make_unit(client, world, scheme=scheme_body(world.provider_id, district="HD7"))
    too_small = await make_unit(client, world, bedspaces=1)
    stale = await make_unit(client, world, scheme=scheme_body(world.provider_id, district="HD8"))
    async with session_maker() as session, session.begin():
        await session.execute(update(Unit).where(Unit.id == stale["id"])
                              .values(confirmed_at=utcnow() - timedelta(days=3)))
    referral_id = await make_referral(client, world)
    response = await client.post(f"/api/v1/referrals/{referral_id}/proposals", headers=world.auth("officer"))
    assert response.status_code == 200
    result = response.json()
    ids = [item["unit_id"] for item in result["items"]]
    assert fits["id"] in ids and too_small["id"] not in ids and stale["id"] not in ids
    best = next(item for item in result["items"] if item["unit_id"] == fits["id"])
    assert best["reasons"] and 0 <= best["score"] <= 100
    assert result["excluded"].get("household_size", 0) >= 1
    assert [item["score"] for item in result["items"]] == sorted((i["score"] for i in result["items"]), reverse=True)
    assert_problem(await client.post(f"/api/v1/referrals/{referral_id}/proposals",
                                     headers=world.auth("leeds_officer")), 404)
    assert_problem(await client.post(f"/api/v1/referrals/{referral_id}/proposals",
                                     headers=world.auth("provider")), 403)


async def test_a_match_run_places_the_high_risk_household_first(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    async with session_maker() as session, session.begin():  # only this test's units are available
        await session.execute(update(Unit).values(status="unavailable"))
    only = await make_unit(client, world, scheme=scheme_body(world.provider_id, district="HD7"))
    standard = await make_referral(client, world, risk="standard")
    high = await make_referral(client, world, risk="high",
                               referred_on=utcnow().date().isoformat())  # referred later than the other
    response = await client.post("/api/v1/match-runs", headers=world.auth("officer"))
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["id"] > 0 and run["status"] == "optimal"
    assert [(a["referral"], a["unit"]) for a in run["assignments"]] == [(high, only["id"])]
    left = {u["referral"]: {r["code"] for r in u["reasons"]} for u in run["unassigned"]}
    assert "capacity" in left[standard]
    assert_problem(await client.post("/api/v1/match-runs", headers=world.auth("provider")), 403)
    leeds = (await client.post("/api/v1/match-runs", headers=world.auth("leeds_officer"))).json()
    assert leeds["assignments"] == [] and leeds["unassigned"] == []  # Kirklees referrals are not Leeds's


async def test_what_if_solve_changes_nothing(client: AsyncClient, world: World) -> None:
    problem = {
        "as_of": "2026-11-22",
        "units": [{"id": "u1", "type": "refuge", "authority": "E08000034", "district": "HD1", "lat": 53.6,
                   "lon": -1.8, "bedspaces": 2, "genders": ["female"]}],
        "referrals": [{"id": "r1", "risk": "high", "referred_on": "2026-11-20",
                       "adults": [{"gender": "female", "age": 30}]}],
    }
    for who in ("officer", "commissioner", "admin"):
        response = await client.post("/api/v1/optimiser/solve", json=problem, headers=world.auth(who))
        assert response.status_code == 200
        assert response.json()["assignments"][0]["unit"] == "u1"
    assert_problem(await client.post("/api/v1/optimiser/solve", json=problem, headers=world.auth("provider")), 403)
    bad = {**problem, "referrals": [{**problem["referrals"][0], "adults": []}]}
    problem_details = assert_problem(
        await client.post("/api/v1/optimiser/solve", json=bad, headers=world.auth("admin")), 422
    )
    assert "adults" in problem_details["detail"]


async def test_a_request_failing_halfway_leaves_nothing_half_made(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    """The unit is held, then the offer insert hits the one-pending-offer-per-unit index: all rolls back."""
    unit = await make_unit(client, world)
    blocker = await make_referral(client, world)
    async with session_maker() as session, session.begin():  # a stray pending offer, unit still 'available'
        session.add(Offer(referral_id=blocker, unit_id=unit["id"], status="pending",
                          expires_at=utcnow() + timedelta(hours=1)))
    referral_id = await make_referral(client, world)
    assert_problem(await offer(client, world, referral_id, unit["id"]), 409)
    after = await unit_status(client, world, unit["id"])
    assert after["status"] == "available" and after["version"] == unit["version"]
    async with session_maker() as session:
        offers = list(await session.scalars(select(Offer).where(Offer.referral_id == referral_id)))
    assert offers == []
