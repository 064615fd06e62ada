"""The outbox: written in the change's transaction, delivered signed to a real receiver, retried, then failed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from service import db
from service.db import utcnow
from service.jobs import all_jobs
from service.notifications import service as notifications
from service.notifications.models import MessageStatus, OutboxMessage, Webhook
from service.scheduler import JobRun, run_job
from service.settings import Settings
from tests.service.conftest import KIRKLEES, LEEDS, World
from tests.service.notifications.conftest import Receiver


async def _webhook(
    session: AsyncSession, receiver: Receiver, path: str, events: list[str], *,
    provider_id: int | None = None, authority: str | None = None,
) -> Webhook:
    webhook = Webhook(url=receiver.url + path, secret=f"whsec_test{path.replace('/', '_')}", events=events,
                      provider_id=provider_id, authority_code=authority, active=True)
    session.add(webhook)
    await session.flush()
    receiver.secrets[path] = webhook.secret
    return webhook


async def _deliver(
    maker: async_sessionmaker[AsyncSession], *seen: OutboxMessage, **options: Any
) -> notifications.DeliveryReport:
    """Run a delivery (it opens its own transactions) and reload the messages a test holds."""
    report = await notifications.deliver_due(maker, allow_internal=True, **options)
    for message in seen:
        async with maker() as session:
            fresh = await session.get(OutboxMessage, message.id, populate_existing=True)
            assert fresh is not None
            for column in ("status", "attempts", "last_error", "next_attempt_at", "delivered_at"):
                set_committed_value(message, column, getattr(fresh, column))
    return report


async def _messages(session: AsyncSession) -> list[OutboxMessage]:
    return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_enqueue_writes_one_message_per_subscribed_webhook(
    session_maker: async_sessionmaker[AsyncSession], world: World, receiver: Receiver
) -> None:
    async with session_maker() as session, session.begin():
        provider = await _webhook(session, receiver, "/p", ["offer.created"], provider_id=world.provider_id)
        council = await _webhook(session, receiver, "/c", ["offer.created", "offer.accepted"], authority=KIRKLEES)
        await _webhook(session, receiver, "/other", ["offer.created"], provider_id=world.other_provider_id)
        await _webhook(session, receiver, "/leeds", ["offer.created"], authority=LEEDS)
        await _webhook(session, receiver, "/quiet", ["offer.expired"], provider_id=world.provider_id)
        gone = await _webhook(session, receiver, "/gone", ["offer.created"], provider_id=world.provider_id)
        gone.active = False

        payload = {"offer_id": 7, "unit_id": 3, "status": "pending", "expires_at": utcnow()}
        written = await notifications.enqueue(
            session, "offer.created", payload, provider_id=world.provider_id, authority=KIRKLEES
        )
        assert written == 2
        assert await notifications.enqueue(session, "offer.accepted", {"offer_id": 7}, authority=KIRKLEES) == 1
        messages = await _messages(session)
        assert sorted((m.webhook_id, m.event) for m in messages) == sorted(
            [(provider.id, "offer.created"), (council.id, "offer.created"), (council.id, "offer.accepted")]
        )
        assert all(m.status is MessageStatus.PENDING and m.attempts == 0 for m in messages)
        assert isinstance(messages[0].payload["expires_at"], str)

        with pytest.raises(ValueError, match="address"):
            await notifications.enqueue(session, "offer.created", {"address": "1 Secret Row"},
                                        provider_id=world.provider_id)
        with pytest.raises(ValueError, match="scalars"):
            await notifications.enqueue(session, "offer.created", {"household": {"adults": 1}},
                                        provider_id=world.provider_id)
        with pytest.raises(ValueError, match="event"):
            await notifications.enqueue(session, "offer.exploded", {}, provider_id=world.provider_id)


async def test_delivery_is_signed_and_verified_by_the_receiver(
    session_maker: async_sessionmaker[AsyncSession], world: World, receiver: Receiver
) -> None:
    async with session_maker() as session, session.begin():
        webhook = await _webhook(session, receiver, "/hook", ["offer.accepted"], provider_id=world.provider_id)
        await notifications.enqueue(session, "offer.accepted", {"offer_id": 11, "placement_id": 5},
                                    provider_id=world.provider_id)
        [message] = await _messages(session)

        report = await _deliver(session_maker, message)
        assert (report.delivered, report.retrying, report.failed) == (1, 0, 0)
        assert message.status is MessageStatus.DELIVERED and message.delivered_at is not None
        assert message.attempts == 1 and message.last_error is None

        [delivery] = receiver.deliveries
        assert delivery.valid, delivery.headers
        assert delivery.headers["x-safeaccom-event"] == "offer.accepted"
        assert delivery.headers["x-safeaccom-delivery"] == str(message.id)
        assert delivery.headers["content-type"] == "application/json"
        assert delivery.document == {"id": message.id, "event": "offer.accepted",
                                     "created_at": message.created_at.isoformat(),
                                     "data": {"offer_id": 11, "placement_id": 5}}

        # A signature made with another secret, or over another body, does not verify.
        receiver.secrets["/hook"] = webhook.secret + "x"
        assert not receiver.verify("/hook", delivery.headers, delivery.body)
        receiver.secrets["/hook"] = webhook.secret
        assert not receiver.verify("/hook", delivery.headers, delivery.body.replace(b"11", b"12"))

        # Delivered messages are not sent again.
        assert (await _deliver(session_maker, now=utcnow() + timedelta(days=1))).delivered == 0
        assert len(receiver.deliveries) == 1


async def test_a_failing_receiver_is_retried_with_backoff_then_failed(
    session_maker: async_sessionmaker[AsyncSession], world: World, receiver: Receiver
) -> None:
    receiver.status = 500
    async with session_maker() as session, session.begin():
        await _webhook(session, receiver, "/down", ["offer.expired"], authority=KIRKLEES)
        await notifications.enqueue(session, "offer.expired", {"offer_id": 9}, authority=KIRKLEES)
        [message] = await _messages(session)

        now = utcnow()
        for attempt in range(1, notifications.MAX_ATTEMPTS + 1):
            report = await _deliver(session_maker, message, now=now)
            assert len(receiver.deliveries) == attempt
            assert message.attempts == attempt and message.last_error == "HTTP 500"
            if attempt < notifications.MAX_ATTEMPTS:
                assert report.retrying == 1 and message.status is MessageStatus.PENDING
                wait = message.next_attempt_at - now
                assert wait == min(timedelta(seconds=30) * 2 ** (attempt - 1), timedelta(hours=1))
                # Not due a moment before its time: nothing is sent.
                await _deliver(session_maker, now=message.next_attempt_at - timedelta(seconds=1))
                assert len(receiver.deliveries) == attempt
                now = message.next_attempt_at
        assert report.failed == 1 and message.status is MessageStatus.FAILED
        assert all(d.valid for d in receiver.deliveries)
        assert {d.headers["x-safeaccom-delivery"] for d in receiver.deliveries} == {str(message.id)}

        # Kept as failed: never sent again.
        await _deliver(session_maker, now=now + timedelta(days=30))
        assert len(receiver.deliveries) == notifications.MAX_ATTEMPTS


async def test_an_unreachable_receiver_counts_as_a_failed_try(
    session_maker: async_sessionmaker[AsyncSession], world: World, receiver: Receiver
) -> None:
    async with session_maker() as session, session.begin():
        webhook = await _webhook(session, receiver, "/x", ["offer.created"], provider_id=world.provider_id)
        webhook.url = "http://127.0.0.1:1/nobody-listens"
        await notifications.enqueue(session, "offer.created", {"offer_id": 1}, provider_id=world.provider_id)
        report = await _deliver(session_maker)
        [message] = await _messages(session)
        assert report.retrying == 1 and message.last_error == "ConnectError" and message.attempts == 1


async def test_a_message_of_a_rolled_back_change_is_never_sent(
    session_maker: async_sessionmaker[AsyncSession], world: World, receiver: Receiver
) -> None:
    async with session_maker() as session, session.begin():
        await _webhook(session, receiver, "/hook", ["offer.created"], provider_id=world.provider_id)

    class ChangeFailed(Exception):
        pass

    with pytest.raises(ChangeFailed):
        async with session_maker() as session, session.begin():
            written = await notifications.enqueue(session, "offer.created", {"offer_id": 99},
                                                  provider_id=world.provider_id)
            assert written == 1  # it was there inside the transaction ...
            raise ChangeFailed  # ... and the change failed after it

    async with session_maker() as session, session.begin():
        assert await _messages(session) == []
        report = await _deliver(session_maker, now=utcnow() + timedelta(days=1))
        assert report.delivered == report.retrying == report.failed == 0
    assert receiver.deliveries == []


async def test_deleting_a_webhook_drops_its_pending_messages(
    client: AsyncClient, session_maker: async_sessionmaker[AsyncSession], world: World, receiver: Receiver
) -> None:
    created = await client.post("/api/v1/webhooks", json={"url": receiver.url + "/hook", "events": ["offer.created"]},
                                headers=world.auth("provider"))
    assert created.status_code == 201, created.text
    async with session_maker() as session, session.begin():
        await notifications.enqueue(session, "offer.created", {"offer_id": 1}, provider_id=world.provider_id)
    deleted = await client.delete(f"/api/v1/webhooks/{created.json()['id']}", headers=world.auth("provider"))
    assert deleted.status_code == 204
    async with session_maker() as session, session.begin():
        [message] = await _messages(session)
        assert message.status is MessageStatus.FAILED and message.last_error == "webhook deleted"
        webhook = await session.get(Webhook, created.json()["id"])
        assert webhook is not None and webhook.secret == "" and not webhook.active
        await _deliver(session_maker, now=utcnow() + timedelta(days=1))
        again = await notifications.enqueue(session, "offer.created", {"offer_id": 2}, provider_id=world.provider_id)
        assert again == 0
    assert receiver.deliveries == []


async def test_the_scheduled_job_delivers_what_committed(engine: AsyncEngine, receiver: Receiver) -> None:
    """End to end on committed data: enqueue commits with its change, the job (as scheduled) sends it."""
    maker = db.session_maker(engine)
    settings = Settings(run_scheduler=True, webhooks_internal=True)  # the receiver is on 127.0.0.1
    deliver = next(job for job in all_jobs(settings) if job.name == "notifications.deliver")
    async with maker.begin() as session:
        webhook = await _webhook(session, receiver, "/committed", ["offer.withdrawn"], authority=KIRKLEES)
    try:
        async with maker.begin() as session:
            await notifications.enqueue(session, "offer.withdrawn", {"offer_id": 5}, authority=KIRKLEES)
        assert await run_job(maker, deliver, settings) is True
        [delivery] = receiver.deliveries
        assert delivery.valid and delivery.document["data"] == {"offer_id": 5}
        async with maker.begin() as session:
            statuses = list(await session.scalars(
                select(OutboxMessage.status).where(OutboxMessage.webhook_id == webhook.id)
            ))
        assert statuses == [MessageStatus.DELIVERED]
    finally:
        async with maker.begin() as session:
            await session.execute(delete(Webhook).where(Webhook.id == webhook.id))  # its messages cascade
            await session.execute(delete(JobRun).where(JobRun.name == deliver.name))
