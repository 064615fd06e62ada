"""The scheduled jobs of the workflow: stale vacancies, occupancy snapshots, pseudonymisation."""

from __future__ import annotations

from datetime import timedelta

from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db import utcnow
from service.inventory.models import Unit
from service.jobs import all_jobs, flag_stale_vacancies, occupancy_snapshot, pseudonymise
from service.notifications.models import OutboxMessage
from service.offers.models import Placement
from service.referrals.models import Referral
from service.reports.models import OccupancySnapshot
from service.settings import Settings
from tests.service.conftest import KIRKLEES, World, make_unit
from tests.service.workflow.conftest import make_referral


def test_every_workflow_job_is_scheduled() -> None:
    names = {job.name for job in all_jobs(Settings())}
    assert {"offers.expire", "inventory.flag_stale", "reports.occupancy_snapshot", "referrals.pseudonymise",
            "notifications.deliver"} <= names


async def test_stale_vacancies_are_flagged_once_and_their_provider_asked_to_reconfirm(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    hook = await client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["vacancy.stale"]},
                             headers=world.auth("provider"))
    assert hook.status_code == 201, hook.text
    unit = await make_unit(client, world)
    async with session_maker() as session, session.begin():
        await session.execute(update(Unit).where(Unit.id == unit["id"])
                              .values(confirmed_at=utcnow() - timedelta(hours=30)))
    for _ in range(2):
        async with session_maker() as session, session.begin():
            await flag_stale_vacancies(session, Settings())
    async with session_maker() as session:
        messages = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.event == "vacancy.stale")))
        flagged = await session.get(Unit, unit["id"])
    assert [m.payload for m in messages] == [{"unit_id": unit["id"]}]
    assert flagged is not None and flagged.stale_flagged_at is not None
    confirmed = await client.put(f"/api/v1/units/{unit['id']}/availability", json={"status": "available"},
                                 headers=world.auth("provider"))
    assert confirmed.status_code == 200
    async with session_maker() as session:
        again = await session.get(Unit, unit["id"], populate_existing=True)
    assert again is not None and again.stale_flagged_at is None


async def test_occupancy_snapshot_counts_units_and_bedspaces(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    await make_unit(client, world, bedspaces=2)
    await make_unit(client, world, bedspaces=3)
    await make_unit(client, world, bedspaces=4, status="occupied")

    async def snapshot() -> dict[str, tuple[int, int]]:
        async with session_maker() as session, session.begin():
            await occupancy_snapshot(session, Settings())
        async with session_maker() as session:
            rows = await session.scalars(select(OccupancySnapshot).where(
                OccupancySnapshot.snapshot_on == utcnow().date(), OccupancySnapshot.authority_code == KIRKLEES,
                OccupancySnapshot.type == "refuge"))
            return {row.status: (row.units, row.bedspaces) for row in rows}

    first = await snapshot()
    await make_unit(client, world, bedspaces=1)
    second = await snapshot()  # the same day again: replaced, not added
    assert second["available"][0] == first["available"][0] + 1
    assert second["available"][1] == first["available"][1] + 1
    assert second["occupied"] == first["occupied"]


async def test_closed_referrals_are_pseudonymised_after_the_retention_period(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    old, recent = await make_referral(client, world), await make_referral(client, world)
    for referral_id in (old, recent):
        closed = await client.post(f"/api/v1/referrals/{referral_id}/close",
                                   json={"outcome": "unmet", "reason": "capacity"}, headers=world.auth("officer"))
        assert closed.status_code == 200
    async with session_maker() as session, session.begin():
        await session.execute(update(Referral).where(Referral.id == old)
                              .values(closed_at=utcnow() - timedelta(days=400)))
        await pseudonymise(session, Settings())
    async with session_maker() as session:
        gone = await session.get(Referral, old)
        kept = await session.get(Referral, recent)
    assert gone is not None and kept is not None
    assert gone.pseudonymised_at is not None and gone.safety == {} and gone.preferences == {}
    assert gone.household == {"adults": [{"gender": "female", "age_band": "25-34"}],
                              "children": [{"sex": "male", "age_band": "5-10"}]}
    # Equality monitoring is erased (the reports keep only the counts already taken); the outcome stays.
    assert gone.equality == {} and gone.outcome == "unmet"
    assert gone.referred_on.day == 1 and gone.closed_at is not None and gone.closed_at.day == 1
    assert kept.pseudonymised_at is None and kept.safety["perpetrator_locations"] == [{"district": "BD1"}]
    assert kept.equality["ethnicity"] == "asian"


async def test_open_referrals_and_ended_placements_past_retention_are_pseudonymised(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    abandoned, fresh = await make_referral(client, world), await make_referral(client, world)
    left, living = await make_referral(client, world), await make_referral(client, world)
    placements = {}
    for referral_id in (left, living):
        unit = await make_unit(client, world)
        made = (await client.post("/api/v1/offers", json={"referral_id": referral_id, "unit_id": unit["id"]},
                                  headers=world.auth("officer"))).json()
        accepted = await client.post(f"/api/v1/offers/{made['id']}/accept", headers=world.auth("provider"))
        placements[referral_id] = accepted.json()["placement_id"]
    long_ago = utcnow() - timedelta(days=500)
    async with session_maker() as session, session.begin():
        await session.execute(update(Referral).where(Referral.id.in_([abandoned, left, living]))
                              .values(created_at=long_ago, referred_on=long_ago.date() - timedelta(days=3)))
        await session.execute(update(Placement).where(Placement.id == placements[left])
                              .values(started_on=long_ago.date(), ended_on=long_ago.date() + timedelta(days=20),
                                      destination="other"))
        await session.execute(update(Placement).where(Placement.id == placements[living])
                              .values(started_on=long_ago.date()))
        await pseudonymise(session, Settings())
    async with session_maker() as session:
        rows = {r.id: r for r in await session.scalars(select(Referral).where(
            Referral.id.in_([abandoned, fresh, left, living])))}
        ended = await session.get(Placement, placements[left])
        ongoing = await session.get(Placement, placements[living])
    assert ended is not None and ongoing is not None

    # Left open past the retention period: closed as lapsed, and pseudonymised.
    assert rows[abandoned].status.value == "closed" and rows[abandoned].close_reason == "lapsed"
    assert rows[abandoned].pseudonymised_at is not None and rows[abandoned].equality == {}
    assert rows[abandoned].referred_on.day == 1 and rows[abandoned].created_at.day == 1
    assert "age" not in rows[abandoned].household["adults"][0]
    # Placed, and the placement ended past the retention period: the referral and the placement's dates.
    assert rows[left].pseudonymised_at is not None and rows[left].safety == {} and rows[left].equality == {}
    assert ended.pseudonymised_at is not None and ended.started_on.day == 1 and ended.ended_on is not None
    assert ended.ended_on.day == 1 and ended.destination == "other"
    # Still living there, or referred recently: untouched.
    for kept in (rows[living], rows[fresh]):
        assert kept.pseudonymised_at is None and kept.equality["ethnicity"] == "asian"
    assert ongoing.pseudonymised_at is None and ongoing.started_on == long_ago.date()
