"""Scheduled jobs: APScheduler in each process, a PostgreSQL advisory lock so each job runs once per schedule.

Every service process runs the same schedule. A job's run is one transaction that first takes
`pg_try_advisory_xact_lock(<job's key>)`; the process that gets it checks `job_run` and runs the
job only when it has not run in the current period, then records the run in that transaction.
So with several processes on one database each job runs once per schedule, and a failed run
leaves nothing behind (not even its `job_run` row, so the next tick tries again).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import String, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from service import metrics
from service.db import Base
from service.settings import Settings

log = logging.getLogger(__name__)

JobFn = Callable[[AsyncSession, Settings], Awaitable[None]]
# A job that opens its own short transactions (one that waits on the network must not hold one open).
OwnTransactionsJobFn = Callable[[async_sessionmaker[AsyncSession], Settings], Awaitable[None]]

# A job counts as already run in this period when its last run is younger than this share of
# its interval: tolerant of timer jitter between processes, strict enough to run once per period.
PERIOD_SHARE = 0.9
# How long shutdown waits for a running job to finish before the scheduler cancels it.
SHUTDOWN_GRACE_SECONDS = 10.0


class JobRun(Base):
    """When each scheduled job last completed (committed) a run."""

    __tablename__ = "job_run"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_run_at: Mapped[datetime]


@dataclass(frozen=True)
class ScheduledJob:
    """A job the scheduler runs every `every`, once per period across all processes."""

    name: str
    every: timedelta
    run: JobFn | None = None
    # Instead of `run`: a job that takes the session maker, runs in every process each period and
    # keeps itself from doing work twice (SKIP LOCKED claims), holding no lock while it waits.
    own_transactions: OwnTransactionsJobFn | None = None


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a job name (the same in every process)."""
    digest = hashlib.sha256(f"safeaccom.job:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _record_run(name: str) -> Any:
    upsert = insert(JobRun).values(name=name, last_run_at=text("now()"))
    return upsert.on_conflict_do_update(index_elements=[JobRun.name], set_={"last_run_at": text("now()")})


async def run_job(maker: async_sessionmaker[AsyncSession], job: ScheduledJob, settings: Settings) -> bool:
    """Run the job once if no other process holds it and it has not run this period; True when it ran."""
    started = time.perf_counter()
    if job.own_transactions is not None:
        try:
            await job.own_transactions(maker, settings)
            async with maker() as session, session.begin():  # when it last completed, as for other jobs
                await session.execute(_record_run(job.name))
        except Exception as error:  # its transactions roll back on their own; the schedule goes on
            log.error("scheduled job %s failed: %s", job.name, type(error).__name__)
            metrics.JOB_RUNS.labels(job.name, "failed").inc()
            metrics.JOB_SECONDS.labels(job.name).observe(time.perf_counter() - started)
            return False
        metrics.JOB_RUNS.labels(job.name, "ran").inc()
        metrics.JOB_SECONDS.labels(job.name).observe(time.perf_counter() - started)
        return True
    try:
        async with maker() as session, session.begin():
            got = await session.scalar(select(func.pg_try_advisory_xact_lock(lock_key(job.name))))
            if not got:
                metrics.JOB_RUNS.labels(job.name, "skipped").inc()
                return False
            now = await session.scalar(select(func.now()))
            last = await session.scalar(select(JobRun.last_run_at).where(JobRun.name == job.name))
            if last is not None and now is not None and last > now - job.every * PERIOD_SHARE:
                metrics.JOB_RUNS.labels(job.name, "skipped").inc()
                return False
            assert job.run is not None, f"job {job.name} has nothing to run"
            await job.run(session, settings)
            await session.execute(_record_run(job.name))
        metrics.JOB_RUNS.labels(job.name, "ran").inc()
        metrics.JOB_SECONDS.labels(job.name).observe(time.perf_counter() - started)
        return True
    except Exception as error:  # a failed run is rolled back; the schedule goes on
        # The class only: messages of database errors can quote the data involved.
        log.error("scheduled job %s failed and was rolled back: %s", job.name, type(error).__name__)
        metrics.JOB_RUNS.labels(job.name, "failed").inc()
        metrics.JOB_SECONDS.labels(job.name).observe(time.perf_counter() - started)
        return False


def scheduler_lifespan(jobs: Sequence[ScheduledJob]) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """A lifespan that runs the jobs on an AsyncIOScheduler while the app is up (unless settings turn it off).

    The app (a Litestar app; typed Any so that this module stays free of the web layer) must hold
    `state.settings` and `state.session_maker` when the lifespan starts.
    """

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        settings: Settings = app.state.settings
        if not settings.run_scheduler or not jobs:
            yield
            return
        maker: async_sessionmaker[AsyncSession] = app.state.session_maker
        running: set[asyncio.Task[Any]] = set()
        stopping = False

        async def tick(job: ScheduledJob) -> None:
            if stopping:
                return
            task = asyncio.current_task()
            if task is not None:
                running.add(task)
            try:
                await run_job(maker, job, settings)
            finally:
                if task is not None:
                    running.discard(task)

        scheduler = AsyncIOScheduler(timezone=UTC)
        start = datetime.now(UTC)
        for job in jobs:
            seconds = job.every.total_seconds()
            scheduler.add_job(
                tick, "interval", seconds=seconds, args=(job,), id=job.name, name=job.name,
                # First try at start-up: a daily job must not wait a day after every restart
                # (job_run makes this a no-op when another process ran it this period).
                next_run_time=start,
                max_instances=1, coalesce=True, misfire_grace_time=max(1, int(seconds / 2)),
            )
        scheduler.start()
        try:
            yield
        finally:
            stopping = True
            if running:  # let a run in progress finish (its transaction commits or rolls back)
                await asyncio.wait(set(running), timeout=SHUTDOWN_GRACE_SECONDS)
            scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the loop's next turn

    return lifespan
