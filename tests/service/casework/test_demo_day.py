"""The demo gives each role something to do on the first start."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.demo import demo_keys, load_demo


async def test_the_demo_provider_and_officer_have_a_day_of_work(
    client: AsyncClient, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    async with session_maker() as session, session.begin():
        counts = await load_demo(session)
        keys = dict(await demo_keys(session))
    assert counts["pending_offers"] == 2 and counts["linked_households"] == 2
    provider = {"Authorization": f"Bearer {keys['provider']}"}
    officer = {"Authorization": f"Bearer {keys['officer']}"}

    inbox = (await client.get("/api/v1/offers", headers=provider)).json()
    assert inbox["total"] == 2 and all(item["household"]["adults"] for item in inbox["items"])
    schemes = (await client.get("/api/v1/schemes", headers=provider)).json()["items"]
    assert sum(s["units"]["stale"] for s in schemes) == 2 and sum(s["units"]["held"] for s in schemes) == 2
    expected = (await client.get("/api/v1/vacancies?include_expected=true&limit=200", headers=officer)).json()
    assert any(v["expected"] for v in expected["items"])

    caseload = (await client.get("/api/v1/referrals?limit=200", headers=officer)).json()["items"]
    assert len(caseload) >= 10 and sum(1 for i in caseload if i["pending_offer_id"]) == 2
    assert any(i["suitable_now"] > 0 for i in caseload)
    linked = []
    for item in caseload:
        referral = (await client.get(f"/api/v1/referrals/{item['id']}", headers=officer)).json()
        linked += [(item["id"], other) for other in referral["safety"]["separate_from"]]
    assert len(linked) == 1 and {i["id"] for i in caseload} >= set(linked[0])
