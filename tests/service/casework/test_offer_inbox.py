"""What a provider sees of a household it is offered, and what it never sees."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.audit.models import AuditEvent
from tests.service.conftest import World, make_unit, scheme_body
from tests.service.workflow.conftest import make_referral, offer

HOUSEHOLD_KEYS = {"risk", "marac", "referred_on", "needed_by", "adults", "children", "needs"}


async def test_the_units_provider_sees_the_household_and_nothing_of_its_safety(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    referral = await make_referral(client, world, preferences={"types": ["refuge"]},
                                   safety={"perpetrator_locations": [{"district": "BD1"}], "min_distance_km": 10,
                                           "exclude_districts": ["WF1"]})
    unit = await make_unit(client, world)
    made = (await offer(client, world, referral, unit["id"])).json()

    inbox = await client.get("/api/v1/offers", headers=world.auth("provider"))
    assert inbox.status_code == 200, inbox.text
    [item] = inbox.json()["items"]
    assert inbox.json()["total"] == 1
    assert item["id"] == made["id"] and item["scheme_id"] == unit["scheme_id"] and item["status"] == "pending"
    household = item["household"]
    assert set(household) == HOUSEHOLD_KEYS
    assert household["adults"] == [{"gender": "female", "age": 31}]
    assert household["children"] == [{"age": 6, "sex": "male"}]
    assert household["risk"] == "high" and household["marac"] is True and household["needs"]["languages"] == ["ur"]
    for secret in ("BD1", "WF1", "perpetrator", "separate_from", "equality", "asian", "preferences", "safety"):
        assert secret not in inbox.text, secret
    one = await client.get(f"/api/v1/offers/{made['id']}", headers=world.auth("provider"))
    assert one.json()["household"] == household and "BD1" not in one.text

    # Officers and admin read the referral itself; the offer carries no household for them.
    officer = (await client.get("/api/v1/offers", headers=world.auth("officer"))).json()["items"]
    assert [o["id"] for o in officer] == [made["id"]] and officer[0]["household"] is None
    assert (await client.get("/api/v1/offers", headers=world.auth("admin"))).json()["items"][0]["household"] is None
    # Another provider and another authority see nothing.
    assert (await client.get("/api/v1/offers", headers=world.auth("other_provider"))).json()["total"] == 0
    assert (await client.get("/api/v1/offers", headers=world.auth("leeds_officer"))).json()["total"] == 0
    assert (await client.get(f"/api/v1/offers/{made['id']}", headers=world.auth("other_provider"))).status_code == 404
    assert (await client.get("/api/v1/offers", headers=world.auth("commissioner"))).status_code == 403

    async with session_maker() as session:
        reads = list(await session.scalars(
            select(AuditEvent).where(AuditEvent.action == "read_household", AuditEvent.entity_id == str(referral))
        ))
    assert len(reads) == 2 and all(r.role == "provider" for r in reads)


async def test_once_declined_the_provider_sees_no_household(client: AsyncClient, world: World) -> None:
    referral = await make_referral(client, world)
    unit = await make_unit(client, world)
    made = (await offer(client, world, referral, unit["id"])).json()
    await client.post(f"/api/v1/offers/{made['id']}/decline", json={"reason": "no_capacity_to_support"},
                      headers=world.auth("provider"))
    assert (await client.get("/api/v1/offers", headers=world.auth("provider"))).json()["total"] == 0
    declined = (await client.get("/api/v1/offers?status=declined", headers=world.auth("provider"))).json()
    assert [(o["id"], o["household"]) for o in declined["items"]] == [(made["id"], None)]
    read = (await client.get(f"/api/v1/offers/{made['id']}", headers=world.auth("provider"))).json()
    assert read["household"] is None and read["reason"] == "no_capacity_to_support"


async def test_accepted_offers_keep_the_household_for_the_provider(client: AsyncClient, world: World) -> None:
    referral = await make_referral(client, world)
    unit = await make_unit(client, world)
    other_unit = await make_unit(client, world, who="other_provider", scheme=scheme_body(world.other_provider_id))
    made = (await offer(client, world, referral, unit["id"])).json()
    await client.post(f"/api/v1/offers/{made['id']}/accept", headers=world.auth("provider"))
    accepted = (await client.get("/api/v1/offers?status=accepted", headers=world.auth("provider"))).json()
    assert accepted["items"][0]["household"]["adults"] == [{"gender": "female", "age": 31}]
    assert other_unit["id"] != unit["id"]
    assert (await client.get("/api/v1/offers?status=bogus", headers=world.auth("provider"))).status_code == 400
