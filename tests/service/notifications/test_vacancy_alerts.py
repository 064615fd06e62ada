"""`vacancy.suitable`: a room that newly suits a waiting household is announced to its authority once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service import db
from service.alerts import service as alerts
from service.alerts.models import VacancyAlert
from service.changes import service as changes
from service.inventory.models import Provider
from service.jobs import all_jobs
from service.notifications import service as notifications
from service.notifications.models import OutboxMessage, Webhook
from service.referrals.models import Referral, ReferralStatus, Risk
from service.settings import Settings
from tests.service.conftest import KIRKLEES, World, make_unit
from tests.service.notifications.conftest import Receiver
from tests.service.workflow.conftest import make_referral, offer
from tests.support import add_refuge_unit

STALE = timedelta(hours=24)


async def _tick(
    session_maker: async_sessionmaker[AsyncSession], rechecker: alerts.Rechecker | None = None
) -> alerts.Recheck:
    """One run of the alerts job, then one run of delivery, as the scheduler does them."""
    async with session_maker() as session, session.begin():
        report = await alerts.recheck(session, STALE, rechecker)
    # Delivery opens its own transactions; the receiver listens on 127.0.0.1.
    await notifications.deliver_due(session_maker, allow_internal=True)
    return report


def test_the_alerts_job_is_scheduled_often_enough_to_alert_within_a_minute() -> None:
    jobs = {job.name: job for job in all_jobs(Settings())}
    assert jobs["alerts.vacancy_suitable"].every + jobs["notifications.deliver"].every < timedelta(minutes=1)


async def test_a_real_receiver_gets_each_suitable_pair_exactly_once(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    hook = await client.post("/api/v1/webhooks", json={"url": receiver.url + "/kirklees",
                                                       "events": ["vacancy.suitable"]}, headers=world.auth("officer"))
    assert hook.status_code == 201, hook.text
    receiver.secrets["/kirklees"] = hook.json()["secret"]
    referral = await make_referral(client, world)
    await make_referral(client, world, needs={"wheelchair": True})  # nothing below suits this one
    await _tick(session_maker)
    assert receiver.deliveries == []  # no unit yet

    unit = await make_unit(client, world)  # a provider adds a room that suits the first household
    report = await _tick(session_maker)
    assert report.pairs_new == 1
    [delivery] = receiver.deliveries
    assert delivery.valid and delivery.headers["x-safeaccom-event"] == "vacancy.suitable"
    data = delivery.document["data"]
    assert (data["referral_id"], data["unit_id"]) == (referral, unit["id"]) and 0 <= data["score"] <= 100
    assert set(data) == {"referral_id", "unit_id", "score"}

    # The room is taken and freed again, the household changes: the same pair is not announced again.
    made = (await offer(client, world, referral, unit["id"])).json()
    await client.post(f"/api/v1/offers/{made['id']}/decline", json={"reason": "other"}, headers=world.auth("officer"))
    await client.patch(f"/api/v1/referrals/{referral}", json={"marac": False},
                       headers={**world.auth("officer"), "If-Match": "1"})
    await _tick(session_maker)
    await _tick(session_maker)
    assert len(receiver.deliveries) == 1

    # A second room that suits the household is a new pair.
    second = await make_unit(client, world)
    await _tick(session_maker)
    assert [(d.document["data"]["referral_id"], d.document["data"]["unit_id"]) for d in receiver.deliveries] == [
        (referral, unit["id"]), (referral, second["id"])
    ]
    caseload = (await client.get("/api/v1/referrals", headers=world.auth("officer"))).json()
    assert {i["id"]: i["suitable_now"] for i in caseload["items"]}[referral] == 2


async def test_a_household_with_a_pending_offer_or_another_authority_is_not_alerted(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    hook = await client.post("/api/v1/webhooks", json={"url": receiver.url + "/leeds", "events": ["vacancy.suitable"]},
                             headers=world.auth("leeds_officer"))
    receiver.secrets["/leeds"] = hook.json()["secret"]
    kirklees = await make_referral(client, world)
    leeds = await make_referral(client, world, "leeds_officer")
    held = await make_unit(client, world)
    assert (await offer(client, world, leeds, held["id"], who="leeds_officer")).status_code == 201
    await _tick(session_maker)
    await make_unit(client, world)
    await _tick(session_maker)
    # Kirklees's household is suited (no Kirklees webhook: nothing sent); Leeds's waits on its offer.
    async with session_maker() as session:
        pairs = {(a.referral_id, a.unit_id) for a in await session.scalars(select(VacancyAlert))}
    assert {r for r, _ in pairs} == {kirklees}
    assert receiver.deliveries == []


async def test_the_job_rereads_a_household_that_changed_since_its_last_run(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    job = alerts.Rechecker()  # keeps the waiting households between runs, as in a service process
    referral = await make_referral(client, world, needs={"wheelchair": True})
    await make_unit(client, world)  # not accessible
    assert (await _tick(session_maker, job)).pairs_new == 0
    changed = await client.patch(f"/api/v1/referrals/{referral}", json={"needs": {"wheelchair": False}},
                                 headers={**world.auth("officer"), "If-Match": "1"})
    assert changed.status_code == 200
    assert (await _tick(session_maker, job)).pairs_new == 1  # the household's change, against every unit
    await make_unit(client, world)  # a new room: checked against the household as it is now
    report = await _tick(session_maker, job)
    assert (report.units_changed, report.pairs_new) == (1, 1)
    async with session_maker() as session:
        pairs = list(await session.scalars(select(VacancyAlert).where(VacancyAlert.referral_id == referral)))
    assert len(pairs) == 2


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[tuple[async_sessionmaker[AsyncSession], int, int]]:
    """A referral, a unit and an authority webhook committed for real (two processes share a database)."""
    maker = db.session_maker(engine)
    async with maker.begin() as session:
        provider_id, unit_id = await add_refuge_unit(session, KIRKLEES, "Alerted refuge")
        referral = Referral(authority_code=KIRKLEES, status=ReferralStatus.OPEN, risk=Risk.HIGH, marac=False,
                            referred_on=date.today(), household={"adults": [{"gender": "female", "age": 30}],
                                                                 "children": []},
                            needs={}, safety={}, preferences={}, equality={}, version=1)
        session.add(referral)
        webhook = Webhook(url="http://127.0.0.1:9/never", secret="whsec_x", events=["vacancy.suitable"],
                          authority_code=KIRKLEES, active=True)
        session.add(webhook)
        await session.flush()
        ids = (referral.id, unit_id, webhook.id)
    try:
        yield maker, ids[0], ids[1]
    finally:
        async with maker.begin() as session:
            await session.execute(delete(Webhook).where(Webhook.id == ids[2]))
            await session.execute(delete(Referral).where(Referral.id == ids[0]))
            await session.execute(delete(Provider).where(Provider.id == provider_id))


async def test_two_processes_rechecking_the_same_pair_announce_it_once(
    committed: tuple[async_sessionmaker[AsyncSession], int, int]
) -> None:
    maker, referral_id, unit_id = committed
    async with maker.begin() as session:
        await changes.note(session, unit_ids=[unit_id])

    # Process A claims the change and records the pair, but has not committed yet.
    first = maker()
    await first.begin()
    report_a = await alerts.recheck(first, STALE)
    assert report_a.pairs_new == 1
    # Meanwhile the household changes too, and process B re-checks it: the same pair, found again.
    async with maker.begin() as session:
        await changes.note(session, referral_ids=[referral_id])

    async def process_b() -> alerts.Recheck:
        async with maker.begin() as session:
            return await alerts.recheck(session, STALE)

    second = asyncio.create_task(process_b())
    await asyncio.sleep(0.5)
    assert not second.done()  # B waits on A's uncommitted row for the pair: the key decides
    await first.commit()
    await first.close()
    assert (await second).pairs_new == 0
    async with maker() as session:
        messages = list(await session.scalars(
            select(OutboxMessage).where(OutboxMessage.event == "vacancy.suitable",
                                        OutboxMessage.payload["referral_id"].as_integer() == referral_id)
        ))
    assert [(m.payload["referral_id"], m.payload["unit_id"]) for m in messages] == [(referral_id, unit_id)]


async def test_a_claimed_change_is_not_claimed_again_by_another_process(
    committed: tuple[async_sessionmaker[AsyncSession], int, int]
) -> None:
    maker, referral_id, unit_id = committed
    async with maker.begin() as session:
        await changes.note(session, unit_ids=[unit_id], referral_ids=[referral_id])
    async with maker() as holder, maker() as other:
        await holder.begin()
        assert await changes.claim(holder) == ({unit_id}, {referral_id})
        await other.begin()
        assert await changes.claim(other) == (set(), set())  # skipped, not waited for
        await holder.rollback()  # a failed run: the change goes back to the queue
        await other.rollback()
    async with maker.begin() as session:
        assert await changes.claim(session) == ({unit_id}, {referral_id})
