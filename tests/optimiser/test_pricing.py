"""Pricing rounds (the path of large problems) against one flow over every pair, on generated problems."""

from __future__ import annotations

import sys
from unittest import mock

import pytest

import optimiser
from optimiser.generate import generate


@pytest.mark.parametrize(("n_referrals", "n_units"), [(300, 1200), (1200, 400)], ids=["rooms-plenty", "rooms-scarce"])
def test_pricing_rounds_reach_the_same_optimum_as_one_flow(n_referrals: int, n_units: int) -> None:
    data = generate(n_referrals, n_units, seed=7, link_share=0.0)
    one_flow = optimiser.solve(optimiser.parse_problem(data)).to_dict()
    assert one_flow["stats"]["full_flows"] == 1
    with mock.patch.object(sys.modules["optimiser.solve"], "SPARSE_FROM", 0):
        priced = optimiser.solve(optimiser.parse_problem(data)).to_dict()
    stats = priced["stats"]
    assert priced["status"] == "optimal"
    assert stats["full_flows"] == 0  # the dual of the last round proved optimality
    assert stats["flow_arcs"] < one_flow["stats"]["flow_arcs"] / 2
    for key in ("placed", "placed_by_risk"):
        assert stats[key] == one_flow["stats"][key]
    # the same integer fit total (assignments may differ where fits tie); a reported score differs
    # from its integer fit units by at most 0.05
    assert stats["total_score"] == pytest.approx(one_flow["stats"]["total_score"], abs=0.05 * stats["placed"])
