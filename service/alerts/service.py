"""`vacancy.suitable`: tell an authority when an available unit newly suits one of its waiting households.

A scheduled job, not the change's own transaction, does the re-check: an availability update only
notes the unit (service/changes), so it stays fast however many households are waiting. The job
claims the noted changes, asks the matcher's feasibility which open households without a pending
offer each changed unit now suits (and which units each changed household now suits), and records
each new pair in `vacancy_alert` with INSERT ... ON CONFLICT DO NOTHING. The primary key, not
Python, makes a pair announced once: across restarts, and with several processes on one database
(the scheduler's advisory lock runs one job at a time; claimed rows are SKIP LOCKED; and two
inserts of one pair meet at the key). The webhook message is written in the same transaction, so
a pair is recorded exactly when its message is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.alerts.models import VacancyAlert
from service.changes import service as changes
from service.inventory import service as inventory
from service.matching import service as matching
from service.notifications import service as notifications
from service.offers import service as offers
from service.referrals import service as referrals
from service.settings import Settings

EVENT = "vacancy.suitable"
INSERT_BATCH = 5000  # 3 parameters a row, under PostgreSQL's 32,767 per statement


@dataclass
class Recheck:
    """What one run of the re-check did."""

    units_changed: int = 0
    referrals_changed: int = 0
    pairs_suitable: int = 0
    pairs_new: int = 0


async def recheck(session: AsyncSession, stale_after: timedelta) -> Recheck:
    """Claim the noted changes, find the pairs they make suitable, announce each new pair once."""
    unit_ids, referral_ids = await changes.claim(session)
    report = Recheck(len(unit_ids), len(referral_ids))
    if not unit_ids and not referral_ids:
        return report
    units = await inventory.matchable_units(session, stale_after)
    open_now = await referrals.open_referrals(session, None)
    pending = await offers.with_pending_offers(session, [r.id for r in open_now])
    waiting = [r for r in open_now if r.id not in pending]
    pairs: dict[tuple[int, int], float] = {}
    changed_units = [(u, s) for u, s in units if u.id in unit_ids]
    if changed_units:
        pairs.update(((r, u), score) for r, u, score in await matching.suitable(session, waiting, changed_units))
    changed_referrals = [r for r in waiting if r.id in referral_ids]
    if changed_referrals:
        pairs.update(((r, u), score) for r, u, score in await matching.suitable(session, changed_referrals, units))
    report.pairs_suitable = len(pairs)
    authority_of = {r.id: r.authority_code for r in waiting}
    rows = [{"referral_id": r, "unit_id": u, "score": score} for (r, u), score in sorted(pairs.items())]
    messages = []
    for start in range(0, len(rows), INSERT_BATCH):
        statement = insert(VacancyAlert).values(rows[start:start + INSERT_BATCH]).on_conflict_do_nothing()
        new = await session.execute(
            statement.returning(VacancyAlert.referral_id, VacancyAlert.unit_id, VacancyAlert.score)
        )
        messages += [
            ({"referral_id": r, "unit_id": u, "score": score}, authority_of[r]) for r, u, score in new
        ]
    report.pairs_new = len(messages)
    await notifications.enqueue_for_authorities(session, EVENT, messages)
    return report


async def recheck_job(session: AsyncSession, settings: Settings) -> None:
    """The scheduled job (every 15 seconds: alerts leave within a minute of the change)."""
    await recheck(session, settings.stale_after)
