"""Scheduled jobs: once per period across processes, failures rolled back. These tests commit and clean up."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service import db
from service.scheduler import PERIOD_SHARE, JobRun, ScheduledJob, lock_key, run_job, scheduler_lifespan
from service.settings import Settings

SETTINGS = Settings(run_scheduler=True)
PREFIX = "test.scheduler."


@pytest.fixture
async def makers(database_url: str, engine: object) -> AsyncIterator[list[async_sessionmaker[AsyncSession]]]:
    """Two session makers on two engines: two service processes on one database."""
    engines = [db.create_engine(database_url), db.create_engine(database_url)]
    try:
        yield [db.session_maker(e) for e in engines]
    finally:
        async with db.session_maker(engines[0]).begin() as session:
            await session.execute(delete(JobRun).where(JobRun.name.startswith(PREFIX)))
        for e in engines:
            await e.dispose()


def test_lock_keys_are_stable_signed_64_bit_and_distinct() -> None:
    keys = {lock_key(f"job{i}") for i in range(1000)}
    assert len(keys) == 1000
    assert all(-(2**63) <= k < 2**63 for k in keys)
    assert lock_key("notifications.deliver") == lock_key("notifications.deliver")


async def test_two_processes_firing_together_run_the_job_once_per_period(
    makers: list[async_sessionmaker[AsyncSession]],
) -> None:
    runs: list[str] = []

    async def work(session: AsyncSession, settings: Settings) -> None:
        runs.append("ran")
        await session.execute(text("SELECT pg_sleep(0.3)"))  # long enough for the other to collide

    job = ScheduledJob(PREFIX + "once", timedelta(minutes=5), work)
    first = await asyncio.gather(*(run_job(maker, job, SETTINGS) for maker in makers))
    assert sorted(first) == [False, True] and len(runs) == 1

    # Later in the same period, either process: already done.
    assert await asyncio.gather(*(run_job(maker, job, SETTINGS) for maker in makers)) == [False, False]
    assert len(runs) == 1

    # The next period (the last run moved back by one interval): exactly one of them runs it again.
    async with makers[0].begin() as session:
        await session.execute(
            update(JobRun).where(JobRun.name == job.name).values(last_run_at=JobRun.last_run_at - job.every)
        )
    second = await asyncio.gather(*(run_job(maker, job, SETTINGS) for maker in makers))
    assert sorted(second) == [False, True] and len(runs) == 2


async def test_a_failing_job_is_rolled_back_and_logged_without_its_data(
    makers: list[async_sessionmaker[AsyncSession]], caplog: pytest.LogCaptureFixture
) -> None:
    async def fails(session: AsyncSession, settings: Settings) -> None:
        session.add(JobRun(name=PREFIX + "half-made", last_run_at=func.now()))
        await session.flush()
        raise RuntimeError("survivor Jane Doe at 1 Secret Row")

    job = ScheduledJob(PREFIX + "fails", timedelta(minutes=5), fails)
    with caplog.at_level(logging.ERROR, logger="service.scheduler"):
        assert await run_job(makers[0], job, SETTINGS) is False
    async with makers[1].begin() as session:
        names = set(await session.scalars(select(JobRun.name).where(JobRun.name.startswith(PREFIX))))
    assert names == set()  # neither its write nor a job_run row: the next tick tries again
    assert any(job.name in r.getMessage() and "RuntimeError" in r.getMessage() for r in caplog.records)
    assert "Secret Row" not in caplog.text and "Jane" not in caplog.text


async def test_two_app_schedulers_run_each_job_once_per_period_and_survive_failures(
    makers: list[async_sessionmaker[AsyncSession]],
) -> None:
    loop = asyncio.get_running_loop()
    ticks: list[datetime] = []  # each run's transaction time, the clock the once-per-period rule reads
    flaky_calls: list[float] = []

    async def tick(session: AsyncSession, settings: Settings) -> None:
        now = await session.scalar(select(func.now()))
        assert now is not None
        ticks.append(now)
        await asyncio.sleep(0.1)

    async def flaky(session: AsyncSession, settings: Settings) -> None:
        flaky_calls.append(loop.time())
        if len(flaky_calls) == 1:
            raise RuntimeError("first run fails")

    every = timedelta(seconds=1)
    jobs = [ScheduledJob(PREFIX + "tick", every, tick), ScheduledJob(PREFIX + "flaky", timedelta(seconds=0.5), flaky)]
    apps = [SimpleNamespace(state=SimpleNamespace(settings=SETTINGS, session_maker=maker)) for maker in makers]
    async with scheduler_lifespan(jobs)(apps[0]), scheduler_lifespan(jobs)(apps[1]):
        await asyncio.sleep(2.5)

    # Both schedulers fired at 0, 1 and 2 s: each period ran once, whichever process won.
    assert 2 <= len(ticks) <= 3, ticks
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert all(gap >= every * PERIOD_SHARE for gap in gaps), gaps
    # The flaky job failed once, and the schedule went on: it ran again and was recorded.
    assert len(flaky_calls) >= 2
    async with makers[0].begin() as session:
        recorded = set(await session.scalars(select(JobRun.name).where(JobRun.name.startswith(PREFIX))))
    assert recorded == {PREFIX + "tick", PREFIX + "flaky"}


async def test_the_scheduler_stays_off_when_settings_say_so(
    makers: list[async_sessionmaker[AsyncSession]],
) -> None:
    calls: list[int] = []

    async def work(session: AsyncSession, settings: Settings) -> None:
        calls.append(1)

    app = SimpleNamespace(state=SimpleNamespace(settings=Settings(run_scheduler=False), session_maker=makers[0]))
    async with scheduler_lifespan([ScheduledJob(PREFIX + "off", timedelta(seconds=1), work)])(app):
        await asyncio.sleep(0.3)
    assert calls == []
