"""Recording audit events in the same transaction as the change they describe."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert, Select, String, and_, bindparam, cast, func, insert, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.audit.models import AuditEvent
from service.caller import Caller

OK, DENIED = "ok", "denied"

def record(
    session: AsyncSession, caller: Caller | None, action: str, entity: str, entity_id: object,
    fields: list[str] | None = None, outcome: str = OK,
) -> None:
    """Add an audit event: identifiers (and the names of changed fields) only, never a record's contents."""
    session.add(
        AuditEvent(
            api_key_id=caller.key_id if caller else None,
            role=caller.role.value if caller else None,
            action=action,
            entity=entity,
            entity_id=str(entity_id)[:40],
            fields=sorted(fields) if fields else None,
            outcome=outcome,
        )
    )


def recorded(action: str, entity: str, ids: Select[tuple[Any]]) -> Insert:
    """An INSERT of one audit event per id that `ids` selects, to run inside another statement (a data-
    modifying CTE), so a change and its audit row are one round trip. The caller is given as bound
    parameters (`caller_params`), so the statement is built once and reused."""
    chosen = ids.subquery()
    (id_column,) = chosen.c
    return insert(AuditEvent).from_select(
        ["api_key_id", "role", "action", "entity", "entity_id", "outcome"],
        select(bindparam("audit_key_id", type_=AuditEvent.api_key_id.type),
               bindparam("audit_role", type_=AuditEvent.role.type),
               literal(action, String), literal(entity, String), cast(id_column, String), literal(OK, String)),
    )


def caller_params(caller: Caller | None) -> dict[str, Any]:
    """The bound parameters `recorded` statements name the caller by."""
    return {"audit_key_id": caller.key_id if caller else None, "audit_role": caller.role.value if caller else None}


async def record_denied(
    maker: async_sessionmaker[AsyncSession], caller: Caller | None, action: str, entity: str, entity_id: object
) -> None:
    """A refused attempt, in its own transaction: the request's own was rolled back by the refusal."""
    async with maker() as session, session.begin():
        record(session, caller, action, entity, entity_id, outcome=DENIED)


async def trail(
    session: AsyncSession, entity: str, entity_id: str, limit: int, offset: int
) -> tuple[list[AuditEvent], int]:
    """The audit trail of one record, newest first, and its length."""
    where = (AuditEvent.entity == entity, AuditEvent.entity_id == entity_id)
    total = await session.scalar(select(func.count()).select_from(AuditEvent).where(*where))
    rows = await session.scalars(
        select(AuditEvent).where(*where)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), int(total or 0)


async def trail_of(session: AsyncSession, records: list[tuple[str, str]]) -> list[AuditEvent]:
    """The audit events of these records (entity, id), newest first."""
    if not records:
        return []
    wanted = or_(*(and_(AuditEvent.entity == entity, AuditEvent.entity_id == ident) for entity, ident in records))
    return list(await session.scalars(select(AuditEvent).where(wanted).order_by(AuditEvent.at.desc(),
                                                                                  AuditEvent.id.desc())))
