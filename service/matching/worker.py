"""Solver calls run in a worker process, so CPU-bound solves never hold the event loop's GIL.

This module imports only the optimiser: a worker process starts fast and loads nothing of the web
service. Errors come back as values because exceptions with extra fields do not survive pickling.
"""

from __future__ import annotations

from typing import Any

import anyio.to_process

import optimiser


def solve_problem(data: dict[str, Any], strategy: str = "optimal", time_limit: float | None = None,
                  threads: int | None = None) -> dict[str, Any]:
    """Parse and solve one match problem; `{"error": {item, field, message}}` when it is invalid."""
    try:
        problem = optimiser.parse_problem(data)
    except optimiser.ProblemError as error:
        return {"error": {"item": error.item, "field": error.field, "message": error.message}}
    return optimiser.solve(problem, strategy, time_limit, threads).to_dict()


def placed_counts(problems: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """For each problem: households its optimal assignment places, and households some unit suits."""
    counts = []
    for data in problems:
        result = optimiser.solve(optimiser.parse_problem(data))
        suited_but_full = sum(1 for u in result.unassigned if any(r["code"] == "capacity" for r in u["reasons"]))
        counts.append((len(result.assignments), len(result.assignments) + suited_but_full))
    return counts


async def in_worker(function: Any, *args: Any) -> Any:
    """Run `function(*args)` in anyio's pool of worker processes."""
    return await anyio.to_process.run_sync(function, *args, cancellable=True)
