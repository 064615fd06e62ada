"""API keys: creation (shown once), lookup by digest, and the caller they stand for."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.access.models import ApiKey
from service.caller import Caller, Role
from service.db import utcnow
from service.errors import Invalid, NotFound
from service.inventory import service as inventory
from service.reference import service as reference

log = logging.getLogger(__name__)

KEY_PREFIX = "sak_"
# Revoking a key sends NOTIFY on this channel with the key's id, in the revoking transaction, so
# every process that caches keys drops it when (and only when) the revocation commits.
KEYS_CHANNEL = "safeaccom_keys"

__all__ = [
    "KEYS_CHANNEL", "ApiKey", "Caller", "KeyCache", "KeyLookup", "Role", "authenticate", "create_key", "digest",
    "key_names", "list_keys", "listen_for_revocations", "live", "look_up", "note_use", "notify_revoked", "revoke_key",
    "revoke_keys_named", "use_due",
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
    found = await look_up(session, digest(key))
    if found is None:
        return None
    if use_due(found, utcnow()):
        await note_use(session, found.caller.key_id)
    return found.caller


@dataclass(frozen=True)
class KeyLookup:
    """A live key's caller, when it was last used, and when it expires."""

    caller: Caller
    last_used_at: datetime | None
    expires_at: datetime | None


async def look_up(session: AsyncSession, key_digest: str) -> KeyLookup | None:
    """The live key of this digest (one query, no ORM object), or None when it is unknown, revoked or expired."""
    row = (
        await session.execute(
            select(ApiKey.id, ApiKey.role, ApiKey.authority_code, ApiKey.provider_id, ApiKey.last_used_at,
                   ApiKey.expires_at)
            .where(ApiKey.key_hash == key_digest, *live())
        )
    ).first()
    if row is None:
        return None
    caller = Caller(key_id=row.id, role=row.role, authority=row.authority_code, provider_id=row.provider_id)
    return KeyLookup(caller, row.last_used_at, row.expires_at)


def use_due(found: KeyLookup, now: datetime) -> bool:
    """Whether the key's last use is worth stamping (note_use writes at most once a minute)."""
    return found.last_used_at is None or found.last_used_at < now - timedelta(minutes=1)


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


async def notify_revoked(session: AsyncSession, key_ids: list[int]) -> None:
    """Tell every process, when this transaction commits, that these keys no longer authenticate."""
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
    await notify_revoked(session, [row.id])
    return row


class KeyCache:
    """Callers of recently seen key digests, for a few seconds, in this process.

    Only used while `enabled` (this process listens for revocations): a revocation evicts the key
    within milliseconds; the time-to-live bounds anything a lost notification could leave behind.
    Unknown keys are never cached, so a new key works at once.
    """

    MAX_ENTRIES = 10_000

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self.enabled = False
        self._entries: dict[str, tuple[float, Caller]] = {}
        self._generation = 0  # bumped by every eviction: a lookup racing one must not cache its answer
        self._stamped: dict[str, float] = {}  # digest -> when this process last stamped the key's use

    def stamped_lately(self, key_digest: str) -> bool:
        """Whether this process stamped the key's last use within the minute (note_use would do nothing)."""
        when = self._stamped.get(key_digest)
        return when is not None and time.monotonic() - when < 60

    def mark_stamped(self, key_digest: str) -> None:
        """The key's last use is stamped (or was fresh) as of now."""
        if len(self._stamped) >= self.MAX_ENTRIES:
            self._stamped.clear()
        self._stamped[key_digest] = time.monotonic()

    @property
    def generation(self) -> int:
        """Changes whenever anything is evicted."""
        return self._generation

    def get(self, key_digest: str) -> Caller | None:
        """The cached caller, or None (not cached, expired, or caching off)."""
        if not self.enabled:
            return None
        entry = self._entries.get(key_digest)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            self._entries.pop(key_digest, None)
            return None
        return entry[1]

    def put(self, key_digest: str, caller: Caller, generation: int, expires_in: float | None = None) -> None:
        """Cache a caller looked up while the cache was at `generation` (never past the key's own expiry)."""
        if not self.enabled or self.ttl <= 0 or generation != self._generation:
            return
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        ttl = self.ttl if expires_in is None else min(self.ttl, expires_in)
        if ttl > 0:
            self._entries[key_digest] = (time.monotonic() + ttl, caller)

    def evict(self, key_id: int) -> None:
        """Forget a key (revoked)."""
        self._generation += 1
        for key_digest in [d for d, (_, caller) in self._entries.items() if caller.key_id == key_id]:
            del self._entries[key_digest]

    def clear(self) -> None:
        """Forget every key (the revocation listener lost its connection)."""
        self._generation += 1
        self._entries.clear()

    def on_notification(self, payload: str) -> None:
        """A NOTIFY on KEYS_CHANNEL: the payload is a key id; anything else clears the cache."""
        if payload.strip().isdigit():
            self.evict(int(payload))
        else:
            self.clear()


async def listen_for_revocations(dsn: str, cache: KeyCache, *, retry_seconds: float = 1.0) -> None:
    """LISTEN for revocations and keep the cache honest; caching is on only while listening. Runs until cancelled."""
    import asyncpg

    while True:
        connection = None
        lost = asyncio.Event()
        try:
            connection = await asyncpg.connect(dsn)
            connection.add_termination_listener(lambda _connection, lost=lost: lost.set())
            await connection.add_listener(
                KEYS_CHANNEL, lambda _connection, _pid, _channel, payload: cache.on_notification(payload)
            )
            cache.clear()  # anything cached before this connection could have missed a revocation
            cache.enabled = True
            await lost.wait()
            log.warning("the key revocation listener lost its connection; key caching is off until it is back")
        except (OSError, asyncpg.PostgresError) as error:
            log.warning("key revocation listener could not connect (%s); key caching is off", type(error).__name__)
        finally:
            cache.enabled = False
            cache.clear()
            if connection is not None and not connection.is_closed():
                await connection.close(timeout=2)
        await asyncio.sleep(retry_seconds)


async def revoke_keys_named(session: AsyncSession, name: str) -> None:
    """Revoke every live key of that name (the demo replaces its keys on each run)."""
    revoked = await session.scalars(
        update(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None)).values(revoked_at=utcnow())
        .returning(ApiKey.id)
    )
    await notify_revoked(session, list(revoked))
