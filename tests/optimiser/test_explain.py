"""Explanations: reasons for assignments, rule counts and capacity for the unassigned, rank_units."""

from __future__ import annotations

import ast
from pathlib import Path

import optimiser
from optimiser.generate import generate

from .helpers import broken, check_result, problem, referral, unit


def test_unassigned_counts_each_rule_on_its_own_and_capacity() -> None:
    units = [
        unit("taken1", pets=True), unit("taken2", pets=True),
        unit("small", bedspaces=1),  # household_size for the family
        unit("men", genders=["male"], bedspaces=1),  # gender and household_size
    ]
    refs = [referral("h1", risk="high", needs={"pets": True}), referral("h2", risk="high", needs={"pets": True}),
            referral("fam", risk="medium", children=[{"age": 3, "sex": "female"}])]
    data = problem(units, refs)
    result = optimiser.solve(optimiser.parse_problem(data)).to_dict()
    check_result(data, result)
    assert {a["referral"] for a in result["assignments"]} == {"h1", "h2"}
    (left,) = result["unassigned"]
    # each rule counted independently, checked against the plain-Python rules
    expected = {}
    for u in units:
        for code in broken(refs[2], u):
            expected[code] = expected.get(code, 0) + 1
    got = {r["code"]: r["units_excluded"] for r in left["reasons"]}
    capacity = got.pop("capacity")
    assert got == expected == {"household_size": 2, "gender": 1}
    # the feasible units (taken1, taken2) went to high-risk households
    assert capacity == 2


def test_no_capacity_code_when_nothing_was_feasible() -> None:
    data = problem([unit(bedspaces=1)], [referral(children=[{"age": 1, "sex": "male"}])])
    result = optimiser.solve(optimiser.parse_problem(data)).to_dict()
    assert result["unassigned"][0]["reasons"] == [{"code": "household_size", "units_excluded": 1}]


def test_assignment_reasons_speak_plainly() -> None:
    u = unit(wheelchair_accessible=True, languages=["en", "ur"], lat=51.5, lon=-0.1)
    r = referral(risk="high", referred_on="2026-11-10",
                 needs={"wheelchair": True, "languages": ["ur"]},
                 safety={"perpetrator_locations": [{"lat": 53.65, "lon": -1.78}], "min_distance_km": 50})
    result = optimiser.solve(optimiser.parse_problem(problem([u], [r]))).to_dict()
    (a,) = result["assignments"]
    reasons = a["reasons"]
    assert "wheelchair accessible unit for a wheelchair user" in reasons
    assert "speaks ur" in reasons
    assert "waited 12 days" in reasons
    assert any(x.endswith("km from the perpetrator's known location") for x in reasons)
    assert 0 < a["score"] <= 100


def test_rank_units_best_first_with_exclusions() -> None:
    units = [unit("far", lat=51.5, lon=-0.1), unit("near", lat=53.64, lon=-1.70), unit("tiny", bedspaces=1),
             unit("wheel", wheelchair_accessible=True)]
    r = referral(children=[{"age": 1, "sex": "female"}], preferences={"near": {"lat": 53.64, "lon": -1.70}})
    items, excluded = optimiser.rank_units(optimiser.parse_problem(problem(units, [r])), "r1")
    assert next(i["unit"] for i in items) == "near"
    assert {i["unit"] for i in items} == {"far", "near", "wheel"}
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)
    assert excluded == {"household_size": 1}


def test_generator_is_seeded_and_valid() -> None:
    a, b = generate(60, 120, seed=7), generate(60, 120, seed=7)
    assert a == b and a != generate(60, 120, seed=8)
    parsed = optimiser.parse_problem(a)
    result = optimiser.solve(parsed).to_dict()
    check_result(a, result)
    greedy = optimiser.solve(parsed, strategy="greedy").to_dict()
    check_result(a, greedy)
    assert result["stats"]["placed_by_risk"]["high"] >= greedy["stats"]["placed_by_risk"]["high"]
    assert result["stats"]["placed"] >= greedy["stats"]["placed"]
    assert {u["type"] for u in a["units"]} >= {"refuge", "dispersed"}


ALLOWED = {"numpy", "msgspec", "ortools", "refdata", "optimiser", "__future__"}  # msgspec: the schema (issue 9)


def test_optimiser_imports_only_stdlib_numpy_ortools() -> None:
    import sys

    root = Path(optimiser.__file__).parent
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in ALLOWED or top in sys.stdlib_module_names, (path.name, name)
                if top == "refdata":
                    assert path.name == "generate.py", path.name
