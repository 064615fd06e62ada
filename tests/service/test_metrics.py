"""Prometheus at /metrics, behind SAFEACCOM_METRICS: requests by route, jobs, webhooks, stale vacancies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from httpx import ASGITransport, AsyncClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.app import create_app
from service.inventory.models import Unit
from service.scheduler import ScheduledJob, run_job
from service.settings import Settings
from tests.service.conftest import World, make_unit


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text) for sample in family.samples
    }


@pytest.fixture
async def metered(settings: Settings, session_maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncClient]:
    app = create_app(Settings(run_scheduler=False, metrics=True, stale_after=timedelta(hours=1)),
                     session_maker=session_maker)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


async def test_metrics_are_off_unless_the_setting_turns_them_on(client: AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 404


async def test_requests_by_route_template_jobs_and_stale_vacancies(
    metered: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession],
) -> None:
    unit = await make_unit(metered, world)
    for _ in range(3):
        assert (await metered.get(f"/api/v1/units/{unit['id']}", headers=world.auth("provider"))).status_code == 200
    async with session_maker() as session, session.begin():  # not confirmed for two hours: stale
        await session.execute(update(Unit).where(Unit.id == unit["id"])
                              .values(confirmed_at=Unit.confirmed_at - timedelta(hours=2)))

    async def fails(session: AsyncSession, settings: Settings) -> None:
        raise RuntimeError("boom")

    job = ScheduledJob("metrics.test_failing", timedelta(minutes=5), fails)
    assert await run_job(session_maker, job, Settings()) is False

    response = await metered.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    by_route = {labels: value for (name, labels), value in found.items() if name == "safeaccom_requests_total"}
    route = dict(next(labels for labels in by_route if ("path", "/api/v1/units/{unit_id}") in labels))
    assert route["method"] == "GET" and route["status_code"] == "200"
    assert by_route[frozenset(route.items())] >= 3
    assert any(name == "safeaccom_request_duration_seconds_bucket" for name, _ in found)
    assert found[("safeaccom_job_runs_total", frozenset({("job", "metrics.test_failing"), ("outcome", "failed")}))] >= 1
    assert found[("safeaccom_stale_vacancies", frozenset({("provider_id", str(world.provider_id))}))] == 1
    assert ("safeaccom_webhook_backlog", frozenset({("state", "pending")})) in found
