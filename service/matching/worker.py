"""Solver calls run in a worker process, so CPU-bound solves never hold the event loop's GIL.

This module imports only the optimiser: a worker process starts fast and loads nothing of the web
service. Errors come back as values because exceptions with extra fields do not survive pickling.
A worker whose caller is cancelled (its time limit passed, or the client went away) is killed.
"""

from __future__ import annotations

import time
from typing import Any

import anyio.to_process

import optimiser


def solve_problem(data: dict[str, Any], strategy: str = "optimal", time_limit: float | None = None,
                  threads: int | None = None, max_cells: int | None = None,
                  max_pairs: int | None = None) -> dict[str, Any]:
    """Parse and solve one match problem; `{"error": {item, field, message}}` when it is invalid,
    `{"too_large": {measure, size, limit}}` when it passes a size limit."""
    started = time.perf_counter()
    try:
        problem = optimiser.parse_problem(data)
    except optimiser.ProblemError as error:
        return {"error": {"item": error.item, "field": error.field, "message": error.message}}
    del data
    left = None if time_limit is None else max(0.0, time_limit - (time.perf_counter() - started))
    try:
        result = optimiser.solve(problem, strategy, left, threads, max_cells=max_cells,
                                 max_pairs=max_pairs).to_dict()
    except optimiser.ProblemTooLarge as error:
        return {"too_large": {"measure": error.measure, "size": error.size, "limit": error.limit}}
    result["stats"]["time_limit_seconds"] = time_limit
    return result


def placed_counts(problems: list[dict[str, Any]], time_limit: float | None = None) -> list[tuple[int, int]]:
    """For each problem: households its optimal assignment places, and households some unit suits.

    The problems share `time_limit`; once it has passed the rest are solved by the greedy strategy.
    """
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    counts = []
    for data in problems:
        left = None if deadline is None else deadline - time.perf_counter()
        strategy = "greedy" if left is not None and left <= 0 else "optimal"
        result = optimiser.solve(optimiser.parse_problem(data), strategy, left)
        suited_but_full = sum(1 for u in result.unassigned if any(r["code"] == "capacity" for r in u["reasons"]))
        counts.append((len(result.assignments), len(result.assignments) + suited_but_full))
    return counts


async def in_worker(function: Any, *args: Any) -> Any:
    """Run `function(*args)` in anyio's pool of worker processes; cancelling the caller kills the worker."""
    return await anyio.to_process.run_sync(function, *args, cancellable=True)
