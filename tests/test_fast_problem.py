"""The fast path for reading problems (msgspec) against optimiser.parse_problem, the definition."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings

import optimiser
from optimiser.generate import generate
from service.fast_problem import decode_problem
from tests.optimiser.test_bad_input import CASES
from tests.optimiser.test_properties import problems


def both(data: Any) -> tuple[optimiser.Problem | None, optimiser.Problem]:
    return decode_problem(json.dumps(data).encode()), optimiser.parse_problem(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=problems(links=True))
def test_when_the_fast_path_answers_it_gives_the_parsers_problem(data: dict[str, Any]) -> None:
    fast, parsed = both(data)
    event(f"fast path answered: {fast is not None}")
    if fast is not None:
        assert fast == parsed


def test_generated_problems_take_the_fast_path() -> None:
    data = generate(300, 500, seed=2)
    fast, parsed = both(data)
    assert fast is not None and fast == parsed


def test_normalised_as_the_parser_does() -> None:
    data = {"as_of": "2026-11-22", "weights": {"distance": 3},
            "units": [{"id": "u1", "scheme": "s1", "type": "refuge", "authority": "E08000034", "district": "hd1",
                       "lat": 53, "lon": -2, "languages": ["UR", "en"], "genders": []}],
            "referrals": [{"id": "r1", "risk": "high", "referred_on": "2026-11-01",
                           "adults": [{"gender": "female", "age": 30}],
                           "needs": {"languages": ["PL"]},
                           "safety": {"exclude_districts": ["wf1"], "perpetrator_locations": [{"lat": 53, "lon": -1}],
                                      "min_distance_km": 20},
                           "preferences": {"near": {"lat": 53.5, "lon": -1.5}}}]}
    fast, parsed = both(data)
    assert fast is not None and fast == parsed
    assert fast.units[0].district == "HD1" and fast.units[0].languages == ("ur", "en") and fast.units[0].genders == ()
    assert fast.referrals[0].safety.exclude_districts == ("WF1",)


@pytest.mark.parametrize(("data", "item", "field"), CASES, ids=[f"{c[1]}-{c[2]}" for c in CASES])
def test_bad_input_never_takes_the_fast_path(data: dict[str, Any], item: str, field: str) -> None:
    assert decode_problem(json.dumps(data).encode()) is None


@pytest.mark.parametrize("odd", [
    {"units": [{"id": "u1", "type": "refuge", "lat": 53, "lon": -2}], "referrals": []},  # no scheme: the unit's id
    {"units": [], "referrals": None},  # null lists are empty
    {"units": [], "referrals": [{"id": "r1", "risk": "low", "referred_on": "2026-11-01",
                                  "adults": [{"gender": "female", "age": 30}]}]},  # bad risk
    {"units": [{"id": "u1", "scheme": "s", "type": "refuge", "lat": 53, "lon": -2, "bedspaces": True}]},
    [1, 2],
])
def test_anything_odd_goes_to_the_parser(odd: Any) -> None:
    assert decode_problem(json.dumps(odd).encode()) is None


def test_bytes_that_are_not_utf8_go_to_the_parser() -> None:
    raw = b'{"units":[{"id":"u1","scheme":"s","type":"refuge","lat":1,"lon":0,"authority":"\xff"}]}'
    assert decode_problem(raw) is None
