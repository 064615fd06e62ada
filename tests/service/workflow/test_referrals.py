"""Registering, reading and closing referrals: scope, validation, audit."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.audit.models import AuditEvent
from tests.service.conftest import KIRKLEES, World
from tests.service.inventory.test_inventory import assert_problem
from tests.service.workflow.conftest import make_referral, referral_body


async def audit_trail(maker: async_sessionmaker[AsyncSession], entity: str, entity_id: int) -> list[tuple[str, str]]:
    async with maker() as session:
        rows = await session.execute(
            select(AuditEvent.action, AuditEvent.role)
            .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id)).order_by(AuditEvent.id)
        )
        return [(action, role or "") for action, role in rows]


async def test_officer_registers_and_reads_a_referral_every_access_audited(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    referral_id = await make_referral(client, world)
    response = await client.get(f"/api/v1/referrals/{referral_id}", headers=world.auth("officer"))
    assert response.status_code == 200
    body = response.json()
    assert body["authority"] == KIRKLEES and body["risk"] == "high" and body["marac"] is True
    assert body["safety"]["perpetrator_locations"] == [{"district": "BD1"}]  # stored no finer than the district
    # Special-category data is write-only for officers: the officer's read never carries it; admin's does.
    assert "equality" not in body and "prefer_not_to_say" not in response.text and "asian" not in response.text
    admin = await client.get(f"/api/v1/referrals/{referral_id}", headers=world.auth("admin"))
    assert admin.status_code == 200 and admin.json()["equality"]["religion"] == "prefer_not_to_say"
    assert await audit_trail(session_maker, "referral", referral_id) == [
        ("create", "officer"), ("read", "officer"), ("read", "admin")
    ]


async def test_a_referral_is_invisible_outside_its_authority(client: AsyncClient, world: World) -> None:
    referral_id = await make_referral(client, world)
    problem = assert_problem(await client.get(f"/api/v1/referrals/{referral_id}", headers=world.auth("leeds_officer")),
                             404)
    assert "Huddersfield" not in str(problem) and "BD1" not in str(problem)
    for who in ("provider", "commissioner"):
        assert_problem(await client.get(f"/api/v1/referrals/{referral_id}", headers=world.auth(who)), 403)
    for who in ("provider", "commissioner", "admin"):
        assert_problem(await client.post("/api/v1/referrals", json=referral_body(), headers=world.auth(who)), 403)


async def test_referral_validation_names_the_field(client: AsyncClient, world: World) -> None:
    auth = world.auth("officer")
    cases = [
        ({"adults": []}, 400, "adults"),
        ({"adults": [{"gender": "wizard", "age": 30}]}, 400, "adults[0].gender"),
        ({"children": [{"age": -1, "sex": "male"}]}, 400, "children[0].age"),
        ({"risk": "extreme"}, 400, "risk"),
        ({"needs": {"specialisms": ["astrology"]}}, 400, "needs.specialisms[0]"),
        ({"safety": {"perpetrator_locations": [{}]}}, 422, "safety.perpetrator_locations[0]"),
        ({"safety": {"perpetrator_locations": [{"lat": 53.6}]}}, 422, "safety.perpetrator_locations[0]"),
        ({"safety": {"perpetrator_locations": [{"district": "ZZ99"}]}}, 422,
         "safety.perpetrator_locations[0].district"),
        ({"safety": {"exclude_authorities": ["E00000000"]}}, 422, "safety.exclude_authorities[0]"),
        ({"safety": {"separate_from": [999999]}}, 422, "safety.separate_from[0]"),
        ({"needed_by": "2000-01-01"}, 422, "needed_by"),
        ({"referred_on": "2999-01-01"}, 422, "referred_on"),
        ({"referred_on": "0001-01-01"}, 422, "referred_on"),
        ({"equality": {"ethnicity": "martian"}}, 400, "equality.ethnicity"),
        ({"name": "A Person"}, 400, "name"),
    ]
    for override, status, field in cases:
        assert_problem(await client.post("/api/v1/referrals", json=referral_body(**override), headers=auth),
                       status, field)
    assert_problem(await client.post("/api/v1/referrals", content=b"{", headers=auth), 400)


async def test_point_locations_are_kept_when_the_officer_gives_them(client: AsyncClient, world: World) -> None:
    referral_id = await make_referral(
        client, world, safety={"perpetrator_locations": [{"lat": 53.79, "lon": -1.75}], "min_distance_km": 5}
    )
    body = (await client.get(f"/api/v1/referrals/{referral_id}", headers=world.auth("officer"))).json()
    assert body["safety"]["perpetrator_locations"] == [{"district": None, "lat": 53.79, "lon": -1.75}]


async def test_closing_a_referral(client: AsyncClient, world: World) -> None:
    auth = world.auth("officer")
    unmet = await make_referral(client, world)
    assert_problem(await client.post(f"/api/v1/referrals/{unmet}/close", json={"outcome": "placed", "reason": "placed"},
                                     headers=auth), 422, "outcome")
    assert_problem(await client.post(f"/api/v1/referrals/{unmet}/close",
                                     json={"outcome": "unmet", "reason": "no_contact"}, headers=auth), 422, "reason")
    response = await client.post(f"/api/v1/referrals/{unmet}/close", json={"outcome": "unmet", "reason": "wheelchair"},
                                 headers=auth)
    assert response.status_code == 200 and response.json()["status"] == "closed"
    assert_problem(await client.post(f"/api/v1/referrals/{unmet}/close",
                                     json={"outcome": "unmet", "reason": "capacity"}, headers=auth), 409)
    assert_problem(await client.post(f"/api/v1/referrals/{unmet}/close",
                                     json={"outcome": "unmet", "reason": "capacity"},
                                     headers=world.auth("leeds_officer")), 404)
    assert_problem(await client.post(f"/api/v1/referrals/{unmet}/proposals", headers=auth), 409)
    body = (await client.get(f"/api/v1/referrals/{unmet}", headers=auth)).json()
    assert body["outcome"] == "unmet" and body["close_reason"] == "wheelchair" and body["closed_at"]
