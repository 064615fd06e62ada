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

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.alerts.models import VacancyAlert
from service.changes import service as changes
from service.inventory import service as inventory
from service.matching import service as matching
from service.notifications import service as notifications
from service.offers import service as offers
from service.referrals import service as referrals
from service.referrals.service import Referral
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


@dataclass
class Rechecker:
    """The re-check with what it read last time: each waiting household in the matcher's form, by version.

    A household's matching fields change only through PATCH, which raises its version, so a run
    reads afresh only the households that are new or changed since the last run (one query of ids
    and versions tells which). Kept per process; a new process starts empty.
    """

    known: dict[int, tuple[int, Referral, dict[str, Any]]] = field(default_factory=dict)

    async def waiting(self, session: AsyncSession) -> tuple[list[Referral], dict[int, dict[str, Any]]]:
        """Every waiting household, and each in the matcher's form, reading only what changed."""
        versions = await offers.waiting_versions(session)
        stale = [i for i, v in versions.items() if i not in self.known or self.known[i][0] != v]
        if stale:
            rows = await offers.waiting(session, stale)
            for row, problem in zip(rows, await referrals.problem_referrals(session, rows, {}), strict=True):
                self.known[row.id] = (row.version, row, problem)
        self.known = {i: entry for i, entry in self.known.items() if i in versions and entry[0] == versions[i]}
        ordered = sorted(self.known.values(), key=lambda entry: (entry[1].referred_on, entry[1].id))
        return [row for _, row, _ in ordered], {row.id: problem for _, row, problem in ordered}

    async def run(self, session: AsyncSession, settings: Settings) -> None:
        """The scheduled job (every 15 seconds: alerts leave within a minute of the change)."""
        await recheck(session, settings.stale_after, self)


async def recheck(session: AsyncSession, stale_after: timedelta, rechecker: Rechecker | None = None) -> Recheck:
    """Claim the noted changes, find the pairs they make suitable, announce each new pair once."""
    unit_ids, referral_ids = await changes.claim(session)
    report = Recheck(len(unit_ids), len(referral_ids))
    if not unit_ids and not referral_ids:
        return report
    pairs: dict[tuple[int, int], float] = {}
    changed_units = await inventory.matchable_units(session, stale_after, unit_ids) if unit_ids else []
    waiting: list[Referral] = []
    if changed_units:
        waiting, prepared = await (rechecker or Rechecker()).waiting(session)
        found = await matching.suitable(session, waiting, changed_units, prepared)
        pairs.update(((r, u), score) for r, u, score in found)
    changed_referrals = await offers.waiting(session, referral_ids) if referral_ids else []
    if changed_referrals:
        units = await inventory.matchable_units(session, stale_after)
        pairs.update(((r, u), score) for r, u, score in await matching.suitable(session, changed_referrals, units))
    report.pairs_suitable = len(pairs)
    authority_of = {r.id: r.authority_code for r in [*waiting, *changed_referrals]}
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
