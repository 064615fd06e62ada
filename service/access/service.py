"""API keys: creation (shown once), lookup by digest, and the caller they stand for."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.access.models import ApiKey
from service.caller import Caller, Role
from service.db import utcnow
from service.errors import Invalid, NotFound
from service.inventory import service as inventory
from service.reference import service as reference

KEY_PREFIX = "sak_"
# Revoking a key sends NOTIFY on this channel with the key's id, in the revoking transaction, so
# every process that caches keys drops it when (and only when) the revocation commits.
KEYS_CHANNEL = "safeaccom_keys"

__all__ = [
    "KEYS_CHANNEL", "ApiKey", "Caller", "Role", "authenticate", "create_key", "digest", "key_names", "list_keys",
    "live", "revoke_key", "revoke_keys_named",
]


def digest(key: str) -> str:
    """SHA-256 of a key. Keys carry 256 random bits, so a fast digest is safe to store."""
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(
    session: AsyncSession, role: Role, name: str, authority: str | None = None, provider_id: int | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key's digest; return the row and the key itself, which is never stored."""
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= utcnow()):
        raise Invalid("expires_at", "must be a time in the future, with its time zone")
    if not name.strip() or len(name) > 120:
        raise Invalid("name", "must be 1 to 120 characters")
    if role is Role.OFFICER and authority is None:
        raise Invalid("authority", "an officer key is bound to one authority (GSS code)")
    if role is Role.PROVIDER and provider_id is None:
        raise Invalid("provider", "a provider key is bound to one provider organisation")
    if role in (Role.ADMIN, Role.PROVIDER) and authority is not None:
        raise Invalid("authority", f"a {role.value} key has no authority")
    if role is not Role.PROVIDER and provider_id is not None:
        raise Invalid("provider", f"a {role.value} key has no provider")
    if authority is not None:
        await reference.require_authority(session, authority, field="authority")
    if provider_id is not None:
        await inventory.get_provider(session, provider_id)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name.strip(), role=role, authority_code=authority, provider_id=provider_id,
        key_hash=digest(key), prefix=key[:12], expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return row, key


def live() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Conditions on ApiKey for a key that still works: not revoked, not past its expiry."""
    return ApiKey.revoked_at.is_(None), or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > func.now())


async def authenticate(session: AsyncSession, key: str) -> Caller | None:
    """The caller a presented key stands for, or None when it is unknown, revoked or expired."""
    row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == digest(key), *live()))
    if row is None:
        return None
    await note_use(session, row.id)
    return Caller(key_id=row.id, role=row.role, authority=row.authority_code, provider_id=row.provider_id)


async def note_use(session: AsyncSession, key_id: int) -> None:
    """Stamp the key's last use, at most once a minute (so a busy key writes once a minute, not per request)."""
    await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id,
               or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < func.now() - text("interval '1 minute'")))
        .values(last_used_at=func.now())
    )


async def list_keys(session: AsyncSession, limit: int, offset: int) -> tuple[list[ApiKey], int]:
    """Every key, newest first, and their total (never a key or its digest: the caller picks the fields)."""
    total = await session.scalar(select(func.count()).select_from(ApiKey))
    rows = await session.scalars(select(ApiKey).order_by(ApiKey.id.desc()).limit(limit).offset(offset))
    return list(rows), int(total or 0)


async def key_names(session: AsyncSession, key_ids: set[int]) -> dict[int, str]:
    """The names of these keys, by id."""
    if not key_ids:
        return {}
    rows = await session.execute(select(ApiKey.id, ApiKey.name).where(ApiKey.id.in_(key_ids)))
    return {key_id: name for key_id, name in rows}


async def _notify_revoked(session: AsyncSession, key_ids: list[int]) -> None:
    for key_id in key_ids:
        await session.execute(select(func.pg_notify(KEYS_CHANNEL, str(key_id))))


async def revoke_key(session: AsyncSession, *, key_id: int | None = None, prefix: str | None = None) -> ApiKey:
    """Revoke one key, by id or by its prefix (it must name exactly one key); revoking twice changes nothing."""
    if (key_id is None) == (prefix is None):
        raise Invalid("id", "name the key by exactly one of its id or its prefix")
    query = select(ApiKey).with_for_update()
    query = query.where(ApiKey.id == key_id) if key_id is not None else query.where(ApiKey.prefix == prefix)
    rows = list(await session.scalars(query.limit(2)))
    if not rows:
        raise NotFound("key", key_id if key_id is not None else prefix)
    if len(rows) > 1:
        raise Invalid("prefix", "matches more than one key; revoke by id")
    [row] = rows
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    await session.flush()
    await _notify_revoked(session, [row.id])
    return row


async def revoke_keys_named(session: AsyncSession, name: str) -> None:
    """Revoke every live key of that name (the demo replaces its keys on each run)."""
    revoked = await session.scalars(
        update(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None)).values(revoked_at=utcnow())
        .returning(ApiKey.id)
    )
    await _notify_revoked(session, list(revoked))
