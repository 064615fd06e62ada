"""`safeaccom bench api`: request latency of the served API, alone and while a large match is solved.

The solver is CPU work run in a worker thread; this measures that requests still answer while it
runs. Everything is local: an embedded PostgreSQL (or DATABASE_URL), the demo data, uvicorn on
127.0.0.1, and httpx as the client. JSON figures on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from service.cli_error import CliError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `safeaccom bench api`."""
    parser.add_argument("--requests", type=int, default=400, help="GET /vacancies requests per phase")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--match-size", default="2000x10000", help="referrals x units of the background solve")
    parser.add_argument("--seed", type=int, default=1)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark and print its figures."""
    try:
        referrals, units = (int(n) for n in args.match_size.lower().split("x"))
    except ValueError:
        raise CliError(f"--match-size: {args.match_size!r} is not RxU, e.g. 2000x10000") from None
    if args.requests < 1 or args.concurrency < 1:
        raise CliError("--requests and --concurrency: must be at least 1")
    from service.settings import Settings

    url = Settings.from_env().database_url  # the configured database, or an embedded one of its own
    folder = None if url else Path(tempfile.mkdtemp(prefix="sab-", dir="/tmp"))
    try:
        from service.db import database

        with database(url, folder or Path("/nonexistent")) as database_url:
            figures = asyncio.run(_bench(database_url, args, referrals, units))
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(figures, indent=2))
    return 0


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def rank(p: float) -> float:
        return round(ordered[max(0, min(len(ordered) - 1, int(p * len(ordered) + 0.5) - 1))] * 1000, 2)

    return {"p50_ms": rank(0.5), "p95_ms": rank(0.95), "p99_ms": rank(0.99),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2)}


async def _load(client: Any, headers: dict[str, str], total: int, concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)

    async def worker() -> None:
        nonlocal errors
        while not queue.empty():
            i = queue.get_nowait()
            started = time.perf_counter()
            response = await client.get("/api/v1/vacancies", params={"limit": 50, "offset": (i * 7) % 60},
                                        headers=headers)
            latencies.append(time.perf_counter() - started)
            errors += response.status_code != 200

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - began
    return {"requests": total, "errors": errors, "requests_per_second": round(total / wall, 1),
            **_percentiles(latencies)}


async def _bench(database_url: str, args: argparse.Namespace, n_referrals: int, n_units: int) -> dict[str, Any]:
    import httpx
    import uvicorn

    import service.models  # noqa: F401  (every table mapped)
    from optimiser.generate import generate
    from service import db
    from service.access import service as access
    from service.app import create_app
    from service.caller import Role
    from service.demo import KIRKLEES, load_demo
    from service.migrate import migrate
    from service.settings import Settings

    await migrate(database_url)
    engine = db.create_engine(database_url)
    async with db.session_maker(engine).begin() as session:
        await load_demo(session)
        _, key = await access.create_key(session, Role.OFFICER, "bench officer", authority=KIRKLEES)
    await engine.dispose()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(Settings(database_url=database_url, run_scheduler=False))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  (uvicorn exposes a flag, not an event)
        await asyncio.sleep(0.05)
    headers = {"Authorization": f"Bearer {key}"}
    problem = generate(n_referrals, n_units, seed=args.seed)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
            await _load(client, headers, 50, args.concurrency)  # warm up the pool and the caches
            alone = await _load(client, headers, args.requests, args.concurrency)
            started = time.perf_counter()
            solving = asyncio.create_task(client.post("/api/v1/optimiser/solve", json=problem, headers=headers))
            await asyncio.sleep(0.5)  # let the request be parsed and the solver start
            during = await _load(client, headers, args.requests, args.concurrency)
            during["solve_still_running_at_end"] = not solving.done()
            solved = await solving
            solve_seconds = time.perf_counter() - started
    finally:
        server.should_exit = True
        await serving
    return {
        "benchmark": "api",
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()},
        "vacancies_alone": alone,
        "vacancies_during_match": during,
        "match": {"size": f"{n_referrals}x{n_units}", "status_code": solved.status_code,
                  "seconds_end_to_end": round(solve_seconds, 2),
                  "placed": len(solved.json().get("assignments", [])) if solved.status_code == 200 else None},
    }
