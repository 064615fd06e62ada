"""The separation rule: linked households never share a scheme; optimality is still proven."""

from __future__ import annotations

from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

import optimiser

from .helpers import check_result, problem, referral, unit
from .test_properties import brute_force_tiers, placed_tiers


def linked(rid: str, others: list[str], risk: str = "high", **fields: Any) -> dict[str, Any]:
    return referral(rid, risk=risk, safety={"separate_from": others}, **fields)


def test_flow_answer_that_breaks_a_link_is_repaired_and_still_optimal() -> None:
    # One refuge of two rooms and one dispersed flat far away that only r2 may use (pets).
    units = [unit("a1", scheme="refuge"), unit("a2", scheme="refuge"),
             unit("d1", scheme="flat", type="dispersed", pets=True, lat=51.5, lon=-0.1)]
    refs = [linked("r1", ["r2"]), linked("r2", [], needs={"pets": True}), referral("r3", risk="standard")]
    data = problem(units, refs)
    result = optimiser.solve(optimiser.parse_problem(data)).to_dict()
    check_result(data, result)
    assert result["status"] == "optimal"
    placed = {a["referral"]: a["unit"] for a in result["assignments"]}
    assert set(placed) == {"r1", "r2", "r3"}
    assert placed["r2"] == "d1"  # only this keeps r1 and r2 apart while placing all three


def test_separation_that_costs_a_placement_reports_optimal_and_the_code() -> None:
    units = [unit("a1", scheme="refuge"), unit("a2", scheme="refuge")]
    refs = [linked("r1", ["r2"]), linked("r2", [], risk="medium")]
    data = problem(units, refs)
    result = optimiser.solve(optimiser.parse_problem(data)).to_dict()
    check_result(data, result)
    assert result["status"] == "optimal"
    assert result["stats"]["branch_nodes"] > 1
    assert [a["referral"] for a in result["assignments"]] == ["r1"]  # high risk first
    assert result["unassigned"] == [{"referral": "r2", "reasons": [{"code": "separation", "units_excluded": 2}]}]


def test_greedy_honours_separation_too() -> None:
    units = [unit("a1", scheme="refuge"), unit("a2", scheme="refuge")]
    refs = [linked("r1", ["r2"], referred_on="2026-11-01"), linked("r2", [], referred_on="2026-11-02")]
    data = problem(units, refs)
    result = optimiser.solve(optimiser.parse_problem(data), strategy="greedy").to_dict()
    check_result(data, result)
    assert [a["referral"] for a in result["assignments"]] == ["r1"]


def test_link_to_unknown_referral_is_ignored() -> None:
    data = problem([unit()], [linked("r1", ["gone"])])
    result = optimiser.solve(optimiser.parse_problem(data)).to_dict()
    assert len(result["assignments"]) == 1


@st.composite
def crowded(draw: st.DrawFn) -> dict[str, Any]:
    """Few schemes of several rooms, many links: the flow answer often breaks a link."""
    n_units = draw(st.integers(2, 6))
    units = [unit(f"u{i}", scheme=f"s{draw(st.integers(0, 2))}", bedspaces=draw(st.integers(1, 3)))
             for i in range(n_units)]
    n_refs = draw(st.integers(2, 6))
    refs = []
    for i in range(n_refs):
        others = draw(st.lists(st.integers(0, n_refs - 1), max_size=2))
        refs.append(referral(
            f"r{i}", risk=draw(st.sampled_from(["standard", "medium", "high"])),
            children=[{"age": 5, "sex": "female"}] * draw(st.integers(0, 2)),
            safety={"separate_from": [f"r{k}" for k in others if k != i]},
        ))
    return problem(units, refs)


@settings(max_examples=60, deadline=None)
@given(crowded())
def test_crowded_separation_matches_brute_force(data: dict[str, Any]) -> None:
    result = optimiser.solve(optimiser.parse_problem(data)).to_dict()
    check_result(data, result)
    assert result["status"] == "optimal"
    assert placed_tiers(result, data) == brute_force_tiers(data)
    event(f"branch and bound nodes > 1: {result['stats']['branch_nodes'] > 1}")


def test_time_limit_reached_gives_a_separated_feasible_answer() -> None:
    units = [unit("a1", scheme="refuge"), unit("a2", scheme="refuge")]
    refs = [linked("r1", ["r2"]), linked("r2", [], risk="medium")]
    data = problem(units, refs)
    result = optimiser.solve(optimiser.parse_problem(data), time_limit=1e-9).to_dict()
    check_result(data, result)  # still never under one roof
    assert result["status"] == "feasible"
    assert [a["referral"] for a in result["assignments"]] == ["r1"]  # the lower-priority one gives way
