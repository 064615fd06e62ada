"""`safeaccom bench alerts`: the `vacancy.suitable` re-check, and what an availability update pays for it.

For each size (open referrals x available units; West Yorkshire 250 x 1,000 and national
10,000 x 3,000 by default) the synthetic problem of optimiser/generate.py is loaded into a real
PostgreSQL (embedded, or DATABASE_URL), then:

- `recheck_one_unit`: one unit became available; the job finds every waiting household it suits
  (`_first_run`: a process that has not read the waiting households yet).
- `recheck_one_referral`: one referral was registered or changed; every unit that suits it.
- `recheck_busy_tick`: fifty units and fifty referrals changed since the last run.
- `availability_update`: `PUT /units/{id}/availability`'s use case, committed, alternating a unit
  becoming unavailable (nothing to note) and available (noted for the re-check in the same statement;
  the difference is what alerts add).

Each re-check runs in a transaction that is rolled back, so every repeat sees the same data.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import ColumnElement, ColumnExpressionArgument, false

from service.cli_error import CliError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `safeaccom bench alerts`."""
    parser.add_argument("--sizes", default="250x1000,10000x3000", help="comma-separated RxU: open referrals x units")
    parser.add_argument("--repeats", type=int, default=7, help="re-checks timed per measure")
    parser.add_argument("--updates", type=int, default=200, help="availability updates per turn (with/without)")
    parser.add_argument("--seed", type=int, default=1)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark and print its figures."""
    try:
        sizes = [tuple(int(n) for n in size.lower().split("x")) for size in args.sizes.split(",")]
        if any(len(size) != 2 or min(size) < 1 for size in sizes):
            raise ValueError
    except ValueError:
        raise CliError(f"--sizes: {args.sizes!r} is not a list of RxU, e.g. 250x1000,10000x3000") from None
    if args.repeats < 1 or args.updates < 1:
        raise CliError("--repeats and --updates: must be at least 1")
    from service.settings import Settings

    url = Settings.from_env().database_url  # the configured database, or an embedded one of its own
    folder = None if url else Path(tempfile.mkdtemp(prefix="sab-", dir="/tmp"))
    try:
        from service.db import database

        with database(url, folder or Path("/nonexistent")) as database_url:
            figures = asyncio.run(_bench(database_url, args, sizes))  # type: ignore[arg-type]
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(figures, indent=2))
    return 0


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered) * 1000, 2), "max_ms": round(ordered[-1] * 1000, 2),
            "runs": len(ordered)}


async def _load(session: Any, problem: dict[str, Any]) -> tuple[list[int], list[int]]:
    """The generated problem as providers, schemes, available units and open referrals; their ids."""
    from sqlalchemy import insert, select

    from service.inventory.service import Provider, Scheme, SchemeType, Unit, UnitStatus
    from service.reference import service as reference
    from service.referrals.service import Referral, ReferralStatus, Risk

    await reference.load_reference_data(session)
    providers: dict[str, int] = {}
    schemes: dict[str, int] = {}
    unit_rows = []
    for u in problem["units"]:
        if u["authority"] not in providers:
            provider = Provider(name=f"bench provider {u['authority']}", authority_code=u["authority"])
            session.add(provider)
            await session.flush()
            providers[u["authority"]] = provider.id
        if u["scheme"] not in schemes:
            scheme = Scheme(
                provider_id=providers[u["authority"]], name=f"bench {u['scheme']}", type=SchemeType(u["type"]),
                authority_code=u["authority"], district=u["district"], address="bench", lat=u["lat"], lon=u["lon"],
                genders=u["genders"], accepts_children=u["accepts_children"], max_children=u["max_children"],
                max_boy_age=u["max_boy_age"], pets=u["pets"], accepts_nrpf=u["accepts_nrpf"],
                communal=u["communal"], languages=u["languages"], specialisms=u["specialisms"],
                specialist_only=u["specialist_only"],
            )
            session.add(scheme)
            await session.flush()
            schemes[u["scheme"]] = scheme.id
        unit_rows.append({
            "scheme_id": schemes[u["scheme"]], "label": u["label"], "bedspaces": u["bedspaces"],
            "wheelchair_accessible": u["wheelchair_accessible"], "step_free": u["step_free"],
            "status": UnitStatus.AVAILABLE, "available_from": date.fromisoformat(u["available_from"]), "version": 1,
        })
    await session.execute(insert(Unit), unit_rows)
    authorities = sorted(providers)
    referral_rows = [
        {
            "authority_code": authorities[i % len(authorities)], "status": ReferralStatus.OPEN,
            "risk": Risk(r["risk"]), "marac": False, "referred_on": date.fromisoformat(r["referred_on"]),
            "needed_by": date.fromisoformat(r["needed_by"]) if r["needed_by"] else None,
            "household": {"adults": r["adults"], "children": r["children"]}, "needs": r["needs"],
            "safety": {**r["safety"], "separate_from": []}, "preferences": r["preferences"], "equality": {},
            "version": 1,
        }
        for i, r in enumerate(problem["referrals"])
    ]
    await session.execute(insert(Referral), referral_rows)
    unit_ids = list(await session.scalars(select(Unit.id).order_by(Unit.id)))
    referral_ids = list(await session.scalars(select(Referral.id).order_by(Referral.id)))
    return unit_ids, referral_ids


async def _size(
    maker: Any, args: argparse.Namespace, n_referrals: int, n_units: int
) -> dict[str, Any]:
    from sqlalchemy import text

    from optimiser.generate import generate
    from service.access import service as access
    from service.alerts import service as alerts
    from service.caller import Caller, Role
    from service.changes import service as changes
    from service.inventory import service as inventory
    from service.inventory.service import AvailabilityIn

    async with maker.begin() as session:
        await session.execute(text(
            "TRUNCATE vacancy_alert, suitability_change, outbox_message, offer, placement, referral, unit, scheme, "
            "provider, audit_event, api_key RESTART IDENTITY CASCADE"
        ))
    problem = generate(n_referrals, n_units, seed=args.seed, as_of=date.today())
    started = time.perf_counter()
    async with maker.begin() as session:
        unit_ids, referral_ids = await _load(session, problem)
    load_seconds = time.perf_counter() - started
    rnd = random.Random(args.seed)
    stale_after = timedelta(hours=24)

    warm = alerts.Rechecker()  # as the scheduled job keeps it between runs

    async def timed_recheck(units: list[int], referrals: list[int], cold: bool = False) -> tuple[float, int]:
        async with maker() as session:
            transaction = await session.begin()
            await changes.note(session, unit_ids=units, referral_ids=referrals)
            began = time.perf_counter()
            report = await alerts.recheck(session, stale_after, alerts.Rechecker() if cold else warm)
            elapsed = time.perf_counter() - began
            await transaction.rollback()
        return elapsed, report.pairs_new

    figures: dict[str, Any] = {"size": f"{n_referrals}x{n_units}", "load_seconds": round(load_seconds, 1)}
    cases: dict[str, Callable[[], Awaitable[tuple[float, int]]]] = {
        "recheck_one_unit_first_run": lambda: timed_recheck([rnd.choice(unit_ids)], [], cold=True),
        "recheck_one_unit": lambda: timed_recheck([rnd.choice(unit_ids)], []),
        "recheck_one_referral": lambda: timed_recheck([], [rnd.choice(referral_ids)]),
        "recheck_busy_tick": lambda: timed_recheck(rnd.sample(unit_ids, 50), rnd.sample(referral_ids, 50)),
    }
    for name, case in cases.items():
        await case()  # warm up: caches, prepared statements
        samples, pairs = [], []
        for _ in range(args.repeats):
            elapsed, new = await case()
            samples.append(elapsed)
            pairs.append(new)
        figures[name] = {**_ms(samples), "new_pairs_median": statistics.median(pairs)}

    # Availability updates, alternating: becoming available queues the unit for the re-check (an INSERT
    # in the update's one statement); becoming unavailable does not. The difference is what alerts add.
    callers: dict[int, Caller] = {}
    async with maker.begin() as session:
        for unit_id in unit_ids[:20]:
            _, scheme = await inventory.unit_with_scheme(session, unit_id)
            key, _ = await access.create_key(session, Role.PROVIDER, "bench provider", provider_id=scheme.provider_id)
            callers[unit_id] = Caller(key_id=key.id, role=Role.PROVIDER, provider_id=scheme.provider_id)

    async def one_update(unit_id: int, status: Literal["available", "unavailable"]) -> float:
        caller = callers[unit_id]
        began = time.perf_counter()
        async with maker.begin() as session:
            await inventory.set_availability(session, caller, unit_id, AvailabilityIn(status=status), None,
                                             lived_in=_never_lived_in)
        return time.perf_counter() - began

    timings: dict[str, list[float]] = {"with_note": [], "without_note": []}
    for turn in range(args.updates):
        unit_id = unit_ids[turn % 20]
        timings["without_note"].append(await one_update(unit_id, "unavailable"))
        timings["with_note"].append(await one_update(unit_id, "available"))  # becomes available: noted
    with_note, without = _ms(timings["with_note"]), _ms(timings["without_note"])
    figures["availability_update"] = {
        "with_note": with_note, "without_note": without,
        "added_median_ms": round(with_note["median_ms"] - without["median_ms"], 2),
    }
    async with maker.begin() as session:
        await session.execute(text("DELETE FROM suitability_change"))
    return figures


def _never_lived_in(_unit_id: ColumnExpressionArgument[int]) -> ColumnElement[bool]:
    return false()


async def _bench(database_url: str, args: argparse.Namespace, sizes: list[tuple[int, int]]) -> dict[str, Any]:
    import service.models  # noqa: F401  (every table mapped)
    from service import db
    from service.migrate import migrate

    await migrate(database_url)
    engine = db.create_engine(database_url)
    maker = db.session_maker(engine)
    try:
        results = [await _size(maker, args, r, u) for r, u in sizes]
    finally:
        await engine.dispose()
    return {
        "benchmark": "alerts",
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()},
        "date": date.today().isoformat(),
        "sizes": results,
    }
