"""Property-based checks on small random problems: rules, coverage, and the tier guarantee."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

import optimiser
from optimiser.feasibility import build_index, rule_pass
from optimiser.fit import FIT_SCALE, fit_scores
from optimiser.vocabulary import UNIT_RULES

from .helpers import AS_OF, broken, check_result

GENDERS = ["female", "male", "non_binary"]
TYPES = ["refuge", "specialist_refuge", "dispersed", "move_on", "other_safe"]
SPECS = ["lgbtq", "minoritised", "disability"]
LANGS = ["en", "ur", "pl"]
DATES = ["2026-11-15", "2026-11-22", "2026-11-23", "2026-11-30"]
AUTHS = ["E1", "E2", "E3"]
DISTRICTS = ["A1", "B2", "C3"]


@st.composite
def units(draw: st.DrawFn, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        out.append({
            "id": f"u{i}", "scheme": f"s{draw(st.integers(0, max(0, n // 2)))}",
            "type": draw(st.sampled_from(TYPES)), "authority": draw(st.sampled_from(AUTHS)),
            "district": draw(st.sampled_from(DISTRICTS)),
            "lat": draw(st.floats(52.0, 53.0)), "lon": draw(st.floats(-2.0, -1.0)),
            "bedspaces": draw(st.integers(1, 4)),
            "genders": draw(st.lists(st.sampled_from(GENDERS), min_size=1, max_size=3, unique=True)),
            "accepts_children": draw(st.booleans()), "max_children": draw(st.sampled_from([None, 1, 2])),
            "max_boy_age": draw(st.sampled_from([None, 10, 14])),
            "wheelchair_accessible": draw(st.booleans()), "step_free": draw(st.booleans()),
            "pets": draw(st.booleans()), "accepts_nrpf": draw(st.booleans()), "communal": draw(st.booleans()),
            "languages": draw(st.lists(st.sampled_from(LANGS), max_size=2, unique=True)),
            "specialisms": draw(st.lists(st.sampled_from(SPECS), max_size=2, unique=True)),
            "specialist_only": draw(st.booleans()), "available_from": draw(st.sampled_from([*DATES, None])),
            "no_assistance_dog_reason": draw(st.sampled_from([None, None, "a resident's allergy"])),
        })
    return out


@st.composite
def referrals(draw: st.DrawFn, n: int, links: bool) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        locations = [{"lat": draw(st.floats(52.0, 53.0)), "lon": draw(st.floats(-2.0, -1.0))}
                     for _ in range(draw(st.integers(0, 2)))]
        out.append({
            "id": f"r{i}", "risk": draw(st.sampled_from(["standard", "medium", "high"])),
            "referred_on": draw(st.sampled_from(["2026-10-01", "2026-11-01", "2026-11-20"])),
            "needed_by": draw(st.sampled_from([None, "2026-11-22", "2026-11-30"])),
            "adults": [{"gender": draw(st.sampled_from(GENDERS)), "age": draw(st.integers(16, 80))}
                       for _ in range(draw(st.integers(1, 2)))],
            "children": [{"age": draw(st.integers(0, 17)), "sex": draw(st.sampled_from(["female", "male"]))}
                         for _ in range(draw(st.integers(0, 2)))],
            "needs": {
                "wheelchair": draw(st.booleans()), "step_free": draw(st.booleans()), "pets": draw(st.booleans()),
                "nrpf": draw(st.booleans()), "communal_unsuitable": draw(st.booleans()),
                "assistance_dog": draw(st.booleans()),
                "languages": draw(st.lists(st.sampled_from([*LANGS, "so"]), max_size=2, unique=True)),
                "interpreter_ok": draw(st.booleans()),
                "specialisms": draw(st.lists(st.sampled_from(SPECS), max_size=2, unique=True)),
            },
            "safety": {
                "exclude_authorities": draw(st.lists(st.sampled_from(AUTHS), max_size=1)),
                "exclude_districts": draw(st.lists(st.sampled_from(DISTRICTS), max_size=1)),
                "perpetrator_locations": locations,
                "min_distance_km": draw(st.sampled_from([0, 10, 40])),
                "separate_from": [f"r{draw(st.integers(0, n - 1))}"] if links and draw(st.booleans()) else [],
                # schemes where a linked household outside the problem lives (s0-s4; units use s0-s4 too)
                "exclude_schemes": draw(st.lists(st.sampled_from([f"s{k}" for k in range(5)]), max_size=1)),
            },
            "preferences": {"types": draw(st.lists(st.sampled_from(TYPES), max_size=3, unique=True)),
                            "near": None},
        })
    # make the problem less hostile: half the needs off, so that assignments happen
    for r in out:
        if draw(st.booleans()):
            r["needs"] = {}
    return out


@st.composite
def problems(draw: st.DrawFn, links: bool = False) -> dict[str, Any]:
    n_u = draw(st.integers(1, 9))
    n_r = draw(st.integers(1, 9))
    return {"as_of": AS_OF, "units": draw(units(n_u)), "referrals": draw(referrals(n_r, links))}


def tier_bounds(data: dict[str, Any]) -> list[int]:
    """For tiers high, medium+, all: maximum matching size on the feasible pairs (scipy)."""
    out = []
    for allowed in (("high",), ("high", "medium"), ("high", "medium", "standard")):
        refs = [r for r in data["referrals"] if r["risk"] in allowed]
        m = np.array([[not broken(r, u) for u in data["units"]] for r in refs], dtype=np.int8)
        if m.size == 0:
            out.append(0)
            continue
        match = maximum_bipartite_matching(csr_matrix(m), perm_type="column")
        out.append(int((match >= 0).sum()))
    return out


def placed_tiers(result: dict[str, Any], data: dict[str, Any]) -> list[int]:
    risk = {r["id"]: r["risk"] for r in data["referrals"]}
    placed = [risk[a["referral"]] for a in result["assignments"]]
    return [placed.count("high"), placed.count("high") + placed.count("medium"), len(placed)]


SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def pricing_rounds() -> Iterator[None]:
    """The large-problem path on small problems: pricing rounds from an empty first set, one pair
    added per referral per round, and never the fallback of a flow over every pair."""
    with mock.patch.multiple(sys.modules["optimiser.solve"], SPARSE_FROM=0, FIRST_PER_REFERRAL=0, FIRST_PER_ROOM=0,
                             GREEDY_FIRST=False, ADDED_PER_REFERRAL=1, MAX_ROUNDS=10**6, GIVE_UP_SHARE=2.0):
        yield


def solve_with(data: dict[str, Any], pricing: bool) -> dict[str, Any]:
    with pricing_rounds() if pricing else nullcontext():
        result = optimiser.solve(optimiser.parse_problem(data)).to_dict()
    if pricing:
        # the LP dual of the last round proved it: no flow over every pair was needed
        assert result["stats"]["full_flows"] == 0
        event(f"pricing rounds > 1: {result['stats']['pricing_rounds'] > 1}")
    return result


PATHS = pytest.mark.parametrize("pricing", [False, True], ids=["one-flow", "pricing-rounds"])


@PATHS
@SETTINGS
@given(data=problems())
def test_optimal_obeys_rules_and_reaches_every_tier_bound(data: dict[str, Any], pricing: bool) -> None:
    result = solve_with(data, pricing)
    check_result(data, result)
    assert result["status"] == "optimal"
    assert placed_tiers(result, data) == tier_bounds(data)
    greedy = optimiser.solve(optimiser.parse_problem(data), strategy="greedy").to_dict()
    check_result(data, greedy)


@PATHS
@SETTINGS
@given(data=problems())
def test_fit_is_the_best_among_tier_optimal_assignments(data: dict[str, Any], pricing: bool) -> None:
    """Against scipy's dense assignment with the same lexicographic weights (no links here)."""
    problem = optimiser.parse_problem(data)
    result = solve_with(data, pricing)
    ix = build_index(problem)
    n_r, n_u = len(data["referrals"]), len(data["units"])
    r = np.repeat(np.arange(n_r), n_u)
    c = np.tile(ix.class_of_unit, n_r)
    fit = np.rint(fit_scores(ix, r, c) * FIT_SCALE).reshape(n_r, n_u)
    feasible = np.array([[not broken(x, u) for u in data["units"]] for x in data["referrals"]])
    tier = np.array([{"standard": 1, "medium": 2, "high": 3}[x["risk"]] for x in data["referrals"]])
    weight = np.where(feasible, tier[:, None] * 10**7 + fit, 0)
    rows, cols = linear_sum_assignment(weight, maximize=True)
    best = int(weight[rows, cols].sum())
    ours = 0
    index = {x["id"]: i for i, x in enumerate(data["referrals"])}
    units = {u["id"]: i for i, u in enumerate(data["units"])}
    for a in result["assignments"]:
        ours += int(weight[index[a["referral"]], units[a["unit"]]])
    assert ours == best


@PATHS
@SETTINGS
@given(data=problems(links=True))
def test_separation_matches_brute_force(data: dict[str, Any], pricing: bool) -> None:
    data["referrals"] = data["referrals"][:5]
    ids = {r["id"] for r in data["referrals"]}
    for r in data["referrals"]:
        r["safety"]["separate_from"] = [x for x in r["safety"]["separate_from"] if x in ids]
    data["units"] = data["units"][:5]
    result = solve_with(data, pricing)
    event(f"separation model solved: {result['stats']['cp_sat_solves'] > 0}")
    check_result(data, result)
    assert result["status"] == "optimal"
    assert placed_tiers(result, data) == brute_force_tiers(data)


def separated_assignments(data: dict[str, Any]) -> Iterator[tuple[int | None, ...]]:
    """Every assignment (unit index or None per referral) that obeys all rules, separation included."""
    refs, units = data["referrals"], data["units"]
    options = [[None] + [j for j, u in enumerate(units) if not broken(r, u)] for r in refs]
    scheme = [u.get("scheme") or u["id"] for u in units]
    links = [(i, k) for i, r in enumerate(refs) for k, x in enumerate(refs)
             if x["id"] in (r["safety"].get("separate_from") or []) and i != k]
    for choice in itertools.product(*options):
        taken = [j for j in choice if j is not None]
        if len(taken) != len(set(taken)):
            continue
        if any(choice[a] is not None and choice[b] is not None and scheme[choice[a]] == scheme[choice[b]]
               for a, b in links):
            continue
        yield choice


def brute_force_tiers(data: dict[str, Any]) -> list[int]:
    """Best (high, high+medium, all) over every assignment that obeys all rules, by enumeration."""
    refs = data["referrals"]
    best = (-1, -1, -1)
    for choice in separated_assignments(data):
        risks = [refs[i]["risk"] for i, j in enumerate(choice) if j is not None]
        value = (risks.count("high"), risks.count("high") + risks.count("medium"), len(risks))
        best = max(best, value)
    return list(best)


@SETTINGS
@given(problems())
def test_vectorised_rules_agree_with_rules_broken(data: dict[str, Any]) -> None:
    problem = optimiser.parse_problem(data)
    ix = build_index(problem)
    rows = np.arange(len(problem.referrals))
    masks = {code: rule_pass(ix, code, rows) for code in UNIT_RULES}
    for i, r in enumerate(problem.referrals):
        for j, u in enumerate(problem.units):
            c = ix.class_of_unit[j]
            vector = [code for code in UNIT_RULES if not masks[code][i, c]]
            assert optimiser.rules_broken(r, u, problem.as_of) == vector
            assert set(vector) == broken(data["referrals"][i], data["units"][j])


@SETTINGS
@given(problems())
def test_rule_counts_agree_with_the_masks(data: dict[str, Any]) -> None:
    """The fast per-rule unit counts of the unassigned equal counting the vectorised masks."""
    from optimiser.explain import rule_counts

    problem = optimiser.parse_problem(data)
    ix = build_index(problem)
    rows = np.arange(len(problem.referrals))
    fast = rule_counts(ix, rows)
    for k, code in enumerate(UNIT_RULES):
        by_mask = (~rule_pass(ix, code, rows)).astype(np.int64) @ ix.class_size
        assert fast[:, k].tolist() == by_mask.tolist(), code
        by_pair = [sum(code in broken(r, u) for u in data["units"]) for r in data["referrals"]]
        assert fast[:, k].tolist() == by_pair, code


@SETTINGS
@given(problems())
def test_fit_from_the_category_table_equals_fit_pair_by_pair(data: dict[str, Any]) -> None:
    problem = optimiser.parse_problem(data)
    n_r = len(data["referrals"])
    ix = build_index(problem)
    r = np.repeat(np.arange(n_r), ix.n_classes)  # every pair, feasible or not
    c = np.tile(np.arange(ix.n_classes), n_r)
    from_table = fit_scores(ix, r, c)
    # per pair, and in pieces of 7 pairs shared among threads
    with mock.patch.multiple(sys.modules["optimiser.fit"], KIND_TABLE_CELLS=0, FIT_CHUNK=7):
        pair_by_pair = fit_scores(build_index(problem, threads=2), r, c)
    assert np.allclose(from_table, pair_by_pair, rtol=0, atol=1e-9)
