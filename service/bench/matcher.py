"""`safeaccom bench matcher`: the matcher against greedy, the max-matching bound and a dense scipy script.

For each size RxU: a seeded synthetic problem (optimiser.generate) is written to a file, then each
measurement runs in its own child process, timed by wall clock, its peak memory read from that
child's rusage (os.wait4): `safeaccom match` (optimal, then greedy) and the baseline
`python -m service.bench.scipy_baseline`, taking turns --repeat times. Times are the best of the
runs, memory the largest; `time_ratio_median_of_turns` pairs the runs of each turn.
JSON on stdout, one object per size in a list.

`--linked-groups 5,10,20,50` adds, for each k, two problems where k households must all be kept
apart: alone over three schemes of three rooms (issue 13's case: at most three can be placed), and
inside a generated problem (`--group-in`, default 200x400) where the k share one shape and one
perpetrator, so that they want the same schemes. Figures: time, status, and the separation step's
own (`cp_sat_seconds`, how many households and pairs it had to model).

The project's modules are compiled to bytecode first, as `pip install .` does: an editable install
(or PYTHONDONTWRITEBYTECODE) would otherwise recompile them in every child, 0.05-0.1 s each, which
is not what a deployed service pays.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from service.cli_error import CliError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `safeaccom bench matcher`."""
    parser.add_argument("--sizes", default="200x400,2000x10000,10000x3000",
                        help="comma-separated REFERRALSxUNITS (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; best time is kept")
    parser.add_argument("--no-baseline", action="store_true", help="skip the scipy script")
    parser.add_argument("--linked-groups", default="",
                        help="comma-separated sizes of groups of households that must all be kept apart, "
                             "e.g. 5,10,20,50: each solved alone over three schemes, and inside --group-in")
    parser.add_argument("--group-in", default="200x400", help="REFERRALSxUNITS of the problem holding each group")


def _sizes(text: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for part in filter(None, text.split(",")):
        try:
            r, u = part.lower().split("x")
            out.append((int(r), int(u)))
        except ValueError:
            raise CliError(f"--sizes: {part!r} is not REFERRALSxUNITS, e.g. 2000x10000") from None
        if out[-1][0] < 1 or out[-1][1] < 1:
            raise CliError(f"--sizes: {part!r} needs at least one referral and one unit")
    return out


def _child(argv: list[str]) -> tuple[float, float, bytes]:
    """Run argv; wall seconds, peak resident MB of that child alone, stdout."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read() if proc.stderr else b""
        if proc.returncode != 0:
            raise RuntimeError(f"{argv[:3]} failed ({proc.returncode}): {err.decode(errors='replace')[-500:]}")
        out.seek(0)
        return wall, usage.ru_maxrss / 1024.0, out.read()


class _Best:
    """Best wall time (with its result) and largest peak memory over the runs of one command."""

    def __init__(self) -> None:
        self.wall = float("inf")
        self.peak = 0.0
        self.result: dict[str, Any] = {}
        self.walls: list[float] = []

    def run(self, argv: list[str]) -> float:
        wall, mb, stdout = _child(argv)
        if wall < self.wall:
            self.wall, self.result = wall, json.loads(stdout)
        self.peak = max(self.peak, mb)
        self.walls.append(wall)
        return wall


def _match_command() -> list[str]:
    script = Path(sys.executable).with_name("safeaccom")
    if script.exists():
        return [str(script)]
    found = shutil.which("safeaccom")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from service.cli import main; sys.exit(main())"]


def _bounds(data: dict[str, Any]) -> dict[str, int]:
    """Largest number placeable (all tiers, and high risk alone), by max flow, ignoring separation."""
    import numpy as np
    from ortools.graph.python import max_flow

    import optimiser
    from optimiser.feasibility import build_index, feasible_pairs

    ix = build_index(optimiser.parse_problem(data))
    pr, pc = feasible_pairs(ix)
    out = {}
    for name, keep in (("max_matching", ix.r_tier[pr] >= 0), ("max_matching_high", ix.r_tier[pr] == 2)):
        r, c = pr[keep], pc[keep]
        n_r, n_c = ix.n_referrals, ix.n_classes
        s, t = n_r + n_c, n_r + n_c + 1
        flow = max_flow.SimpleMaxFlow()
        flow.add_arcs_with_capacity(
            np.concatenate([np.full(n_r, s), r, np.arange(n_r, n_r + n_c)]).astype(np.int32),
            np.concatenate([np.arange(n_r), n_r + c, np.full(n_c, t)]).astype(np.int32),
            np.concatenate([np.ones(n_r + len(r), dtype=np.int64), ix.class_size]).astype(np.int64),
        )
        flow.solve(s, t)
        out[name] = int(flow.optimal_flow())
    return out


def _groups(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in filter(None, text.split(","))]
    except ValueError:
        raise CliError(f"--linked-groups: {text!r} is not a list of group sizes, e.g. 5,10,20,50") from None
    if any(k < 2 for k in sizes):
        raise CliError("--linked-groups: a group has at least 2 households")
    return sizes


def _all_apart(k: int) -> dict[str, Any]:
    """k households that must all be kept apart, over three schemes of three rooms (issue 13's case)."""
    from optimiser.generate import generate

    data = generate(k, 9, seed=0, link_share=0.0)
    for s, start in enumerate((0, 3, 6)):
        for u in data["units"][start:start + 3]:
            u.update(scheme=f"scheme{s}", genders=["female", "male", "non_binary"], bedspaces=8, accepts_children=True,
                     max_children=None, max_boy_age=None, wheelchair_accessible=True, pets=True, accepts_nrpf=True,
                     communal=False, specialist_only=False, available_from=data["as_of"], type="refuge")
    for r in data["referrals"]:
        r["safety"] = {"separate_from": [x["id"] for x in data["referrals"] if x is not r]}
        r["preferences"] = {}
        r["needs"] = {**r["needs"], "languages": []}
    return data


def _group_inside(k: int, n_r: int, n_u: int, seed: int) -> dict[str, Any]:
    """A generated problem whose first k households share one perpetrator and one shape, all kept apart
    (they want the same schemes: the hard case for separation)."""
    import copy

    from optimiser.generate import generate

    data = generate(n_r, n_u, seed=seed)
    group = data["referrals"][:k]
    lead = group[0]
    for r in group:
        for key in ("adults", "children", "needs", "preferences"):
            r[key] = copy.deepcopy(lead[key])
        r["safety"] = {**copy.deepcopy(lead["safety"]), "separate_from": [x["id"] for x in group if x is not r]}
    return data


def _separation_figures(wall: float, result: dict[str, Any]) -> dict[str, Any]:
    stats = result["stats"]
    return {
        "end_to_end_seconds": round(wall, 3), "solve_seconds": stats.get("solve_seconds"),
        "status": result["status"], "placed": stats["placed"], "placed_by_risk": stats["placed_by_risk"],
        **{name: stats.get(name) for name in (
            "separation_clashes", "separation_components", "separation_referrals", "separation_pairs",
            "separation_pairs_fixed", "separation_cliques", "cp_sat_solves", "cp_sat_seconds", "cp_sat_import_seconds",
            "separation_seconds")},
    }


def _linked_groups(args: argparse.Namespace, match: list[str], folder: str) -> list[dict[str, Any]]:
    """Each group size solved alone over three schemes, and inside a generated problem."""
    figures = []
    (n_r, n_u), = _sizes(args.group_in) or [(200, 400)]
    for k in _groups(args.linked_groups):
        for shape, data in (("all_apart_over_3_schemes", _all_apart(k)),
                            (f"group_inside_{n_r}x{n_u}", _group_inside(k, n_r, n_u, args.seed))):
            path = Path(folder) / f"linked_{k}_{shape}.json"
            path.write_text(json.dumps(data))
            optimal, greedy = _Best(), _Best()
            for _ in range(args.repeat):
                optimal.run([*match, "match", "--problem", str(path)])
                greedy.run([*match, "match", "--problem", str(path), "--strategy", "greedy"])
            figures.append({
                "linked_group": k, "shape": shape, "referrals": len(data["referrals"]), "units": len(data["units"]),
                "optimal": _separation_figures(optimal.wall, optimal.result),
                "greedy": {"placed": greedy.result["stats"]["placed"],
                           "placed_by_risk": greedy.result["stats"]["placed_by_risk"]},
            })
            print(f"bench matcher: linked group of {k}, {shape} done", file=sys.stderr)
    return figures


def _summary(wall: float, mb: float, result: dict[str, Any]) -> dict[str, Any]:
    stats = result["stats"]
    return {
        "end_to_end_seconds": round(wall, 3),
        "peak_memory_mb": round(mb, 1),
        "read_seconds": stats.get("read_seconds"),
        "import_seconds": stats.get("import_seconds"),
        "parse_seconds": stats.get("parse_seconds"),
        "feasibility_seconds": stats.get("feasibility_seconds"),
        "solve_seconds": stats.get("solve_seconds"),
        "explain_seconds": stats.get("explain_seconds"),
        "status": result["status"],
        "placed": stats["placed"],
        "placed_by_risk": stats["placed_by_risk"],
        "high_risk_placed": stats["placed_by_risk"]["high"],
    }


def run(args: argparse.Namespace) -> int:
    """Run the matcher benchmark; JSON figures on stdout."""
    from optimiser.generate import generate

    if args.repeat < 1:
        raise CliError("--repeat: must be >= 1")
    figures = []
    match = _match_command()
    root = Path(__file__).resolve().parents[2]
    for package in ("service", "optimiser", "refdata"):
        compileall.compile_dir(root / package, quiet=2)
    with tempfile.TemporaryDirectory() as folder:
        for n_r, n_u in _sizes(args.sizes):
            data = generate(n_r, n_u, seed=args.seed)
            path = Path(folder) / f"problem_{n_r}x{n_u}.json"
            path.write_text(json.dumps(data))
            entry: dict[str, Any] = {"size": f"{n_r}x{n_u}", "referrals": n_r, "units": n_u, "seed": args.seed}
            # the commands take turns, so that the machine's drifting speed falls on all alike
            optimal, greedy, baseline = _Best(), _Best(), _Best()
            for _ in range(args.repeat):
                optimal.run([*match, "match", "--problem", str(path)])
                greedy.run([*match, "match", "--problem", str(path), "--strategy", "greedy"])
                if not args.no_baseline:
                    baseline.run([sys.executable, "-m", "service.bench.scipy_baseline", str(path)])
            result = optimal.result
            entry["feasible_pairs"] = result["stats"]["feasible_pairs"]
            entry["referrals_by_risk"] = result["stats"]["referrals_by_risk"]
            entry["optimal"] = _summary(optimal.wall, optimal.peak, result)
            entry["optimal"]["flow_arcs"] = result["stats"].get("flow_arcs")
            entry["optimal"]["pricing_rounds"] = result["stats"].get("pricing_rounds")
            entry["greedy"] = _summary(greedy.wall, greedy.peak, greedy.result)
            entry["bound"] = _bounds(data)
            if not args.no_baseline:
                entry["scipy_baseline"] = {"end_to_end_seconds": round(baseline.wall, 3),
                                           "peak_memory_mb": round(baseline.peak, 1), **baseline.result}
                turns = sorted(a / b for a, b in zip(optimal.walls, baseline.walls, strict=True))
                entry["optimal_vs_baseline"] = {
                    "time_ratio": round(optimal.wall / baseline.wall, 3),  # best against best
                    "time_ratio_median_of_turns": round(turns[len(turns) // 2], 3),  # each turn's pair
                    "memory_ratio": round(optimal.peak / baseline.peak, 3),
                }
            figures.append(entry)
            print(f"bench matcher: {entry['size']} done", file=sys.stderr)
        figures += _linked_groups(args, match, folder)
    json.dump(figures, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
