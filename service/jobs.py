"""Every scheduled job of the service, registered by the features (see service/scheduler.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.alerts import service as alerts
from service.db import utcnow
from service.idempotency import service as idempotency
from service.inventory import service as inventory
from service.notifications import service as notifications
from service.offers import service as offers
from service.referrals import service as referrals
from service.reports import service as reports
from service.scheduler import ScheduledJob
from service.settings import Settings


async def expire_offers(session: AsyncSession, settings: Settings) -> None:
    """Pending offers past their hold expire; their units are available again."""
    await offers.expire_offers(session)


async def flag_stale_vacancies(session: AsyncSession, settings: Settings) -> None:
    """Vacancies not confirmed within the threshold: their providers are asked once to reconfirm."""
    for unit_id, provider_id in await inventory.flag_stale(session, settings.stale_after):
        await notifications.enqueue(session, "vacancy.stale", {"unit_id": unit_id}, provider_id=provider_id)


async def occupancy_snapshot(session: AsyncSession, settings: Settings) -> None:
    """Today's units and bed spaces by authority, type and status, for the occupancy report."""
    await reports.record_snapshot(session, utcnow().date())


async def pseudonymise(session: AsyncSession, settings: Settings) -> None:
    """Referrals and placements past the retention period keep only what statutory reporting needs."""
    left = await offers.pseudonymise_placements(session, (utcnow() - settings.retention).date())
    await referrals.pseudonymise_due(session, settings.retention, left)


async def purge_idempotency(session: AsyncSession, settings: Settings) -> None:
    """First answers kept for Idempotency-Key retries are forgotten after a day."""
    await idempotency.purge(session)


def all_jobs(settings: Settings) -> list[ScheduledJob]:
    """The jobs each service process schedules; each runs once per period across all processes."""
    return [
        ScheduledJob("notifications.deliver", timedelta(seconds=10), own_transactions=notifications.deliver_job),
        ScheduledJob("offers.expire", timedelta(minutes=1), expire_offers),
        ScheduledJob("alerts.vacancy_suitable", timedelta(seconds=15), alerts.Rechecker().run),
        ScheduledJob("inventory.flag_stale", timedelta(minutes=15), flag_stale_vacancies),
        ScheduledJob("reports.occupancy_snapshot", timedelta(days=1), occupancy_snapshot),
        ScheduledJob("referrals.pseudonymise", timedelta(days=1), pseudonymise),
        ScheduledJob("idempotency.purge", timedelta(hours=1), purge_idempotency),
    ]
