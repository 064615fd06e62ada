"""HTTP for API keys: the admin lists them and revokes one (the key gets 401 from then on)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.pagination import OffsetPagination
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from service.access import service
from service.access.models import ApiKey
from service.access.schemas import KeyOut
from service.audit import service as audit
from service.auth import Offset, PathId, allow
from service.caller import Caller, Role

__all__ = ["KeyController"]


def key_out(row: ApiKey) -> KeyOut:
    return KeyOut(
        id=row.id, name=row.name, role=row.role.value, authority=row.authority_code, provider_id=row.provider_id,
        prefix=row.prefix, created_at=row.created_at, last_used_at=row.last_used_at, revoked_at=row.revoked_at,
        expires_at=row.expires_at,
    )


class KeyController(Controller):
    path = "/api/v1/keys"
    tags = ["keys"]
    guards = [allow(Role.ADMIN)]

    @get("/")
    async def list_keys(
        self,
        session: AsyncSession,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 200,
        offset: Offset = 0,
    ) -> OffsetPagination[KeyOut]:
        """Every key, newest first: its role, scope, prefix and dates; never the key or its digest."""
        rows, total = await service.list_keys(session, limit, offset)
        return OffsetPagination(items=[key_out(r) for r in rows], total=total, limit=limit, offset=offset)

    @post("/{key_id:int}/revoke", status_code=200)
    async def revoke_key(self, session: AsyncSession, caller: Caller, key_id: PathId) -> KeyOut:
        """Revoke a key: from the commit on it gets 401 in every process (revoking twice changes nothing)."""
        row = await service.revoke_key(session, key_id=key_id)
        audit.record(session, caller, "revoke", "api_key", row.id)
        return key_out(row)
