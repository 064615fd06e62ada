"""Response types of API keys: what an admin sees of a key, never the key or its digest."""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct


class KeyOut(Struct):
    """One key: who it stands for, when it was made, last used, revoked or expires."""

    id: int
    name: str
    role: str
    authority: str | None
    provider_id: int | None
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None
