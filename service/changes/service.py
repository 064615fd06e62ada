"""Note changes that may make a household and a unit newly suitable; the alerts job claims them.

Writing a row is all an availability update pays (one INSERT in its own transaction); the
re-check runs in the scheduled job, so a provider's update stays fast. A row exists exactly when
the change it notes commits, so the job misses nothing across restarts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Insert, Select, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.changes.models import SuitabilityChange


async def note(session: AsyncSession, *, unit_ids: Iterable[int] = (), referral_ids: Iterable[int] = ()) -> None:
    """Queue these units and referrals for the suitability re-check."""
    rows = [{"unit_id": u, "referral_id": None} for u in set(unit_ids)]
    rows += [{"unit_id": None, "referral_id": r} for r in set(referral_ids)]
    if rows:
        await session.execute(insert(SuitabilityChange), rows)


def noting_units(unit_ids: Select[tuple[Any]]) -> Insert:
    """An INSERT queueing the units `unit_ids` selects, to run inside another statement (a data-modifying
    CTE): the change and its note are one round trip."""
    return insert(SuitabilityChange).from_select(["unit_id"], unit_ids)


async def claim(session: AsyncSession, limit: int = 5000) -> tuple[set[int], set[int]]:
    """Take queued changes out of the queue (rows another process holds are skipped): (unit ids, referral ids).

    Deleted in the caller's transaction: if the re-check fails, the rows come back with the rollback.
    """
    picked = (
        select(SuitabilityChange.id).order_by(SuitabilityChange.id).limit(limit)
        .with_for_update(skip_locked=True).scalar_subquery()
    )
    rows = await session.execute(
        delete(SuitabilityChange).where(SuitabilityChange.id.in_(picked))
        .returning(SuitabilityChange.unit_id, SuitabilityChange.referral_id)
    )
    units: set[int] = set()
    referrals: set[int] = set()
    for unit_id, referral_id in rows:
        if unit_id is not None:
            units.add(unit_id)
        if referral_id is not None:
            referrals.add(referral_id)
    return units, referrals
