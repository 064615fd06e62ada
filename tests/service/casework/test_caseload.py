"""An officer's day: the caseload, reading a referral with its history, changing it with If-Match."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.audit.models import AuditEvent
from tests.service.conftest import World, make_unit
from tests.service.workflow.conftest import TODAY, make_referral, offer, referral_body


async def test_caseload_lists_open_referrals_oldest_first_with_what_suits_them_now(
    client: AsyncClient, world: World
) -> None:
    older = await make_referral(client, world, referred_on=TODAY.replace(day=1).isoformat() if TODAY.day > 5
                                else TODAY.isoformat(), risk="medium")
    newer = await make_referral(client, world, referred_on=TODAY.isoformat(),
                                needs={"wheelchair": True})  # no unit below is accessible
    await make_referral(client, world, "leeds_officer")
    await make_unit(client, world)
    await make_unit(client, world)

    response = await client.get("/api/v1/referrals", headers=world.auth("officer"))
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == 2 and page["limit"] == 50 and page["offset"] == 0
    items = {item["id"]: item for item in page["items"]}
    assert [item["id"] for item in page["items"]] == [older, newer]
    assert items[older]["suitable_now"] == 2 and items[newer]["suitable_now"] == 0
    assert items[older]["household_size"] == 2 and items[older]["version"] == 1
    assert items[older]["pending_offer_id"] is None and items[older]["placement_id"] is None
    assert items[newer]["waiting_days"] == 0 and items[older]["status"] == "open"
    assert "safety" not in items[older] and "equality" not in items[older]

    high = (await client.get("/api/v1/referrals?risk=high", headers=world.auth("officer"))).json()
    assert [item["id"] for item in high["items"]] == [newer]
    assert (await client.get("/api/v1/referrals?status=placed", headers=world.auth("officer"))).json()["total"] == 0
    assert (await client.get("/api/v1/referrals?limit=0", headers=world.auth("officer"))).status_code == 400
    assert (await client.get("/api/v1/referrals", headers=world.auth("admin"))).json()["total"] == 3
    assert (await client.get("/api/v1/referrals", headers=world.auth("provider"))).status_code == 403
    assert (await client.get("/api/v1/referrals", headers=world.auth("commissioner"))).status_code == 403
    assert (await client.get("/api/v1/referrals")).status_code == 401


async def test_caseload_shows_the_pending_offer_and_the_placement(client: AsyncClient, world: World) -> None:
    referral = await make_referral(client, world)
    unit = await make_unit(client, world)
    made = await offer(client, world, referral, unit["id"])
    item = (await client.get("/api/v1/referrals", headers=world.auth("officer"))).json()["items"][0]
    assert item["pending_offer_id"] == made.json()["id"]
    accepted = await client.post(f"/api/v1/offers/{made.json()['id']}/accept", headers=world.auth("provider"))
    placed = (await client.get("/api/v1/referrals?status=placed", headers=world.auth("officer"))).json()["items"]
    assert [(i["id"], i["placement_id"], i["pending_offer_id"]) for i in placed] == [
        (referral, accepted.json()["placement_id"], None)
    ]


async def test_read_carries_version_etag_offers_and_placement(client: AsyncClient, world: World) -> None:
    referral = await make_referral(client, world)
    unit = await make_unit(client, world)
    made = (await offer(client, world, referral, unit["id"])).json()
    await client.post(f"/api/v1/offers/{made['id']}/decline", json={"reason": "risk_too_high"},
                      headers=world.auth("provider"))
    second = (await offer(client, world, referral, unit["id"])).json()
    accepted = (await client.post(f"/api/v1/offers/{second['id']}/accept", headers=world.auth("provider"))).json()

    response = await client.get(f"/api/v1/referrals/{referral}", headers=world.auth("officer"))
    body = response.json()
    assert response.headers["etag"] == f'"{body["version"]}"' and body["version"] == 1
    assert [(o["id"], o["status"]) for o in body["offers"]] == [(made["id"], "declined"), (second["id"], "accepted")]
    assert body["offers"][0]["reason"] == "risk_too_high"
    assert body["placement"]["id"] == accepted["placement_id"] and body["placement"]["status"] == "live"
    assert "address" not in response.text and "Secret Row" not in response.text


async def test_patch_needs_the_current_version_and_records_which_fields_changed(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    referral = await make_referral(client, world, risk="medium", marac=False)
    path = f"/api/v1/referrals/{referral}"
    change = {"risk": "high", "marac": True, "children": [{"age": 6, "sex": "male"}, {"age": 2, "sex": "female"}]}

    missing = await client.patch(path, json=change, headers=world.auth("officer"))
    assert missing.status_code == 428 and missing.headers["content-type"] == "application/problem+json"
    stale = await client.patch(path, json=change, headers={**world.auth("officer"), "If-Match": '"7"'})
    assert stale.status_code == 412 and stale.headers["etag"] == '"1"'
    other = await client.patch(path, json=change, headers={**world.auth("leeds_officer"), "If-Match": "1"})
    assert other.status_code == 404 and "medium" not in other.text
    answer = await client.patch(path, json=change, headers={**world.auth("provider"), "If-Match": "1"})
    assert answer.status_code == 403
    bad = await client.patch(path, json={"risk": "extreme"}, headers={**world.auth("officer"), "If-Match": "1"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "risk"

    done = await client.patch(path, json=change, headers={**world.auth("officer"), "If-Match": '"1"'})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["version"] == 2 and done.headers["etag"] == '"2"'
    assert body["risk"] == "high" and body["marac"] is True and len(body["children"]) == 2
    assert body["needs"]["languages"] == ["ur"]  # parts not sent are kept
    again = await client.patch(path, json={"risk": "standard"}, headers={**world.auth("officer"), "If-Match": "1"})
    assert again.status_code == 412

    async with session_maker() as session:
        rows = list(await session.scalars(
            select(AuditEvent).where(AuditEvent.entity == "referral", AuditEvent.entity_id == str(referral),
                                     AuditEvent.action == "update").order_by(AuditEvent.id)
        ))
    assert [row.fields for row in rows if row.outcome == "ok"] == [["children", "marac", "risk"]]
    # The Leeds officer's and the provider's attempts are on the trail as refused, with no fields.
    assert [(row.role, row.outcome, row.fields) for row in rows if row.outcome != "ok"] == [
        ("officer", "denied", None), ("provider", "denied", None)
    ]


async def test_patch_is_refused_once_placed_and_validates_links_across_authorities(
    client: AsyncClient, world: World
) -> None:
    leeds = await make_referral(client, world, "leeds_officer")
    referral = await make_referral(client, world)
    path = f"/api/v1/referrals/{referral}"
    linked = await client.patch(path, json={"safety": {"separate_from": [leeds]}},
                                headers={**world.auth("officer"), "If-Match": "1"})
    assert linked.status_code == 200, linked.text
    assert linked.json()["safety"]["separate_from"] == [leeds]
    unknown = await client.patch(path, json={"safety": {"separate_from": [2_000_000_000]}},
                                 headers={**world.auth("officer"), "If-Match": "2"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "safety.separate_from[0]"

    unit = await make_unit(client, world)
    made = (await offer(client, world, referral, unit["id"])).json()
    await client.post(f"/api/v1/offers/{made['id']}/accept", headers=world.auth("provider"))
    placed = await client.patch(path, json={"risk": "medium"}, headers={**world.auth("officer"), "If-Match": "2"})
    assert placed.status_code == 409


async def test_a_change_that_makes_the_pending_offer_infeasible_withdraws_it(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    hook = await client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/h", "events": ["offer.withdrawn"]},
                             headers=world.auth("provider"))
    assert hook.status_code == 201
    referral = await make_referral(client, world)
    unit = await make_unit(client, world)  # 3 bed spaces, no wheelchair access
    made = (await offer(client, world, referral, unit["id"])).json()
    path = f"/api/v1/referrals/{referral}"

    # A change the unit still suits keeps the offer.
    kept = await client.patch(path, json={"marac": False}, headers={**world.auth("officer"), "If-Match": "1"})
    assert kept.status_code == 200
    answer = await client.get(f"/api/v1/offers/{made['id']}", headers=world.auth("officer"))
    assert answer.json()["status"] == "pending"

    changed = await client.patch(path, json={"needs": {"wheelchair": True}},
                                 headers={**world.auth("officer"), "If-Match": "2"})
    assert changed.status_code == 200, changed.text
    offers = changed.json()["offers"]
    assert [(o["id"], o["status"], o["reason"]) for o in offers] == [(made["id"], "withdrawn", "referral_changed")]
    read = (await client.get(f"/api/v1/offers/{made['id']}", headers=world.auth("officer"))).json()
    assert read["status"] == "withdrawn" and read["reason"] == "referral_changed"
    desk = (await client.get(f"/api/v1/units/{unit['id']}", headers=world.auth("provider"))).json()
    assert desk["status"] == "available"
    from service.notifications.models import OutboxMessage

    async with session_maker() as session:
        events = [m.event for m in await session.scalars(select(OutboxMessage))]
    assert events.count("offer.withdrawn") == 1


async def test_referral_body_round_trips_through_patch(client: AsyncClient, world: World) -> None:
    referral = await make_referral(client, world)
    body = referral_body()
    response = await client.patch(
        f"/api/v1/referrals/{referral}",
        json={k: body[k] for k in ("adults", "children", "needs", "safety", "equality")},
        headers={**world.auth("officer"), "If-Match": "1"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 1  # nothing changed, so no new version
