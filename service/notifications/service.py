"""Webhooks and the transactional outbox: register, list, delete; enqueue in the caller's transaction; deliver.

Delivery is at least once: a message is claimed in one short transaction, sent with no transaction
open, and marked delivered in another, so a crash between the receiver's 2xx and that commit sends
it again (after the claim's lease). Receivers deduplicate on the
`X-Safeaccom-Delivery` header (the message id).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import ColumnElement, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service import db, metrics
from service.audit import service as audit
from service.caller import Caller, Role
from service.db import utcnow
from service.errors import Forbidden, Invalid, NotFound
from service.inventory import service as inventory
from service.notifications import egress
from service.notifications.models import MessageStatus, OutboxMessage, Webhook
from service.notifications.schemas import EVENTS, WebhookIn
from service.reference import service as reference
from service.settings import Settings

__all__ = [
    "EVENTS", "DeliveryReport", "backoff", "create_webhook", "delete_webhook", "deliver_due", "deliver_job",
    "enqueue", "enqueue_for_authorities", "list_webhooks", "sign",
]

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
TIMEOUT_SECONDS = 5.0  # each connect, write or read
DEADLINE_SECONDS = 15.0  # a whole try, however the receiver paces its answer
RESPONSE_CAP = 64 * 1024  # bytes of a receiver's answer read before it is dropped
BATCH = 50
CONCURRENCY = 10
# Keys a payload may never carry: it is for identifiers and statuses, not a record's contents.
FORBIDDEN_WORDS = frozenset(
    {"address", "name", "lat", "lon", "latitude", "longitude", "postcode", "phone", "email", "dob", "birth"}
)
WEBHOOK_GONE = "webhook deleted"
REFUSED_INTERNAL = "refused: the receiver's address is inside the service's network"


# --- registration ----------------------------------------------------------------------------


def check_url(url: str, allow_internal: bool = False) -> str:
    """The URL normalised (its host in one canonical form); 422 naming `url` when unusable or internal."""
    return egress.normalise_url(url, allow_internal)


def _scope(caller: Caller) -> ColumnElement[bool]:
    """The webhooks a caller may see and delete."""
    if caller.role is Role.ADMIN:
        return true()
    if caller.role is Role.PROVIDER:
        return Webhook.provider_id == caller.provider_id
    if caller.authority is None:  # a commissioner for all authorities
        return Webhook.authority_code.is_not(None)
    return Webhook.authority_code == caller.authority


async def _owner(session: AsyncSession, caller: Caller, data: WebhookIn) -> tuple[int | None, str | None]:
    """Whose webhook this is: the caller's own provider or authority; admin names one."""
    if caller.role is Role.PROVIDER:
        if data.authority is not None:
            raise Invalid("authority", "a provider key registers webhooks for its own provider only")
        if data.provider_id is not None and data.provider_id != caller.provider_id:
            raise Forbidden("this belongs to another provider")
        return caller.provider_id, None
    if caller.role in (Role.OFFICER, Role.COMMISSIONER):
        if data.provider_id is not None:
            raise Invalid("provider_id", "an officer or commissioner key registers webhooks for an authority")
        if caller.authority is None:  # national commissioner: any authority, named in the body
            if data.authority is None:
                raise Invalid("authority", "required: name the authority (GSS code) the webhook is for")
            await reference.require_authority(session, data.authority, field="authority")
            return None, data.authority
        if data.authority is not None and data.authority != caller.authority:
            raise Forbidden("this belongs to another authority")
        return None, caller.authority
    # admin
    if (data.provider_id is None) == (data.authority is None):
        field = "provider_id" if data.provider_id is None else "authority"
        raise Invalid(field, "give exactly one of provider_id or authority")
    if data.provider_id is not None:
        await inventory.get_provider(session, data.provider_id)
        return data.provider_id, None
    assert data.authority is not None
    await reference.require_authority(session, data.authority, field="authority")
    return None, data.authority


async def create_webhook(
    session: AsyncSession, caller: Caller, data: WebhookIn, allow_internal: bool = False
) -> Webhook:
    """Register a webhook with a new signing secret (on the returned row; shown to the caller once)."""
    url = check_url(data.url, allow_internal)
    provider_id, authority = await _owner(session, caller, data)
    webhook = Webhook(
        url=url, secret=SECRET_PREFIX + secrets.token_urlsafe(32), events=sorted(set(data.events)),
        provider_id=provider_id, authority_code=authority, created_by_key_id=caller.key_id, active=True,
    )
    session.add(webhook)
    await session.flush()
    audit.record(session, caller, "create", "webhook", webhook.id)
    return webhook


async def list_webhooks(session: AsyncSession, caller: Caller, limit: int, offset: int) -> tuple[list[Webhook], int]:
    """The caller's own active webhooks (admin: all), newest first, and their total."""
    where = (Webhook.active, _scope(caller))
    rows, total = await db.orm_page(session, select(Webhook).where(*where).order_by(Webhook.id.desc()), limit, offset)
    return [row[0] for row in rows], total


async def delete_webhook(session: AsyncSession, caller: Caller, webhook_id: int) -> None:
    """Deactivate a webhook of the caller's scope (404 for any other), wipe its secret, fail its pending messages."""
    webhook = await session.scalar(
        select(Webhook).where(Webhook.id == webhook_id, Webhook.active, _scope(caller)).with_for_update()
    )
    if webhook is None:
        raise NotFound("webhook", webhook_id)
    webhook.active = False
    webhook.secret = ""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.webhook_id == webhook_id, OutboxMessage.status == MessageStatus.PENDING)
        .values(status=MessageStatus.FAILED, last_error=WEBHOOK_GONE)
    )
    audit.record(session, caller, "delete", "webhook", webhook_id)


# --- the outbox ------------------------------------------------------------------------------


def _plain(key: str, value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple) and all(v is None or isinstance(v, bool | int | float | str) for v in value):
        return list(value)
    raise ValueError(f"outbox payload {key!r}: only identifiers and statuses (scalars), not {type(value).__name__}")


def _clean_payload(payload: Mapping[str, object]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in payload.items():
        if FORBIDDEN_WORDS.intersection(key.lower().split("_")):
            raise ValueError(f"outbox payload {key!r}: a webhook never carries personal data or addresses")
        cleaned[key] = _plain(key, value)
    return cleaned


async def enqueue(
    session: AsyncSession, event: str, payload: Mapping[str, object], *,
    provider_id: int | None = None, authority: str | None = None,
) -> int:
    """Add one outbox message per active webhook of the provider and/or authority that subscribes to the event.

    Runs in the caller's transaction, so a message exists exactly when the change it announces
    commits. The payload holds identifiers and statuses only (ValueError otherwise). Returns the
    number of messages written.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    data = _clean_payload(payload)
    owners: list[ColumnElement[bool]] = []
    if provider_id is not None:
        owners.append(Webhook.provider_id == provider_id)
    if authority is not None:
        owners.append(Webhook.authority_code == authority)
    if not owners:
        return 0
    webhook_ids = list(
        await session.scalars(
            select(Webhook.id).where(Webhook.active, or_(*owners), Webhook.events.contains([event]))
        )
    )
    session.add_all(OutboxMessage(webhook_id=webhook_id, event=event, payload=data) for webhook_id in webhook_ids)
    await session.flush()
    return len(webhook_ids)


async def enqueue_for_authorities(
    session: AsyncSession, event: str, messages: Sequence[tuple[Mapping[str, object], str]]
) -> int:
    """Many messages of one event, each for an authority's subscribed webhooks; one webhook query in all."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    authorities = {authority for _, authority in messages}
    if not authorities:
        return 0
    hooks: dict[str, list[int]] = {}
    for webhook_id, authority in await session.execute(
        select(Webhook.id, Webhook.authority_code)
        .where(Webhook.active, Webhook.authority_code.in_(authorities), Webhook.events.contains([event]))
    ):
        if authority is not None:
            hooks.setdefault(authority, []).append(webhook_id)
    rows = [
        OutboxMessage(webhook_id=webhook_id, event=event, payload=_clean_payload(payload))
        for payload, authority in messages for webhook_id in hooks.get(authority, [])
    ]
    session.add_all(rows)
    await session.flush()
    return len(rows)


# --- delivery --------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret>."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failed tries: 30 s, 1 min, 2 min, ... at most an hour."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


def body_of(message: OutboxMessage) -> bytes:
    """The JSON document POSTed for a message."""
    document = {"id": message.id, "event": message.event, "created_at": message.created_at.isoformat(),
                "data": message.payload}
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True)
class _Claimed:
    """A message taken for one try: everything needed to send it, read inside the claiming transaction."""

    id: int
    url: str
    secret: str
    event: str
    body: bytes


async def _post(client: httpx.AsyncClient, claimed: _Claimed, deadline: float, allow_internal: bool) -> str | None:
    """POST one message within the deadline; None when the receiver answered 2xx, else a short reason.

    The answer's body is read up to RESPONSE_CAP bytes (and dropped): a receiver that trickles
    or floods its answer costs at most the deadline, never the service's memory.
    """
    try:  # again at each try: rows stored before registration checked as it does now
        url = egress.normalise_url(claimed.url, allow_internal)
    except Invalid as refusal:
        return REFUSED_INTERNAL if refusal.errors[0]["message"] == egress.NOT_PUBLIC else "refused: invalid URL"
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "safeaccom-webhooks/1",
        "X-Safeaccom-Event": claimed.event,
        "X-Safeaccom-Delivery": str(claimed.id),
        "X-Safeaccom-Timestamp": timestamp,
        "X-Safeaccom-Signature": sign(claimed.secret, timestamp, claimed.body),
    }
    try:
        async with asyncio.timeout(deadline):
            async with client.stream("POST", url, content=claimed.body, headers=headers) as response:
                received = 0
                async for chunk in response.aiter_raw():
                    received += len(chunk)
                    if received > RESPONSE_CAP:
                        break
                status = response.status_code
    except TimeoutError:
        return f"no answer within {deadline:g} s"
    except egress.BlockedAddress:
        return REFUSED_INTERNAL
    except Exception as error:  # timeouts, refused connections, bad URLs: all retried
        return type(error).__name__[:200]
    if 200 <= status < 300:
        return None
    return f"HTTP {status}"


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def claim_lease(batch: int, deadline: float) -> timedelta:
    """How long a claimed message stays out of other deliverers' reach: longer than its batch can take."""
    rounds = -(-batch // CONCURRENCY)
    return timedelta(seconds=deadline * rounds + 60)


async def _claim(
    maker: async_sessionmaker[AsyncSession], now: datetime | None, batch: int, deadline: float
) -> tuple[datetime, list[_Claimed], int]:
    """Take due messages (SKIP LOCKED) and push them out of reach for a lease, in one short transaction.

    Returns the time used, the messages to send, and how many failed because their webhook is gone.
    """
    async with maker() as session, session.begin():
        if now is None:  # the database's clock, the one that stamped next_attempt_at
            now = await session.scalar(select(func.now())) or utcnow()
        messages: Sequence[OutboxMessage] = list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.status == MessageStatus.PENDING, OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        if not messages:
            return now, [], 0
        webhooks = {
            w.id: w for w in await session.scalars(
                select(Webhook).where(Webhook.id.in_({m.webhook_id for m in messages}))
            )
        }
        claimed: list[_Claimed] = []
        gone = 0
        lease = claim_lease(batch, deadline)
        for message in messages:
            webhook = webhooks.get(message.webhook_id)
            if webhook is None or not webhook.active:
                message.status, message.last_error = MessageStatus.FAILED, WEBHOOK_GONE
                gone += 1
                continue
            # If this process dies mid-send, the message is due again when the lease ends.
            message.next_attempt_at = now + lease
            claimed.append(_Claimed(message.id, webhook.url, webhook.secret, message.event, body_of(message)))
    return now, claimed, gone


async def _record(
    maker: async_sessionmaker[AsyncSession], now: datetime, outcomes: Sequence[tuple[_Claimed, str | None]],
    report: DeliveryReport,
) -> None:
    """Write the tries' outcomes in a new transaction (a message deleted meanwhile stays failed)."""
    async with maker() as session, session.begin():
        ids = [claimed.id for claimed, _ in outcomes]
        rows = {
            m.id: m for m in await session.scalars(
                select(OutboxMessage).where(OutboxMessage.id.in_(ids)).with_for_update()
            )
        }
        for claimed, error in outcomes:
            message = rows.get(claimed.id)
            if message is None or message.status is not MessageStatus.PENDING:
                continue
            message.attempts += 1
            message.last_error = error
            if error is None:
                message.status, message.delivered_at = MessageStatus.DELIVERED, now
                report.delivered += 1
            elif message.attempts >= MAX_ATTEMPTS:
                message.status = MessageStatus.FAILED
                report.failed += 1
            else:
                message.next_attempt_at = now + backoff(message.attempts)
                report.retrying += 1


async def deliver_due(
    maker: async_sessionmaker[AsyncSession], *, now: datetime | None = None, batch: int = BATCH,
    transport: httpx.AsyncBaseTransport | None = None, allow_internal: bool = False,
    deadline: float = DEADLINE_SECONDS,
) -> DeliveryReport:
    """Send a batch of due pending messages; mark them delivered, to retry, or failed.

    Three steps, so that no transaction is open while a receiver is being waited for: claim the
    messages in a short transaction, send them with none open (each try within `deadline`
    seconds, connecting only to checked addresses), record the outcomes in a new transaction.
    """
    now, claimed, gone = await _claim(maker, now, batch, deadline)
    report = DeliveryReport(failed=gone)
    if not claimed:
        return report
    gate = asyncio.Semaphore(CONCURRENCY)

    async def attempt(client: httpx.AsyncClient, message: _Claimed) -> str | None:
        async with gate:
            return await _post(client, message, deadline, allow_internal)

    transport = transport or egress.PinnedTransport(allow_internal)
    async with httpx.AsyncClient(
        timeout=TIMEOUT_SECONDS, follow_redirects=False, transport=transport, trust_env=False
    ) as client:
        outcomes = await asyncio.gather(*(attempt(client, m) for m in claimed))
    await _record(maker, now, list(zip(claimed, outcomes, strict=True)), report)
    log.info("webhook deliveries: %d delivered, %d to retry, %d failed",
             report.delivered, report.retrying, report.failed)
    for outcome, count in (("delivered", report.delivered), ("retry", report.retrying), ("failed", report.failed)):
        metrics.WEBHOOK_DELIVERIES.labels(outcome).inc(count)
    return report


async def deliver_job(maker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """The scheduled job: deliver what is due (it opens its own short transactions)."""
    await deliver_due(maker, allow_internal=settings.webhooks_internal, deadline=settings.webhook_deadline_seconds)


async def backlog(session: AsyncSession) -> dict[str, int]:
    """Messages waiting to be delivered (`pending`) and kept as `failed`, for the metrics."""
    counts = dict((await session.execute(
        select(OutboxMessage.status, func.count()).where(OutboxMessage.status != MessageStatus.DELIVERED)
        .group_by(OutboxMessage.status)
    )).all())
    return {status.value: int(counts.get(status, 0)) for status in (MessageStatus.PENDING, MessageStatus.FAILED)}
