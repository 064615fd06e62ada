"""Proposals for one referral and optimal match runs, computed by optimiser/ off the event loop."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import optimiser
from service import metrics
from service.audit import service as audit
from service.caller import Caller, Role
from service.db import utcnow
from service.errors import Busy, Conflict, Forbidden, Invalid, NotFound, TooManyRequests
from service.inventory import service as inventory
from service.inventory.service import Scheme, Unit
from service.matching import worker
from service.matching.models import MatchRun
from service.offers import service as offers
from service.referrals import service as referrals
from service.referrals.service import Referral
from service.settings import Settings


@dataclass(frozen=True)
class SolveLimits:
    """The limits of one solve (CONTRACT section 7), from the deployment's Settings."""

    time_limit: float = 30.0  # seconds, when the caller names none
    time_limit_max: float = 30.0  # the most a caller may ask for
    max_cells: int | None = 10_000_000  # referrals x units, checked before any pair is built
    max_pairs: int | None = 2_000_000  # feasible pairs (unit level)

    @classmethod
    def from_settings(cls, settings: Settings) -> SolveLimits:
        """The deployment's limits."""
        return cls(settings.solve_time_limit, settings.solve_time_limit_max, settings.solve_max_cells,
                   settings.solve_max_pairs)

    def seconds(self, asked: float | None = None) -> float:
        """A solve's limit: the caller's when it is lower than the maximum, else the default or the maximum."""
        return min(self.time_limit if asked is None else asked, self.time_limit_max)

    def backstop(self, seconds: float) -> float:
        """When the worker process is stopped whatever it is doing: the optimiser stops its search at
        `seconds`, but parsing, the flow and the explanations are not interruptible."""
        return seconds * 1.5 + 5.0


RETRY_AFTER_BUSY = 5  # seconds a caller refused for load should wait
RETRY_AFTER_KEY = 10  # seconds a key at its limit should wait (its own solve is running)


class SolveGate:
    """Admission of solves in this process: at most `per_key` running for one API key (else 429) and at
    most `at_once` in all (else 503), so that a flood is refused at once instead of queueing for a
    worker process while holding connections and memory."""

    def __init__(self, per_key: int, at_once: int) -> None:
        self.per_key = per_key
        self.at_once = at_once
        self.running = 0
        self.by_key: Counter[object] = Counter()

    @contextlib.contextmanager
    def admit(self, key: object) -> Iterator[None]:
        """Hold a place while the block runs; TooManyRequests or Busy when there is none."""
        # No await between the checks and the counts: the event loop cannot interleave another request.
        if self.by_key[key] >= self.per_key:
            raise TooManyRequests(f"this key already has {self.by_key[key]} solve(s) running, the most it may; "
                                  "try again when it has finished", RETRY_AFTER_KEY)
        if self.running >= self.at_once:
            raise Busy(f"the service is running {self.running} solves, the most it takes at once; try again shortly",
                       RETRY_AFTER_BUSY)
        self.running += 1
        self.by_key[key] += 1
        try:
            yield
        finally:
            self.running -= 1
            self.by_key[key] -= 1
            if not self.by_key[key]:
                del self.by_key[key]


def _parse(problem: dict[str, Any]) -> optimiser.Problem:
    try:
        return optimiser.parse_problem(problem)
    except optimiser.ProblemError as error:
        raise Invalid(".".join(part for part in (error.item, error.field) if part), error.message) from None


async def solve(data: dict[str, Any], strategy: str = "optimal", time_limit: float | None = None,
                limits: SolveLimits = SolveLimits(), threads: int | None = None) -> dict[str, Any]:
    """Parse and solve in a worker process within the limits; 422 naming the item and field when the
    problem is invalid, or the limit it passes; Busy when the worker had to be stopped."""
    seconds = limits.seconds(time_limit)
    with anyio.move_on_after(limits.backstop(seconds)) as scope:
        result: dict[str, Any] = await worker.in_worker(worker.solve_problem, data, strategy, seconds,
                                                        threads, limits.max_cells, limits.max_pairs)
    if scope.cancelled_caught:
        raise Busy(f"the solve did not finish within its time limit of {seconds:g} s and was stopped",
                   RETRY_AFTER_BUSY)
    if "too_large" in result:
        large = result["too_large"]
        raise Invalid(large["measure"], f"{large['size']:,} is more than this service takes in one request "
                                        f"({large['limit']:,})")
    if "error" in result:
        error = result["error"]
        raise Invalid(".".join(part for part in (error["item"], error["field"]) if part), error["message"])
    return result


async def proposals(
    session_maker: async_sessionmaker[AsyncSession], caller: Caller, referral_id: int, stale_after: timedelta
) -> dict[str, Any]:
    """Feasible available units for one referral, best fit first, and how many units each rule excluded.

    The inputs are read in one short transaction; the ranking runs with no connection held.
    """
    async with session_maker() as session, session.begin():
        referral = await referrals.get_referral(session, caller, referral_id, action="proposals")
        if referral.status is not referrals.ReferralStatus.OPEN:
            raise Conflict(f"referral {referral_id} is {referral.status.value}")
        units = await inventory.matchable_units(session, stale_after)
        # Schemes where a linked household has a pending offer or lives: the matcher counts them (`separation`).
        shared = (await offers.separation_exclusions(session, [referral])).get(referral.id, set())
        problem = _parse({
            "as_of": utcnow().date().isoformat(),
            "units": [inventory.problem_unit(u, s) for u, s in units],
            "referrals": [await referrals.problem_referral(session, referral, shared)],
        })
    with metrics.timed(metrics.MATCH_SECONDS, "proposals"):
        items, excluded = await anyio.to_thread.run_sync(optimiser.rank_units, problem, str(referral.id))
    return {
        "items": [{"unit_id": int(item["unit"]), "score": item["score"], "reasons": item["reasons"]}
                  for item in items],
        "excluded": excluded,
        "units_considered": len(units),
    }


async def match_run(session_maker: async_sessionmaker[AsyncSession], caller: Caller, stale_after: timedelta,
                    limits: SolveLimits = SolveLimits(), threads: int | None = None) -> MatchRun:
    """Optimal proposals for every open referral in scope (none with a pending offer) over every available unit.

    Read the inputs in one transaction, solve with no connection held (a solve may take its whole time
    limit), then store the run in a new transaction.
    """
    scope = caller.authority if caller.role is Role.OFFICER else None
    async with session_maker() as session, session.begin():
        open_now = await referrals.open_referrals(session, scope)
        pending = await offers.with_pending_offers(session, [r.id for r in open_now])
        candidates = [r for r in open_now if r.id not in pending]
        units = await inventory.matchable_units(session, stale_after)
        # Households linked to these, outside the run, that hold an offer or live somewhere: their schemes are out.
        exclusions = await offers.separation_exclusions(session, candidates)
        problem = {
            "as_of": utcnow().date().isoformat(),
            "units": [inventory.problem_unit(u, s) for u, s in units],
            "referrals": await referrals.problem_referrals(session, candidates, exclusions),
        }
        referral_ids, unit_ids = [r.id for r in candidates], [u.id for u, _ in units]
    with metrics.timed(metrics.MATCH_SECONDS, "match_run"):
        result = await solve(problem, "optimal", None, limits, threads)
    answer = {
        "status": result["status"],
        "assignments": [{**a, "referral": int(a["referral"]), "unit": int(a["unit"])} for a in result["assignments"]],
        "unassigned": [{**u, "referral": int(u["referral"])} for u in result["unassigned"]],
        "stats": result["stats"],
    }
    async with session_maker() as session, session.begin():
        run = MatchRun(
            authority_code=scope, created_by_key_id=caller.key_id, status=result["status"],
            referrals=len(referral_ids), units=len(unit_ids), placed=len(result["assignments"]),
            inputs={"referral_ids": referral_ids, "unit_ids": unit_ids},
            result=answer,
        )
        session.add(run)
        await session.flush()
        for referral_id in referral_ids:
            audit.record(session, caller, "match_run", "referral", referral_id)
        audit.record(session, caller, "create", "match_run", run.id)
    return run


async def solve_what_if(data: dict[str, Any], strategy: str, time_limit: float | None,
                        limits: SolveLimits = SolveLimits(), threads: int | None = None) -> dict[str, Any]:
    """A match problem in, its result out; nothing stored (planning)."""
    with metrics.timed(metrics.MATCH_SECONDS, "what_if"):
        return await solve(data, strategy, time_limit, limits, threads)


async def placed_counts(problems: list[dict[str, Any]], limits: SolveLimits = SolveLimits()) -> list[tuple[int, int]]:
    """Per problem, households placed and households some unit suits, solved in a worker process.

    The problems share one time limit; past it the rest are counted by the greedy strategy (a lower bound).
    """
    seconds = limits.seconds()
    with anyio.move_on_after(limits.backstop(seconds)) as scope:
        counts: list[tuple[int, int]] = await worker.in_worker(worker.placed_counts, problems, seconds)
    if scope.cancelled_caught:
        raise Busy(f"capacity planning did not finish within its time limit of {seconds:g} s and was stopped",
                   RETRY_AFTER_BUSY)
    return counts


async def suitable(
    session: AsyncSession, open_referrals: Sequence[Referral], units: Sequence[tuple[Unit, Scheme]],
    prepared: Mapping[int, dict[str, Any]] | None = None,
) -> list[tuple[int, int, float]]:
    """Every (referral id, unit id, fit score) pair that breaks none of the hard rules, separation included.

    The matcher's own feasibility decides (one definition of the rules), in a worker thread.
    `prepared` may hold referrals already in the matcher's form (problem_referrals without exclusions),
    by id, as the alerts job keeps them between runs.
    """
    if not open_referrals or not units:
        return []
    exclusions = await offers.separation_exclusions(session, open_referrals)
    if prepared is None:
        prepared = {r.id: p for r, p in zip(
            open_referrals, await referrals.problem_referrals(session, open_referrals, {}), strict=True
        )}
    problems = []
    for referral in open_referrals:
        problem = prepared[referral.id]
        excluded = exclusions.get(referral.id)
        if excluded:
            problem = {**problem, "safety": {**problem["safety"], "exclude_schemes": sorted(map(str, excluded))}}
        problems.append(problem)
    parsed = _parse({
        "as_of": utcnow().date().isoformat(),
        "units": [inventory.problem_unit(u, s) for u, s in units],
        "referrals": problems,
    })
    pairs = await anyio.to_thread.run_sync(optimiser.suitable_pairs, parsed)
    return [(int(r), int(u), score) for r, u, score in pairs]


def _runs_of(caller: Caller) -> Any:
    """The match runs a caller may read: an officer its authority's, admin every one."""
    if caller.role is Role.ADMIN:
        return select(MatchRun)
    if caller.role is Role.OFFICER:
        return select(MatchRun).where(MatchRun.authority_code == caller.authority)
    raise Forbidden("match runs are for officers and admin")


async def get_match_run(session: AsyncSession, caller: Caller, run_id: int) -> MatchRun:
    """A stored match run (404 when it is another authority's); audited."""
    run = await session.scalar(_runs_of(caller).where(MatchRun.id == run_id))
    if run is None:
        raise NotFound("match run", run_id)
    audit.record(session, caller, "read", "match_run", run.id)
    return run


async def recent_match_runs(session: AsyncSession, caller: Caller, limit: int = 20) -> list[MatchRun]:
    """The latest match runs the caller may read, newest first."""
    return list(await session.scalars(_runs_of(caller).order_by(MatchRun.id.desc()).limit(limit)))
