"""`safeaccom bench api`: throughput and latency of the served API, and latency while a large match is solved.

Everything is local: an embedded PostgreSQL in a temporary folder (or DATABASE_URL), the demo data
set, `safeaccom serve --workers N` in its own processes on 127.0.0.1, and a small keep-alive HTTP/1.1
client in this process (plain asyncio streams: a heavy client would take the CPU the server needs).
Each phase runs `--connections` connections for `--duration` seconds after a warm-up:

- `ready`: GET /ready (one database round trip, no key): the yardstick;
- `vacancies`: GET /api/v1/vacancies?limit=50&offset=... with an officer's key;
- `availability`: PUT /api/v1/units/{id}/availability with If-Match, each connection on a unit of
  its own (so writers do not queue on one row lock), alternating available and unavailable;
- `authorities`: GET /api/v1/authorities?limit=1 (one page of the councils, one query);
- `at_rate`: the phases of `--rates` again at a fixed rate (the targets' 1,000 searches and 500
  updates a second), latency counted from when each request was due;
- `vacancies_during_match`: the vacancy search again while a `--match-size` problem is solved by
  POST /api/v1/optimiser/solve (skipped with --match-size 0).

Before each phase the database is vacuumed, as pgbench does before its runs: the `availability`
phase rewrites its fifty units about two thousand times a second (a real provider confirms a unit
a few times a day), and the dead row versions it leaves would slow the next phase's searches several
fold until autovacuum, which looks at most once a minute, came round.

JSON figures on stdout, with the ratios and targets of issue 14.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service.cli_error import CliError

# Issue 14's targets, measured on the same server in the same run.
TARGETS = {"vacancies_vs_ready": 0.6, "availability_vs_ready": 0.5, "p99_ms": 50.0,
           "vacancies_per_second": 1000.0, "availability_per_second": 500.0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `safeaccom bench api`."""
    parser.add_argument("--connections", type=int, default=50, help="concurrent keep-alive connections")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds each phase is measured")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before each measurement")
    parser.add_argument("--rates", default="vacancies=1000,availability=500",
                        help="phases also run at a fixed rate (requests per second), latency counted from when each "
                             "request was due: the targets' rates ('' for none)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="times the phases run in turn; figures are the medians (a shared machine drifts)")
    parser.add_argument("--workers", type=int, default=None, help="server processes (default: the CPUs available)")
    parser.add_argument("--phases", default="ready,vacancies,availability,authorities",
                        help="comma-separated: ready, vacancies, availability, authorities")
    parser.add_argument("--match-size", default="2000x10000",
                        help="referrals x units of the background solve (0: no match phase)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--server-pythonpath", default=None,
                        help="serve another checkout's code (its PYTHONPATH) with the same client and data, "
                             "to compare before and after a change")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark and print its figures."""
    from service.settings import Settings, available_cpus

    match: tuple[int, int] | None = None
    if args.match_size != "0":
        try:
            referrals, units = (int(n) for n in args.match_size.lower().split("x"))
        except ValueError:
            raise CliError(f"--match-size: {args.match_size!r} is not RxU, e.g. 2000x10000, or 0") from None
        match = (referrals, units)
    if args.connections < 1 or args.duration <= 0 or args.warmup < 0 or args.rounds < 1:
        raise CliError("--connections, --duration, --rounds: must be positive")
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(phases) - {"ready", "vacancies", "availability", "authorities"}
    if unknown:
        raise CliError(f"--phases: unknown {', '.join(sorted(unknown))}")
    try:
        rates = {name.strip(): float(value) for name, value in
                 (item.split("=") for item in args.rates.split(",") if item.strip())}
    except ValueError:
        raise CliError(f"--rates: {args.rates!r} is not phase=rate,... e.g. vacancies=1000") from None
    if set(rates) - {"ready", "vacancies", "availability", "authorities"} or any(r <= 0 for r in rates.values()):
        raise CliError("--rates: phases are ready, vacancies, availability, authorities; rates are positive")
    workers = args.workers or available_cpus()
    url = Settings.from_env().database_url  # the configured database, or an embedded one of its own
    folder = Path(tempfile.mkdtemp(prefix="sab-", dir="/tmp"))
    try:
        from service.db import database

        with database(url, folder) as database_url:
            # uvloop: the client takes as little of the CPU the server needs as it can
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                figures = runner.run(_bench(database_url, args, phases, rates, workers, match, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(figures, indent=2))
    return 0


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # (Windows)
        return None
    return uvloop.new_event_loop


def _percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {}
    ordered = sorted(samples)

    def rank(p: float) -> float:
        return round(ordered[max(0, min(len(ordered) - 1, int(p * len(ordered) + 0.5) - 1))] * 1000, 2)

    return {"p50_ms": rank(0.5), "p95_ms": rank(0.95), "p99_ms": rank(0.99),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2)}


Request = Callable[[int, int], bytes]  # (connection number, request number) -> the request's bytes


class _Connection:
    """One keep-alive HTTP/1.1 connection: send a request, read the status and the Content-Length body."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def call(self, request: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name:
                headers[name.strip().lower()] = value.strip()
        body = await self.reader.readexactly(int(headers.get(b"content-length", b"0")))
        return status, headers, body


def _request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    if body or method in {"PUT", "POST"}:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _load(port: int, connections: int, warmup: float, duration: float,
                make: Callable[[int, int, Any], bytes], on_answer: Callable[[int, int, bytes], Any] | None = None,
                until: asyncio.Future[Any] | None = None, rate: float | None = None) -> dict[str, Any]:
    """`connections` connections send requests; figures over `duration` after `warmup`.

    Without `rate`, each connection sends its next request as soon as the last is answered: the
    most the server can do (and latencies that are mostly queueing). With `rate` (requests per
    second over all connections) each connection sends on a fixed schedule, and a request's latency
    is counted from when it was due, not when it was sent: a server that falls behind is charged the
    wait (no coordinated omission, as wrk2 measures).
    """
    latencies: list[float] = []
    counts = {"ok": 0, "errors": 0}
    started = time.perf_counter()
    measure_from, measure_to = started + warmup, started + warmup + duration
    statuses: dict[int, int] = {}
    interval = connections / rate if rate else 0.0

    async def connection(number: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        conn = _Connection(reader, writer)
        state: Any = None
        i = 0
        try:
            while True:
                now = time.perf_counter()
                if now >= measure_to or (until is not None and until.done()):
                    return
                began = now
                if rate:  # due at a fixed pace, connections staggered over one interval
                    began = started + interval * (i + number / connections)
                    if began >= measure_to:
                        return
                    if began > now:
                        await asyncio.sleep(began - now)
                status, _, body = await conn.call(make(number, i, state))
                ended = time.perf_counter()
                if on_answer is not None:
                    state = on_answer(number, status, body)
                if measure_from <= began and ended <= measure_to:
                    latencies.append(ended - began)
                    statuses[status] = statuses.get(status, 0) + 1
                    counts["ok" if 200 <= status < 300 else "errors"] += 1
                i += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection(n) for n in range(connections)))
    wall = min(time.perf_counter(), measure_to) - measure_from
    return {"connections": connections, "seconds": round(wall, 2), "requests": len(latencies),
            "errors": counts["errors"], "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "requests_per_second": round(len(latencies) / wall, 1) if wall > 0 else 0.0,
            **_percentiles(latencies)}


async def _seed(database_url: str, connections: int) -> dict[str, Any]:
    """Migrate, load the demo data, and make the keys and the writers' units."""
    import service.models  # noqa: F401  (every table mapped)
    from service import db
    from service.access import service as access
    from service.caller import Role
    from service.demo import KIRKLEES, load_demo
    from service.inventory.models import Provider, Scheme, Unit, UnitStatus
    from service.migrate import migrate

    await migrate(database_url)
    engine = db.create_engine(database_url)
    try:
        async with db.session_maker(engine).begin() as session:
            await load_demo(session)
            _, officer = await access.create_key(session, Role.OFFICER, "bench officer", authority=KIRKLEES)
            provider = Provider(name="Bench provider", authority_code=KIRKLEES)
            session.add(provider)
            await session.flush()
            scheme = Scheme(provider_id=provider.id, name="Bench refuge", type="dispersed", authority_code=KIRKLEES,
                            district="HD1", address="confidential", lat=53.64, lon=-1.79, genders=["female"],
                            accepts_children=True, pets=False, accepts_nrpf=False, communal=False,
                            languages=["en"], specialisms=[], specialist_only=False)
            session.add(scheme)
            await session.flush()
            units = [Unit(scheme_id=scheme.id, label=f"Bench {n}", bedspaces=2, wheelchair_accessible=False,
                          step_free=False, status=UnitStatus.UNAVAILABLE, version=1) for n in range(connections)]
            session.add_all(units)
            await session.flush()
            _, provider_key = await access.create_key(session, Role.PROVIDER, "bench provider",
                                                      provider_id=provider.id)
            return {"officer": officer, "provider": provider_key, "units": [u.id for u in units]}
    finally:
        await engine.dispose()


async def _vacuum(database_url: str) -> None:
    """VACUUM ANALYZE the database: each phase starts without the dead rows of the one before."""
    import asyncpg

    from service.db import libpq_url

    connection = await asyncpg.connect(libpq_url(database_url))
    try:
        await connection.execute("VACUUM (ANALYZE)")
    finally:
        await connection.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(database_url: str, workers: int, log: Path,
                  pythonpath: str | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """`safeaccom serve --workers N` in its own process group."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SAFEACCOM_SCHEDULER": "0", "SAFEACCOM_LOG_LEVEL": "INFO"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    command = [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers != 1 or pythonpath is None:  # (a checkout from before --workers serves one process)
        command += ["--workers", str(workers)]
    with open(log, "wb") as out:
        # In the log's folder, not here: `python -m` puts its working directory first on the path, which
        # would serve this checkout's code whatever --server-pythonpath says.
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                  cwd=log.parent)
    return server, port


def _server_exited(server: subprocess.Popen[bytes], log: Path) -> RuntimeError:
    return RuntimeError(f"the server exited ({server.returncode}): {log.read_text()[-2000:]}")


async def _wait_ready(server: subprocess.Popen[bytes], port: int, log: Path, workers: int) -> None:
    """Until /ready answers 200 and every worker has started: connections opened while only the first
    worker is up would all stay with it (keep-alive), and the run would measure one process."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise _server_exited(server, log)
        with contextlib.suppress(OSError, ValueError, asyncio.IncompleteReadError):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            status, _, _ = await _Connection(reader, writer).call(_request("GET", "/ready", {}))
            writer.close()
            started = (await asyncio.to_thread(log.read_text, errors="replace")).count("Application startup complete")
            if status == 200 and started >= workers:
                return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the server's {workers} workers did not all answer within 60 s")


async def _bench(database_url: str, args: argparse.Namespace, phases: list[str], rates: dict[str, float], workers: int,
                 match: tuple[int, int] | None, folder: Path) -> dict[str, Any]:
    seeded = await _seed(database_url, args.connections)
    officer = {"Authorization": f"Bearer {seeded['officer']}"}
    provider = {"Authorization": f"Bearer {seeded['provider']}"}
    units: list[int] = seeded["units"]
    server, port = _start_server(database_url, workers, folder / "server.log", args.server_pythonpath)
    await _wait_ready(server, port, folder / "server.log", workers)
    figures: dict[str, Any] = {}
    ready_request = _request("GET", "/ready", {})
    authorities_request = _request("GET", "/api/v1/authorities?limit=1", officer)
    # Pages that exist (a page past the end costs a second query, for its total).
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    _, _, first = await _Connection(reader, writer).call(_request("GET", "/api/v1/vacancies?limit=1", officer))
    writer.close()
    last_offset = max(0, int(json.loads(first)["total"]) - 50)
    vacancy_requests = [_request("GET", f"/api/v1/vacancies?limit=50&offset={(i * 7) % (last_offset + 1)}", officer)
                        for i in range(10)]

    def vacancies(_n: int, i: int, _state: Any) -> bytes:
        return vacancy_requests[i % len(vacancy_requests)]

    def availability(n: int, i: int, version: Any) -> bytes:
        body = json.dumps({"status": "available" if i % 2 == 0 else "unavailable"}).encode()
        headers = {**provider, **({"If-Match": str(version)} if version else {})}
        return _request("PUT", f"/api/v1/units/{units[n % len(units)]}/availability", headers, body)

    def version_of(_n: int, status: int, body: bytes) -> Any:
        return json.loads(body)["version"] if status == 200 else None

    loads: dict[str, tuple[Callable[[int, int, Any], bytes], Callable[[int, int, bytes], Any] | None]] = {
        "ready": (lambda _n, _i, _s: ready_request, None),
        "vacancies": (vacancies, None),
        "availability": (availability, version_of),
        "authorities": (lambda _n, _i, _s: authorities_request, None),
    }
    rounds: dict[str, list[dict[str, Any]]] = {phase: [] for phase in phases}
    rated: dict[str, list[dict[str, Any]]] = {phase: [] for phase in rates}
    try:
        for _ in range(args.rounds):  # in turn, so that drift in the machine's speed touches every phase alike
            for phase in phases:
                make, on_answer = loads[phase]
                await _vacuum(database_url)
                cpu = asyncio.ensure_future(_cpu_use(server.pid, args.warmup, args.duration))
                measured = await _load(port, args.connections, args.warmup, args.duration, make, on_answer)
                rounds[phase].append({**measured, "cpu": await cpu})
            for phase, rate in rates.items():
                make, on_answer = loads[phase]
                await _vacuum(database_url)
                measured = await _load(port, args.connections, args.warmup, args.duration, make, on_answer,
                                       rate=rate)
                rated[phase].append({**measured, "rate": rate})
        figures.update({phase: _median_round(runs) for phase, runs in rounds.items()})
        if rated:
            figures["at_rate"] = {phase: {"rate": rates[phase], **_median_round(runs)}
                                  for phase, runs in rated.items()}
        if match is not None:
            await _vacuum(database_url)
            figures["vacancies_during_match"] = await _during_match(port, args, officer, vacancies, match)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    return {
        "benchmark": "api",
        "rounds": args.rounds,
        "vacuumed_before_each_phase": True,
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
                    "cpus_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None},
        "server": {"workers": workers, "command": f"safeaccom serve --workers {workers}",
                   "pythonpath": args.server_pythonpath},
        **figures,
        **_against_targets(figures, rounds),
    }


async def _during_match(port: int, args: argparse.Namespace, officer: dict[str, str],
                        vacancies: Callable[[int, int, Any], bytes], match: tuple[int, int]) -> dict[str, Any]:
    from optimiser.generate import generate

    problem = json.dumps(generate(match[0], match[1], seed=args.seed)).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.perf_counter()
    solving = asyncio.ensure_future(
        _Connection(reader, writer).call(_request("POST", "/api/v1/optimiser/solve", officer, problem))
    )
    await asyncio.sleep(0.5)  # let the request be read and the solver start
    during = await _load(port, args.connections, 0.0, 600.0, vacancies, until=solving)
    status, _, body = await solving
    writer.close()
    during["match"] = {"size": f"{match[0]}x{match[1]}", "status_code": status,
                       "seconds_end_to_end": round(time.perf_counter() - started, 2),
                       "placed": len(json.loads(body).get("assignments", [])) if status == 200 else None}
    return during


def _median_round(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A phase's figures over its rounds: the medians of rate and latencies, and every round's own."""
    figures: dict[str, Any] = {"rounds": runs}
    for name in ("requests_per_second", "p50_ms", "p95_ms", "p99_ms", "mean_ms"):
        figures[name] = round(statistics.median(run.get(name, 0.0) for run in runs), 2)
    figures["requests"] = sum(run["requests"] for run in runs)
    figures["errors"] = sum(run["errors"] for run in runs)
    return figures


async def _cpu_use(server_pid: int, warmup: float, duration: float) -> dict[str, float]:
    """CPU used while a phase is measured, in cores: the server's processes, PostgreSQL's, this client's,
    and the share of the machine's time the hypervisor took (steal)."""
    import psutil

    def sample() -> tuple[float, dict[str, float], list[int]]:
        groups = {"server": 0.0, "postgres": 0.0, "client": 0.0}
        try:
            server = [psutil.Process(server_pid), *psutil.Process(server_pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            server = []
        server_pids = {p.pid for p in server}
        for process in psutil.process_iter(["name"]):
            group = ("server" if process.pid in server_pids else "client" if process.pid == os.getpid()
                     else "postgres" if process.info["name"] == "postgres" else None)
            if group is None:
                continue
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                groups[group] += times.user + times.system
        with open("/proc/stat") as stat:
            machine = [int(n) for n in stat.readline().split()[1:]]
        return time.perf_counter(), groups, machine

    await asyncio.sleep(warmup)
    began, before, machine_before = await asyncio.to_thread(sample)
    await asyncio.sleep(duration)
    ended, after, machine_after = await asyncio.to_thread(sample)
    seconds = ended - began
    ticks = [b - a for a, b in zip(machine_before, machine_after, strict=False)]
    steal = ticks[7] if len(ticks) > 7 else 0
    return {**{group: round((after[group] - before[group]) / seconds, 2) for group in before},
            "steal_percent": round(100 * steal / max(1, sum(ticks)), 1)}


def _against_targets(figures: dict[str, Any], rounds: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    ready, search, update = figures.get("ready"), figures.get("vacancies"), figures.get("availability")
    if not (ready and search and update and ready["requests_per_second"]):
        return {}

    def ratio(phase: str) -> float:  # the median of each round's ratio to the same round's /ready
        return round(statistics.median(run["requests_per_second"] / max(base["requests_per_second"], 1e-9)
                                       for run, base in zip(rounds[phase], rounds["ready"], strict=True)), 3)

    ratios = {"vacancies_vs_ready": ratio("vacancies"), "availability_vs_ready": ratio("availability")}
    at_rate = figures.get("at_rate", {})
    met_at_rate = {f"{phase}_p99_at_{int(found['rate'])}_per_second": found.get("p99_ms", 1e9) <= TARGETS["p99_ms"]
                   for phase, found in at_rate.items()}
    met = {
        "vacancies_vs_ready": ratios["vacancies_vs_ready"] >= TARGETS["vacancies_vs_ready"],
        "availability_vs_ready": ratios["availability_vs_ready"] >= TARGETS["availability_vs_ready"],
        "vacancies_p99": search.get("p99_ms", 1e9) <= TARGETS["p99_ms"],
        "availability_p99": update.get("p99_ms", 1e9) <= TARGETS["p99_ms"],
        "vacancies_per_second": search["requests_per_second"] >= TARGETS["vacancies_per_second"],
        "availability_per_second": update["requests_per_second"] >= TARGETS["availability_per_second"],
        "no_errors": not (search["errors"] or update["errors"] or ready["errors"]),
        **met_at_rate,
    }
    return {"ratios": ratios, "targets": TARGETS, "met": met}
