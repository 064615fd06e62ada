"""Report inputs kept over time: the daily occupancy snapshot."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.inventory.service import Scheme, Unit
from service.reports.models import OccupancySnapshot


async def record_snapshot(session: AsyncSession, on: date) -> int:
    """Count units and bed spaces by authority, type and status for `on`; a second run that day replaces it."""
    counts = select(
        Scheme.authority_code, Scheme.type, Unit.status, func.count(Unit.id), func.sum(Unit.bedspaces)
    ).join(Scheme, Unit.scheme_id == Scheme.id).group_by(Scheme.authority_code, Scheme.type, Unit.status)
    rows = [
        {"snapshot_on": on, "authority_code": authority, "type": kind.value, "status": status.value,
         "units": units, "bedspaces": int(bedspaces)}
        for authority, kind, status, units, bedspaces in await session.execute(counts)
    ]
    if rows:
        statement = insert(OccupancySnapshot).values(rows)
        await session.execute(statement.on_conflict_do_update(
            index_elements=["snapshot_on", "authority_code", "type", "status"],
            set_={"units": statement.excluded.units, "bedspaces": statement.excluded.bedspaces},
        ))
    return len(rows)
