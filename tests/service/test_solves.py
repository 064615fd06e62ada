"""Issue 13, faults 3 and 4: every solve has a limit, a flood from one key is refused, not queued.

The flood runs over real HTTP (uvicorn) against committed rows, as the offer race does: concurrent
requests need connections of their own.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service import db
from service.access import service as access
from service.access.models import ApiKey, Role
from service.app import create_app
from service.audit.models import AuditEvent
from service.errors import Busy
from service.inventory.models import Provider, Scheme, Unit
from service.matching import worker
from service.matching.controller import _while_connected
from service.matching.models import MatchRun
from service.referrals.models import Referral, ReferralStatus, Risk
from service.settings import Settings
from tests.optimiser.helpers import problem, referral, unit
from tests.service.conftest import KIRKLEES, World
from tests.support import add_refuge_unit, free_port


def all_kept_apart(n: int) -> dict[str, Any]:
    """n households that must all be kept apart, over three schemes of three rooms (issue 13's case)."""
    units = [unit(f"s{s}u{k}", scheme=f"s{s}") for s in range(3) for k in range(3)]
    risks = ["standard", "medium", "high"]
    refs = [referral(f"r{i}", risk=risks[i % 3], safety={"separate_from": [f"r{k}" for k in range(n) if k != i]})
            for i in range(n)]
    return problem(units, refs)


async def test_eight_households_kept_apart_are_answered_within_the_default_limit(
    client: AsyncClient, world: World
) -> None:
    # before: the branch and bound searched for about 62 s of CPU, with no limit at all by default
    response = await client.post("/api/v1/optimiser/solve", json=all_kept_apart(8), headers=world.auth("officer"))
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == "optimal"
    assert len(result["assignments"]) == 3  # one per scheme
    assert result["stats"]["time_limit_seconds"] == 30.0  # the default, though the caller named none


async def test_time_limit_may_lower_the_limit_never_raise_it(client: AsyncClient, world: World) -> None:
    url = "/api/v1/optimiser/solve"
    higher = await client.post(url, params={"time_limit": 600}, json=all_kept_apart(4), headers=world.auth("officer"))
    assert higher.status_code == 200, higher.text
    assert higher.json()["stats"]["time_limit_seconds"] == 30.0
    lower = await client.post(url, params={"time_limit": 2.5}, json=all_kept_apart(4), headers=world.auth("officer"))
    assert lower.json()["stats"]["time_limit_seconds"] == 2.5
    assert (await client.post(url, params={"time_limit": 0}, json=all_kept_apart(4),
                              headers=world.auth("officer"))).status_code == 400


LIMITED = Settings(database_url=None, run_scheduler=False, solve_time_limit=4.0, solve_time_limit_max=8.0,
                   solve_max_cells=40, solve_max_pairs=30)


def client_with(settings: Settings, session_maker: async_sessionmaker[AsyncSession]) -> AsyncClient:
    app = create_app(settings, session_maker=session_maker)
    return AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver")


async def test_the_deployment_sets_the_default_and_the_maximum(
    session_maker: async_sessionmaker[AsyncSession], world: World
) -> None:
    url = "/api/v1/optimiser/solve"
    async with client_with(LIMITED, session_maker) as client:
        default = await client.post(url, json=all_kept_apart(3), headers=world.auth("officer"))
        capped = await client.post(url, params={"time_limit": 20}, json=all_kept_apart(3),
                                   headers=world.auth("officer"))
    assert default.json()["stats"]["time_limit_seconds"] == 4.0
    assert capped.json()["stats"]["time_limit_seconds"] == 8.0


async def test_a_problem_past_the_size_limits_is_refused_naming_the_limit(
    session_maker: async_sessionmaker[AsyncSession], world: World
) -> None:
    url = "/api/v1/optimiser/solve"
    async with client_with(LIMITED, session_maker) as client:
        # 9 units x 5 referrals = 45 cells > 40: refused before any pair is built
        cells = await client.post(url, json=all_kept_apart(5), headers=world.auth("officer"))
        # 9 units x 4 referrals = 36 cells, but 36 feasible pairs > 30
        pairs = await client.post(url, json=all_kept_apart(4), headers=world.auth("officer"))
    assert cells.status_code == 422, cells.text
    assert cells.json()["errors"][0]["field"] == "referrals x units"
    assert "40" in cells.json()["detail"]
    assert pairs.status_code == 422, pairs.text
    assert pairs.json()["errors"][0]["field"] == "feasible_pairs"
    assert "36" in pairs.json()["detail"]


async def test_a_body_nested_thousands_deep_is_a_400_not_a_500(client: AsyncClient, world: World) -> None:
    body = b'{"units": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    response = await client.post("/api/v1/optimiser/solve", content=body, headers={
        **world.auth("officer"), "content-type": "application/json"})
    assert response.status_code in (400, 422), response.text


def _record_pid_and_wait(path: str) -> None:
    Path(path).write_text(str(os.getpid()))
    time.sleep(600)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def _pid_from(path: Path) -> int:
    for _ in range(600):
        text = await anyio.Path(path).read_text() if await anyio.Path(path).exists() else ""
        if text:
            return int(text)
        await anyio.sleep(0.05)
    raise AssertionError("the worker never started")


async def _gone(pid: int) -> bool:
    for _ in range(200):  # generous: the kill is immediate, reaping may lag on a busy machine
        if not _alive(pid):
            return True
        await anyio.sleep(0.05)
    return False


async def test_a_solve_past_its_limit_stops_its_worker_process(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    with anyio.move_on_after(60):
        async with anyio.create_task_group() as group:
            group.start_soon(worker.in_worker, _record_pid_and_wait, str(marker))
            pid = await _pid_from(marker)
            group.cancel_scope.cancel()  # what the limit's backstop does
    assert await _gone(pid)


class _LeavingClient:
    """A request whose client hangs up once `leave` is set."""

    def __init__(self) -> None:
        self.leave = anyio.Event()

    async def receive(self) -> dict[str, Any]:
        await self.leave.wait()
        return {"type": "http.disconnect"}


async def test_a_solve_whose_client_went_away_stops_its_worker_process(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    request = _LeavingClient()
    outcome: list[BaseException] = []

    async def solve() -> None:
        try:
            await _while_connected(request, lambda: worker.in_worker(_record_pid_and_wait, str(marker)))  # type: ignore[arg-type]
        except Busy as error:
            outcome.append(error)

    with anyio.move_on_after(60):
        async with anyio.create_task_group() as group:
            group.start_soon(solve)
            pid = await _pid_from(marker)
            request.leave.set()
    assert outcome and "went away" in str(outcome[0])
    assert await _gone(pid)


# --- one key's flood, over real HTTP ------------------------------------------------------------


@pytest.fixture
async def flooded_service(engine: AsyncEngine) -> AsyncIterator[tuple[str, str, str]]:
    """A served app on committed rows: an officer key with open referrals, a commissioner key, a unit."""
    maker = db.session_maker(engine)
    async with maker.begin() as session:
        provider_id, unit_id = await add_refuge_unit(session, KIRKLEES, "Flooded refuge", bedspaces=3)
        officer_row, officer = await access.create_key(session, Role.OFFICER, "flooding officer", authority=KIRKLEES)
        other_row, other = await access.create_key(session, Role.COMMISSIONER, "patient commissioner",
                                                   authority=KIRKLEES)
        referrals = [
            Referral(authority_code=KIRKLEES, status=ReferralStatus.OPEN, risk=Risk.HIGH, marac=False,
                     referred_on=date(2026, 11, 1), household={"adults": [{"gender": "female", "age": 30}],
                                                                "children": []},
                     needs={}, safety={}, preferences={}, equality={})
            for _ in range(3)
        ]
        session.add_all(referrals)
        await session.flush()
        ids = [r.id for r in referrals]
    port = free_port()
    settings = replace(Settings(run_scheduler=False), solves_per_key=1, solves_at_once=2)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, session_maker=maker),
                                           host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  (uvicorn exposes a flag, not an event)
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", officer, other
    finally:
        server.should_exit = True
        await task
        async with maker.begin() as session:
            await session.execute(delete(MatchRun).where(MatchRun.created_by_key_id == officer_row.id))
            await session.execute(delete(AuditEvent).where(AuditEvent.api_key_id.in_([officer_row.id, other_row.id])))
            await session.execute(delete(Referral).where(Referral.id.in_(ids)))
            await session.execute(delete(ApiKey).where(ApiKey.id.in_([officer_row.id, other_row.id])))
            # the unit would otherwise be available to every later test's match runs
            await session.execute(delete(Unit).where(Unit.id == unit_id))
            await session.execute(delete(Scheme).where(Scheme.provider_id == provider_id))
            await session.execute(delete(Provider).where(Provider.id == provider_id))


async def test_one_keys_flood_is_refused_while_another_key_reads_vacancies(
    flooded_service: tuple[str, str, str],
) -> None:
    # before: 2 what-if solves and 22 match runs from one key held 24 connections waiting for a
    # worker; an unrelated GET /vacancies got 500 after 30 s
    url, officer, other = flooded_service
    flood_auth = {"Authorization": f"Bearer {officer}"}
    calm_auth = {"Authorization": f"Bearer {other}"}
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def flood_run() -> httpx.Response:
            return await client.post("/api/v1/match-runs", headers=flood_auth)

        async def flood_solve() -> httpx.Response:
            return await client.post("/api/v1/optimiser/solve", json=all_kept_apart(8), headers=flood_auth)

        async def calm() -> list[int]:
            statuses = []
            for _ in range(5):
                statuses.append((await client.get("/api/v1/vacancies", headers=calm_auth)).status_code)
            return statuses

        flood = [asyncio.create_task(flood_run()) for _ in range(22)]
        flood += [asyncio.create_task(flood_solve()) for _ in range(2)]
        calm_statuses = await calm()
        answers = await asyncio.gather(*flood)
    assert calm_statuses == [200] * 5
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {200, 201, 429, 503}, [a.text for a in answers if a.status_code >= 500]
    assert 429 in statuses  # the key's own limit
    assert any(s in (200, 201) for s in statuses)  # and the first got its answer
    for refused in (a for a in answers if a.status_code in (429, 503)):
        assert int(refused.headers["retry-after"]) > 0
        assert refused.headers["content-type"].startswith("application/problem+json")


async def test_past_the_service_limit_solves_get_503_with_retry_after(
    session_maker: async_sessionmaker[AsyncSession], world: World
) -> None:
    app = create_app(Settings(database_url=None, run_scheduler=False, solves_per_key=5, solves_at_once=1),
                     session_maker=session_maker)
    gate = app.state.solve_gate
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client:
        with gate.admit("another key's solve"):  # the one place is taken
            busy = await client.post("/api/v1/optimiser/solve", json=all_kept_apart(2), headers=world.auth("admin"))
        assert busy.status_code == 503, busy.text
        assert int(busy.headers["retry-after"]) > 0
        free = await client.post("/api/v1/optimiser/solve", json=all_kept_apart(2), headers=world.auth("admin"))
        assert free.status_code == 200, free.text
