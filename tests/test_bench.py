"""`safeaccom bench matcher` on a tiny size: the figures issue 3 asks for, in JSON."""

from __future__ import annotations

import json
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
