"""Proposals for one referral and optimal match runs, computed by optimiser/ off the event loop."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import anyio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import optimiser
from service.audit import service as audit
from service.caller import Caller, Role
from service.db import utcnow
from service.errors import Conflict, Forbidden, Invalid, NotFound
from service.inventory import service as inventory
from service.inventory.service import Scheme, Unit
from service.matching import worker
from service.matching.models import MatchRun
from service.offers import service as offers
from service.referrals import service as referrals
from service.referrals.service import Referral


def _parse(problem: dict[str, Any]) -> optimiser.Problem:
    try:
        return optimiser.parse_problem(problem)
    except optimiser.ProblemError as error:
        raise Invalid(".".join(part for part in (error.item, error.field) if part), error.message) from None


async def solve(data: dict[str, Any], strategy: str = "optimal", time_limit: float | None = None,
                threads: int | None = None) -> dict[str, Any]:
    """Parse and solve in a worker process; 422 naming the item and field when the problem is invalid."""
    result: dict[str, Any] = await worker.in_worker(worker.solve_problem, data, strategy, time_limit, threads)
    if "error" in result:
        error = result["error"]
        raise Invalid(".".join(part for part in (error["item"], error["field"]) if part), error["message"])
    return result


async def proposals(
    session: AsyncSession, caller: Caller, referral_id: int, stale_after: timedelta
) -> dict[str, Any]:
    """Feasible available units for one referral, best fit first, and how many units each rule excluded."""
    referral = await referrals.get_referral(session, caller, referral_id, action="proposals")
    if referral.status is not referrals.ReferralStatus.OPEN:
        raise Conflict(f"referral {referral_id} is {referral.status.value}")
    units = await inventory.matchable_units(session, stale_after)
    shared = (await offers.separation_exclusions(session, [referral]))[referral.id]
    allowed = [(u, s) for u, s in units if s.id not in shared]
    problem = _parse({
        "as_of": utcnow().date().isoformat(),
        "units": [inventory.problem_unit(u, s) for u, s in allowed],
        "referrals": [await referrals.problem_referral(session, referral, shared)],
    })
    items, excluded = await anyio.to_thread.run_sync(optimiser.rank_units, problem, str(referral.id))
    if len(units) > len(allowed):
        excluded["separation"] = len(units) - len(allowed)
    return {
        "items": [{"unit_id": int(item["unit"]), "score": item["score"], "reasons": item["reasons"]}
                  for item in items],
        "excluded": excluded,
        "units_considered": len(units),
    }


async def match_run(session: AsyncSession, caller: Caller, stale_after: timedelta,
                    threads: int | None = None) -> MatchRun:
    """Optimal proposals for every open referral in scope (none with a pending offer) over every available unit."""
    scope = caller.authority if caller.role is Role.OFFICER else None
    open_now = await referrals.open_referrals(session, scope)
    pending = await offers.with_pending_offers(session, [r.id for r in open_now])
    candidates = [r for r in open_now if r.id not in pending]
    units = await inventory.matchable_units(session, stale_after)
    # Households linked to these, outside the run, that hold an offer or live somewhere: their schemes are out.
    exclusions = await offers.separation_exclusions(session, candidates)
    result = await solve({
        "as_of": utcnow().date().isoformat(),
        "units": [inventory.problem_unit(u, s) for u, s in units],
        "referrals": await referrals.problem_referrals(session, candidates, exclusions),
    }, threads=threads)
    answer = {
        "status": result["status"],
        "assignments": [{**a, "referral": int(a["referral"]), "unit": int(a["unit"])} for a in result["assignments"]],
        "unassigned": [{**u, "referral": int(u["referral"])} for u in result["unassigned"]],
        "stats": result["stats"],
    }
    run = MatchRun(
        authority_code=scope, created_by_key_id=caller.key_id, status=result["status"],
        referrals=len(candidates), units=len(units), placed=len(result["assignments"]),
        inputs={"referral_ids": [r.id for r in candidates], "unit_ids": [u.id for u, _ in units]},
        result=answer,
    )
    session.add(run)
    await session.flush()
    for referral in candidates:
        audit.record(session, caller, "match_run", "referral", referral.id)
    audit.record(session, caller, "create", "match_run", run.id)
    return run


async def solve_what_if(data: dict[str, Any], strategy: str, time_limit: float | None,
                        threads: int | None = None) -> dict[str, Any]:
    """A match problem in, its result out; nothing stored (planning)."""
    return await solve(data, strategy, time_limit, threads)


async def placed_counts(problems: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Per problem, households placed and households some unit suits, solved in a worker process."""
    counts: list[tuple[int, int]] = await worker.in_worker(worker.placed_counts, problems)
    return counts


async def suitable(
    session: AsyncSession, open_referrals: Sequence[Referral], units: Sequence[tuple[Unit, Scheme]]
) -> list[tuple[int, int, float]]:
    """Every (referral id, unit id, fit score) pair that breaks none of the hard rules, separation included.

    The matcher's own feasibility decides (one definition of the rules), in a worker thread.
    """
    if not open_referrals or not units:
        return []
    exclusions = await offers.separation_exclusions(session, open_referrals)
    problem = _parse({
        "as_of": utcnow().date().isoformat(),
        "units": [inventory.problem_unit(u, s) for u, s in units],
        "referrals": await referrals.problem_referrals(session, open_referrals, exclusions),
    })
    pairs = await anyio.to_thread.run_sync(optimiser.suitable_pairs, problem)
    scheme_of = {u.id: s.id for u, s in units}
    return [
        (int(r), int(u), score) for r, u, score in pairs
        if scheme_of[int(u)] not in exclusions.get(int(r), ())  # until the matcher reads exclude_schemes itself
    ]


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
