"""HTTP for the audit trail: the admin reads one record's trail, refused attempts included."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.pagination import OffsetPagination
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from service.access import service as access
from service.audit import service
from service.audit.schemas import AuditEntry
from service.auth import Offset, allow
from service.caller import Role

__all__ = ["AuditController"]

RecordType = Annotated[str, QueryParameter(pattern=r"^[a-z][a-z_.]{0,39}$", description="e.g. referral, offer")]
RecordId = Annotated[str, QueryParameter(pattern=r"^[A-Za-z0-9_./-]{1,40}$", description="the record's id")]


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]
    guards = [allow(Role.ADMIN)]

    @get("/")
    async def read_trail(
        self,
        session: AsyncSession,
        record_type: RecordType,
        record_id: RecordId,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        offset: Offset = 0,
    ) -> OffsetPagination[AuditEntry]:
        """Who did what to one record, newest first; refused attempts are rows with outcome "denied"."""
        rows, total = await service.trail(session, record_type, record_id, limit, offset)
        names = await access.key_names(session, {event.api_key_id for event in rows if event.api_key_id})
        items = [
            AuditEntry(at=event.at, key_id=event.api_key_id, key_name=names.get(event.api_key_id or 0),
                       role=event.role, action=event.action, record_type=event.entity, record_id=event.entity_id,
                       outcome=event.outcome)
            for event in rows
        ]
        return OffsetPagination(items=items, total=total, limit=limit, offset=offset)
