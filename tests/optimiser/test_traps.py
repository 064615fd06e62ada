"""Hand-made cases where first come, first served fails and the optimal strategy does not."""

from __future__ import annotations

import optimiser

from .helpers import check_result, problem, referral, unit


def run(data: dict, strategy: str) -> dict[str, str]:
    result = optimiser.solve(optimiser.parse_problem(data), strategy=strategy).to_dict()
    check_result(data, result)
    return {a["referral"]: a["unit"] for a in result["assignments"]}


def test_accessible_unit_taken_by_someone_who_did_not_need_it() -> None:
    # The accessible unit comes first in input order; the early referral does not need it.
    units = [unit("access", wheelchair_accessible=True, step_free=True), unit("plain")]
    refs = [referral("early", referred_on="2026-11-01"),
            referral("wheelchair", referred_on="2026-11-10", risk="high", needs={"wheelchair": True})]
    data = problem(units, refs)
    assert run(data, "greedy") == {"early": "access"}
    assert run(data, "optimal") == {"early": "plain", "wheelchair": "access"}


def test_chain_placing_high_risk_moves_another_household() -> None:
    # a: medium risk, could use x or y; b: high risk, only y (y is a family unit); c: standard, only x.
    # Greedy (a first) gives a y; then b, high risk, is left out. The optimum moves a to x and
    # places b in y; c loses out to a, a higher tier.
    units = [unit("y", bedspaces=3), unit("x", bedspaces=1, accepts_children=False)]
    refs = [
        referral("a", risk="medium", referred_on="2026-11-01"),
        referral("b", risk="high", referred_on="2026-11-05", children=[{"age": 4, "sex": "male"}]),
        referral("c", risk="standard", referred_on="2026-11-06"),
    ]
    data = problem(units, refs)
    assert run(data, "greedy") == {"a": "y", "c": "x"}
    assert run(data, "optimal") == {"a": "x", "b": "y"}


def test_high_risk_never_left_out_to_place_two_standard() -> None:
    # Placing h blocks two standard households (one unit each could take them) - still h goes first.
    units = [unit("u1"), unit("u2", genders=["male"])]
    refs = [referral("h", risk="high"), referral("s1"), referral("s2", adults=[{"gender": "male", "age": 40}])]
    placed = run(problem(units, refs), "optimal")
    assert "h" in placed and len(placed) == 2


def test_longer_wait_wins_within_a_tier() -> None:
    units = [unit("only")]
    refs = [referral("new", referred_on="2026-11-20"), referral("old", referred_on="2026-09-01")]
    assert run(problem(units, refs), "optimal") == {"old": "only"}


def test_large_unit_not_wasted_on_small_household() -> None:
    units = [unit("big", bedspaces=5), unit("small", bedspaces=1)]
    refs = [referral("single")]
    assert run(problem(units, refs), "optimal") == {"single": "small"}
