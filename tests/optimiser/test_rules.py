"""One test per hard rule, each with its boundary (equal ages, sizes, dates, distances pass)."""

from __future__ import annotations

from typing import Any

import pytest

import optimiser
from optimiser.feasibility import haversine_km

from .helpers import broken, check_result, problem, referral, unit

HOME = (53.65, -1.78)
FAR = haversine_km(HOME[0], HOME[1], 53.65, -1.78 + 1.0)  # the unit one degree of longitude east

# (rule, unit fields, referral fields that break it, referral fields exactly at the boundary that pass)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any] | None]] = [
    ("gender", {"genders": ["female"]}, {"adults": [{"gender": "female", "age": 30}, {"gender": "male", "age": 31}]},
     None),
    ("household_size", {"bedspaces": 2},
     {"children": [{"age": 3, "sex": "female"}, {"age": 5, "sex": "female"}]},
     {"children": [{"age": 3, "sex": "female"}]}),
    ("children", {"accepts_children": True, "max_children": 2, "bedspaces": 6},
     {"children": [{"age": 3, "sex": "female"}] * 3}, {"children": [{"age": 3, "sex": "female"}] * 2}),
    ("children", {"accepts_children": False, "bedspaces": 6}, {"children": [{"age": 3, "sex": "female"}]}, None),
    ("boy_age", {"max_boy_age": 12}, {"children": [{"age": 13, "sex": "male"}]},
     {"children": [{"age": 12, "sex": "male"}, {"age": 16, "sex": "female"}]}),
    ("wheelchair", {"step_free": True}, {"needs": {"wheelchair": True}}, None),
    ("step_free", {}, {"needs": {"step_free": True}}, None),
    ("pets", {}, {"needs": {"pets": True}}, None),
    ("assistance_dog", {"no_assistance_dog_reason": "a resident's severe allergy"},
     {"needs": {"assistance_dog": True}}, {"needs": {"assistance_dog": False}}),
    ("nrpf", {}, {"needs": {"nrpf": True}}, None),
    ("communal", {"communal": True}, {"needs": {"communal_unsuitable": True}}, None),
    ("language", {"languages": ["en", "pl"]}, {"needs": {"languages": ["ur"]}},
     {"needs": {"languages": ["ur"], "interpreter_ok": True}}),
    ("specialist_only", {"specialist_only": True, "specialisms": ["lgbtq"]}, {"needs": {"specialisms": ["disability"]}},
     {"needs": {"specialisms": ["disability", "lgbtq"]}}),
    ("excluded_area", {"authority": "E08000034"}, {"safety": {"exclude_authorities": ["E08000034"]}},
     {"safety": {"exclude_authorities": ["E08000035"]}}),
    ("excluded_area", {"district": "HD1"}, {"safety": {"exclude_districts": ["HD1"]}}, None),
    ("too_close", {"lat": 53.65, "lon": -0.78},
     {"safety": {"perpetrator_locations": [{"lat": HOME[0], "lon": HOME[1]}], "min_distance_km": FAR + 0.001}},
     {"safety": {"perpetrator_locations": [{"lat": HOME[0], "lon": HOME[1]}], "min_distance_km": FAR}}),
    ("not_available", {"available_from": "2026-11-23"}, {},
     {"needed_by": "2026-11-23"}),
    ("unit_type", {"type": "dispersed"}, {"preferences": {"types": ["refuge"]}},
     {"preferences": {"types": ["refuge", "dispersed"]}}),
    # a linked household outside the problem lives in scheme s1 (the contract's pair rule)
    ("separation", {"scheme": "s1"}, {"safety": {"exclude_schemes": ["s1"]}},
     {"safety": {"exclude_schemes": ["s2"]}}),
]


@pytest.mark.parametrize(("code", "unit_fields", "breaking", "boundary"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_and_boundary(code: str, unit_fields: dict[str, Any], breaking: dict[str, Any],
                           boundary: dict[str, Any] | None) -> None:
    u = unit(**unit_fields)
    data = problem([u], [referral("r1", **breaking)])
    assert broken(data["referrals"][0], u) == {code}  # the case breaks this rule alone
    result = optimiser.solve(optimiser.parse_problem(data)).to_dict()
    check_result(data, result)
    assert result["assignments"] == []
    assert {"code": code, "units_excluded": 1} in result["unassigned"][0]["reasons"]
    parsed = optimiser.parse_problem(data)
    assert optimiser.rules_broken(parsed.referrals[0], parsed.units[0], parsed.as_of) == [code]
    if boundary is not None:
        data = problem([u], [referral("r1", **boundary)])
        result = optimiser.solve(optimiser.parse_problem(data)).to_dict()
        check_result(data, result)
        assert [a["unit"] for a in result["assignments"]] == ["u1"]


def test_equal_age_and_size_boundaries_pass() -> None:
    u = unit(bedspaces=3, max_children=2, max_boy_age=14)
    r = referral(children=[{"age": 14, "sex": "male"}, {"age": 14, "sex": "male"}])
    result = optimiser.solve(optimiser.parse_problem(problem([u], [r]))).to_dict()
    assert [a["unit"] for a in result["assignments"]] == ["u1"]


def test_step_free_need_met_by_wheelchair_unit() -> None:
    u = unit(wheelchair_accessible=True, step_free=False)
    result = optimiser.solve(optimiser.parse_problem(problem([u], [referral(needs={"step_free": True})]))).to_dict()
    assert len(result["assignments"]) == 1


def test_available_on_as_of_when_no_needed_by() -> None:
    data = problem([unit(available_from="2026-11-22"), unit("u2", available_from="2026-11-23")], [referral()])
    result = optimiser.solve(optimiser.parse_problem(data)).to_dict()
    assert [a["unit"] for a in result["assignments"]] == ["u1"]


def test_every_perpetrator_location_counts() -> None:
    u = unit(lat=53.65, lon=-0.78)
    safety = {"perpetrator_locations": [{"lat": 51.5, "lon": -0.1}, {"lat": 53.65, "lon": -0.80}],
              "min_distance_km": 5}
    result = optimiser.solve(optimiser.parse_problem(problem([u], [referral(safety=safety)]))).to_dict()
    assert result["unassigned"][0]["reasons"] == [{"code": "too_close", "units_excluded": 1}]


def test_an_assistance_dog_is_not_a_pet() -> None:
    """A unit that takes no pets still takes an assistance dog unless it documents why not."""
    units = [unit("u1", pets=False), unit("u2", pets=False, no_assistance_dog_reason="resident's allergy")]
    dog = referral("r1", needs={"assistance_dog": True})
    data = problem(units, [dog, referral("r2", needs={"assistance_dog": True, "pets": True})])
    result = optimiser.solve(optimiser.parse_problem(data)).to_dict()
    check_result(data, result)
    assert [(a["referral"], a["unit"]) for a in result["assignments"]] == [("r1", "u1")]
    assert "assistance dog welcome" in result["assignments"][0]["reasons"]
    assert result["unassigned"] == [{"referral": "r2", "reasons": [
        {"code": "pets", "units_excluded": 2}, {"code": "assistance_dog", "units_excluded": 1}]}]


def test_excluded_schemes_count_under_separation_with_linked_households() -> None:
    """Units of an excluded scheme and units next to a linked household placed in this run: both separation."""
    units = [unit("u1", scheme="s1"), unit("u2", scheme="s1"), unit("u3", scheme="s2")]
    refs = [referral("r1", risk="high", safety={"separate_from": ["r2"], "exclude_schemes": ["s2"]}),
            referral("r2", safety={"exclude_schemes": ["s2"]})]
    data = problem(units, refs)
    result = optimiser.solve(optimiser.parse_problem(data)).to_dict()
    check_result(data, result)
    assert result["status"] == "optimal"
    assert [a["referral"] for a in result["assignments"]] == ["r1"]
    # r2: u3 by its excluded scheme, u1 and u2 because r1 (linked) is in s1
    assert result["unassigned"] == [{"referral": "r2", "reasons": [{"code": "separation", "units_excluded": 3}]}]


def test_excluded_schemes_keep_the_tier_guarantee() -> None:
    """Excluded schemes are a rule of single pairs: the high-risk household takes the only unit it may
    have, and the standard one is placed elsewhere."""
    units = [unit("u1", scheme="s1"), unit("u2", scheme="s2")]
    refs = [referral("r1", safety={"exclude_schemes": []}),
            referral("r2", risk="high", safety={"exclude_schemes": ["s2"]})]
    result = optimiser.solve(optimiser.parse_problem(problem(units, refs))).to_dict()
    assert sorted((a["referral"], a["unit"]) for a in result["assignments"]) == [("r1", "u2"), ("r2", "u1")]
    ranked, excluded = optimiser.rank_units(optimiser.parse_problem(problem(units, refs)), "r2")
    assert [item["unit"] for item in ranked] == ["u1"] and excluded == {"separation": 1}


def test_no_units_at_all() -> None:
    result = optimiser.solve(optimiser.parse_problem(problem([], [referral("r1"), referral("r2")]))).to_dict()
    assert result["unassigned"] == [{"referral": r, "reasons": [{"code": "no_units", "units_excluded": 0}]}
                                    for r in ("r1", "r2")]
    greedy = optimiser.solve(optimiser.parse_problem(problem([], [referral("r1")])), strategy="greedy").to_dict()
    assert greedy["unassigned"][0]["reasons"] == [{"code": "no_units", "units_excluded": 0}]


@pytest.mark.parametrize("code", ["bfi", "syl", "phr"])
def test_three_letter_language_codes_match_exactly(code: str) -> None:
    units = [unit("u1", languages=["en"]), unit("u2", languages=[code.upper()])]
    data = problem(units, [referral(needs={"languages": [code]})])
    result = optimiser.solve(optimiser.parse_problem(data)).to_dict()
    assert [a["unit"] for a in result["assignments"]] == ["u2"]
    assert f"speaks {code}" in result["assignments"][0]["reasons"]
    # an ISO 639-1 code does not stand in for its ISO 639-3 code: "en" is not "eng"
    data = problem([unit("u1", languages=["en"])], [referral(needs={"languages": ["eng"]})])
    result = optimiser.solve(optimiser.parse_problem(data)).to_dict()
    assert result["unassigned"][0]["reasons"] == [{"code": "language", "units_excluded": 1}]
