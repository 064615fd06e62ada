"""The matcher: pure Python + numpy + OR-Tools (CONTRACT section 3).

    problem = read_problem(raw_json_bytes)       # or parse_problem(data); ProblemError names item and field
    result = solve(problem, strategy="optimal")  # or "greedy"; result.to_dict() is the contract's JSON
    rules_broken(referral, unit, as_of)          # hard-rule codes of one pair ([] when feasible)
    rank_units(problem, referral_id)             # feasible units best first, and rule counts
    suitable_pairs(problem)                      # every feasible (referral, unit) pair with its score
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from optimiser.explain import Result, assignment_reasons, rule_counts, unassigned_reasons
from optimiser.feasibility import build_index, default_threads, feasible_block, feasible_pairs, rules_broken
from optimiser.fit import fit_scores
from optimiser.problem import Problem, ProblemError, ProblemTooLarge, Referral, Unit, parse_problem, read_problem
from optimiser.solve import solve_greedy, solve_optimal, units_for
from optimiser.vocabulary import RISKS, RULES, UNIT_RULES

__all__ = [
    "RULES",
    "Problem",
    "ProblemError",
    "ProblemTooLarge",
    "Referral",
    "Result",
    "Unit",
    "parse_problem",
    "rank_units",
    "read_problem",
    "rules_broken",
    "solve",
    "suitable_pairs",
]


def solve(problem: Problem, strategy: str = "optimal", time_limit: float | None = None,
          threads: int | None = None, *, max_cells: int | None = None, max_pairs: int | None = None) -> Result:
    """Assign units to referrals by `strategy` ("optimal" or "greedy") and explain the outcome.

    `threads` share the rules and fit scores of large problems (default: the CPUs this process may
    use, at most 4). time_limit (seconds) counts from here; when it runs out the best separated
    answer found is returned with status "feasible". ProblemTooLarge when referrals x units passes
    max_cells (checked before any pair is built) or the feasible pairs (unit level) pass max_pairs.
    """
    if strategy not in ("optimal", "greedy"):
        raise ValueError(f"unknown strategy {strategy!r}")
    t0 = time.perf_counter()
    cells = len(problem.referrals) * len(problem.units)
    if max_cells is not None and cells > max_cells:
        raise ProblemTooLarge("referrals x units", cells, max_cells)
    ix = build_index(problem, default_threads() if threads is None else threads)
    pr, pc = feasible_pairs(ix)
    n_pairs = int(ix.class_size[pc].sum())
    if max_pairs is not None and n_pairs > max_pairs:
        raise ProblemTooLarge("feasible_pairs", n_pairs, max_pairs)
    t1 = time.perf_counter()
    if strategy == "optimal":
        remaining = None if time_limit is None else max(0.0, time_limit - (t1 - t0))
        matching = solve_optimal(ix, pr, pc, remaining)
    else:
        matching = solve_greedy(ix, pr, pc)
    t2 = time.perf_counter()
    class_of = matching.class_of
    unit_of = matching.unit_of if matching.unit_of is not None else units_for(ix, class_of)
    placed = np.flatnonzero(class_of >= 0)
    scores = fit_scores(ix, placed, class_of[placed])
    refs, units = problem.referrals, problem.units
    assignments = [
        {"referral": refs[i].id, "unit": units[unit_of[i]].id, "score": round(float(s), 2),
         "reasons": assignment_reasons(refs[i], units[unit_of[i]], problem.as_of)}
        for i, s in zip(placed.tolist(), scores.tolist(), strict=True)
    ]
    left = np.flatnonzero(class_of < 0)
    reasons = unassigned_reasons(ix, left, class_of, pr, pc)
    unassigned = [{"referral": refs[i].id, "reasons": r} for i, r in zip(left.tolist(), reasons, strict=True)]
    t3 = time.perf_counter()
    tiers = ix.r_tier
    stats: dict[str, Any] = {
        "strategy": strategy,
        "feasibility_seconds": round(t1 - t0, 4),
        "solve_seconds": round(t2 - t1, 4),
        "explain_seconds": round(t3 - t2, 4),
        "feasible_pairs": n_pairs,
        "time_limit_seconds": time_limit,
        "unit_classes": ix.n_classes,
        "referrals": len(refs),
        "units": len(units),
        "placed": len(placed),
        "placed_by_risk": {name: int((tiers[placed] == t).sum()) for t, name in reversed(list(enumerate(RISKS)))},
        "referrals_by_risk": {name: int((tiers == t).sum()) for t, name in reversed(list(enumerate(RISKS)))},
        "separation_links": len(ix.links),
        "total_score": round(float(scores.sum()), 2),
        **matching.stats,
    }
    return Result(matching.status, assignments, unassigned, stats)


def rank_units(problem: Problem, referral_id: str) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Feasible units for one referral, best fit first, and how many units each hard rule excludes."""
    ix = build_index(problem)
    if referral_id not in ix.ref_index:
        raise KeyError(referral_id)
    i = ix.ref_index[referral_id]
    rows = np.array([i], dtype=np.int64)
    classes = np.flatnonzero(feasible_block(ix, rows)[0])
    scores = fit_scores(ix, np.full(len(classes), i, dtype=np.int64), classes)
    referral = problem.referrals[i]
    items = []
    for c, s in sorted(zip(classes.tolist(), scores.tolist(), strict=True), key=lambda x: -x[1]):
        for u in ix.class_units[c]:
            unit = problem.units[u]
            items.append({"unit": unit.id, "score": round(s, 2),
                          "reasons": assignment_reasons(referral, unit, problem.as_of)})
    counts = rule_counts(ix, rows)[0]
    excluded: dict[str, int] = {code: int(n) for code, n in zip(UNIT_RULES, counts, strict=True) if n}
    return items, excluded


def suitable_pairs(problem: Problem) -> list[tuple[str, str, float]]:
    """Every feasible (referral id, unit id, fit score) pair, by the same rules as solve (alerts, caseload)."""
    ix = build_index(problem)
    pr, pc = feasible_pairs(ix)
    scores = fit_scores(ix, pr.astype(np.int64), pc.astype(np.int64))
    refs, units = problem.referrals, problem.units
    return [
        (refs[i].id, units[u].id, round(s, 2))
        for i, c, s in zip(pr.tolist(), pc.tolist(), scores.tolist(), strict=True)
        for u in ix.class_units[c]
    ]
