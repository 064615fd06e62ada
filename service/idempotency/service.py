"""Idempotency-Key: a retried request gets the first answer, decided by a primary key, not by Python."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Invalid
from service.idempotency.models import IdempotencyRecord


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests the same request."""
    return hashlib.sha256(b"\0".join([method.encode(), path.encode(), body])).hexdigest()


async def claim(session: AsyncSession, key_id: int, key: str, print_: str) -> IdempotencyRecord | None:
    """Claim the key for this transaction, or return the record of the request that already holds it.

    The insert waits while another transaction holds the same key uncommitted, so two racing retries
    never both run; if that transaction rolls back, this one claims the key and runs.
    """
    inserted = await session.scalar(
        insert(IdempotencyRecord)
        .values(api_key_id=key_id, key=key, fingerprint=print_)
        .on_conflict_do_nothing()
        .returning(IdempotencyRecord.key)
    )
    if inserted is not None:
        return None
    existing = await session.scalar(
        select(IdempotencyRecord)
        .where(IdempotencyRecord.api_key_id == key_id, IdempotencyRecord.key == key)
        .execution_options(populate_existing=True)
    )
    if existing is None or existing.fingerprint != print_:
        raise Invalid("Idempotency-Key", "was already used for a different request; use a new key")
    return existing


async def remember(session: AsyncSession, key_id: int, key: str, status_code: int, body: dict[str, Any]) -> None:
    """Store the answer of the request that claimed the key, in its own transaction."""
    record = await session.get(IdempotencyRecord, (key_id, key))
    assert record is not None, "remember() follows claim()"
    record.status_code = status_code
    record.body = body


# How long a first answer is kept for retries: far longer than any client retries for.
KEEP_FOR = timedelta(days=1)


async def purge(session: AsyncSession, keep_for: timedelta = KEEP_FOR) -> int:
    """Scheduled: forget answers older than keep_for (a retry after that runs as a new request)."""
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < func.now() - keep_for)
    )
    return int(getattr(result, "rowcount", 0) or 0)
