"""API keys: creation (shown once), lookup by digest, and the caller they stand for."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.access.models import ApiKey
from service.caller import Caller, Role
from service.db import utcnow
from service.errors import Invalid
from service.inventory import service as inventory
from service.reference import service as reference

KEY_PREFIX = "sak_"

__all__ = ["ApiKey", "authenticate", "create_key", "digest", "revoke_keys_named"]


def digest(key: str) -> str:
    """SHA-256 of a key. Keys carry 256 random bits, so a fast digest is safe to store."""
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(
    session: AsyncSession, role: Role, name: str, authority: str | None = None, provider_id: int | None = None
) -> tuple[ApiKey, str]:
    """Store a new key's digest; return the row and the key itself, which is never stored."""
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
        key_hash=digest(key), prefix=key[:12],
    )
    session.add(row)
    await session.flush()
    return row, key


async def authenticate(session: AsyncSession, key: str) -> Caller | None:
    """The caller a presented key stands for, or None when it is unknown or revoked."""
    row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == digest(key), ApiKey.revoked_at.is_(None)))
    if row is None:
        return None
    return Caller(key_id=row.id, role=row.role, authority=row.authority_code, provider_id=row.provider_id)


async def revoke_keys_named(session: AsyncSession, name: str) -> None:
    """Revoke every live key of that name (the demo replaces its keys on each run)."""
    await session.execute(
        update(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
