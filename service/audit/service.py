"""Recording audit events in the same transaction as the change they describe."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.models import AuditEvent
from service.caller import Caller


def record(
    session: AsyncSession, caller: Caller | None, action: str, entity: str, entity_id: object,
    fields: list[str] | None = None,
) -> None:
    """Add an audit event: identifiers (and the names of changed fields) only, never a record's contents."""
    session.add(
        AuditEvent(
            api_key_id=caller.key_id if caller else None,
            role=caller.role.value if caller else None,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            fields=sorted(fields) if fields else None,
        )
    )
