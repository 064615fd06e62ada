"""`safeaccom bench matcher` on a tiny size: the figures issue 3 asks for, in JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_bench_matcher_reports_every_figure() -> None:
    entry = "import sys; from service.cli import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", entry, "bench", "matcher", "--sizes", "30x60", "--seed", "3",
                           "--repeat", "2"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    [figures] = json.loads(done.stdout)
    optimal, greedy, bound = figures["optimal"], figures["greedy"], figures["bound"]
    for part in ("parse_seconds", "feasibility_seconds", "solve_seconds", "explain_seconds", "peak_memory_mb"):
        assert optimal[part] >= 0 and greedy[part] >= 0, part
    assert optimal["status"] == "optimal"
    # the optimal strategy reaches the max-matching bounds, greedy never beats them
    assert optimal["placed"] == bound["max_matching"] >= greedy["placed"]
    assert optimal["high_risk_placed"] == bound["max_matching_high"] >= greedy["high_risk_placed"]
    baseline = figures["scipy_baseline"]
    assert baseline["placed_by_risk"] == optimal["placed_by_risk"]  # same tier counts, no links at this size
    ratios = figures["optimal_vs_baseline"]
    assert ratios["time_ratio"] > 0 and ratios["memory_ratio"] > 0 and ratios["time_ratio_median_of_turns"] > 0


def test_bench_matcher_measures_linked_groups() -> None:
    entry = "import sys; from service.cli import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", entry, "bench", "matcher", "--sizes", "", "--linked-groups", "4",
                           "--group-in", "20x40", "--no-baseline"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    alone, inside = json.loads(done.stdout)
    assert alone["linked_group"] == inside["linked_group"] == 4
    assert alone["optimal"]["status"] == "optimal"
    assert alone["optimal"]["placed"] == 3  # four households kept apart over three schemes: one per scheme
    assert alone["optimal"]["cp_sat_solves"] >= 1
    assert inside["optimal"]["status"] == "optimal" and inside["referrals"] == 20


def test_bench_api_serves_every_phase_in_rounds_without_errors() -> None:
    entry = "import sys; from service.cli import main; sys.exit(main())"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # its own embedded PostgreSQL
    done = subprocess.run([sys.executable, "-c", entry, "bench", "api", "--connections", "4", "--duration", "0.5",
                           "--warmup", "0.2", "--rounds", "2", "--workers", "2", "--match-size", "0"],
                          capture_output=True, text=True, timeout=300, check=False, env=env)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["rounds"] == 2 and figures["server"]["workers"] == 2
    for phase in ("ready", "vacancies", "availability", "authorities"):
        assert len(figures[phase]["rounds"]) == 2, phase
        assert figures[phase]["requests"] > 0 and figures[phase]["errors"] == 0, phase
        for run in figures[phase]["rounds"]:
            assert set(run["statuses"]) == {"200"}, (phase, run["statuses"])
            assert run["cpu"]["server"] > 0, phase
    assert figures["ratios"]["vacancies_vs_ready"] > 0 and figures["ratios"]["availability_vs_ready"] > 0
    assert figures["met"]["no_errors"] is True
