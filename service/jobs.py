"""Every scheduled job of the service, registered by the features (see service/scheduler.py)."""

from __future__ import annotations

from datetime import timedelta

from service.notifications import service as notifications
from service.scheduler import ScheduledJob
from service.settings import Settings


def all_jobs(settings: Settings) -> list[ScheduledJob]:
    """The jobs each service process schedules; each runs once per period across all processes."""
    return [
        ScheduledJob("notifications.deliver", timedelta(seconds=10), notifications.deliver_job),
    ]
