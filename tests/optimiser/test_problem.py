"""One schema, two ways in: JSON bytes (`safeaccom match`) and parsed data (the API, match runs)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimiser
from optimiser.generate import generate

from .helpers import problem, referral, unit
from .test_bad_input import CASES
from .test_properties import problems


def both(data: Any) -> tuple[optimiser.Problem, optimiser.Problem]:
    return optimiser.read_problem(json.dumps(data).encode()), optimiser.parse_problem(data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=problems(links=True))
def test_bytes_and_data_read_the_same_problem(data: dict[str, Any]) -> None:
    from_bytes, from_data = both(data)
    assert from_bytes == from_data


OPTIONAL_UNIT = ["scheme", "authority", "district", "bedspaces", "genders", "accepts_children", "max_children",
                 "max_boy_age", "wheelchair_accessible", "step_free", "pets", "accepts_nrpf", "communal", "languages",
                 "specialisms", "specialist_only", "available_from"]
OPTIONAL_REFERRAL = ["needed_by", "children", "needs", "safety", "preferences"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=problems(links=True), st_data=st.data())
def test_a_null_optional_field_reads_as_missing(data: dict[str, Any], st_data: st.DataObject) -> None:
    nulls, missing = copy.deepcopy(data), copy.deepcopy(data)
    for kind, names in (("units", OPTIONAL_UNIT), ("referrals", OPTIONAL_REFERRAL)):
        for a, b in zip(nulls[kind], missing[kind], strict=True):
            for name in st_data.draw(st.lists(st.sampled_from(names), unique=True)):
                a[name] = None
                del b[name]
    assert both(nulls) == both(missing)


def test_generated_problems_read_the_same_both_ways() -> None:
    data = generate(300, 500, seed=2)
    from_bytes, from_data = both(data)
    assert from_bytes == from_data and len(from_bytes.referrals) == 300


def test_normalised_on_the_way_in() -> None:
    data = {"as_of": "2026-11-22", "weights": {"distance": 3},
            "units": [{"id": "u1", "type": "refuge", "authority": "E08000034", "district": "hd1",
                       "lat": 53, "lon": -2, "languages": ["UR", "en", "bfi"], "genders": []}],
            "referrals": [{"id": "r1", "risk": "high", "referred_on": "2026-11-01",
                           "adults": [{"gender": "female", "age": 30}],
                           "needs": {"languages": ["PL", "syl"]},
                           "safety": {"exclude_districts": ["wf1"], "perpetrator_locations": [{"lat": 53, "lon": -1}],
                                      "min_distance_km": 20},
                           "preferences": {"near": {"lat": 53.5, "lon": -1.5}}}]}
    parsed, _ = both(data)
    u, r = parsed.units[0], parsed.referrals[0]
    assert u.scheme == "u1"  # no scheme: the unit is its own
    assert u.district == "HD1" and u.languages == ("ur", "en", "bfi") and u.genders == ()
    assert r.needs.languages == ("pl", "syl") and r.safety.exclude_districts == ("WF1",)
    assert parsed.weights == {"distance": 3.0}
    assert optimiser.parse_problem({"units": None, "referrals": None}).units == ()


@pytest.mark.parametrize(("data", "item", "field"), CASES, ids=[f"{c[1]}-{c[2]}" for c in CASES])
def test_bytes_name_the_same_item_and_field(data: dict[str, Any], item: str, field: str) -> None:
    with pytest.raises(optimiser.ProblemError) as caught:
        optimiser.read_problem(json.dumps(data).encode())
    assert (caught.value.item, caught.value.field) == (item, field)


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"type": "castle"}, "type", "unknown value 'castle' (allowed: refuge,"),
    ({"bedspaces": 0}, "bedspaces", "got 0"),
    ({"available_from": "22/11/2026"}, "available_from", "not a date YYYY-MM-DD"),
    ({"languages": ["english"]}, "languages[0]", "ISO 639-1 or ISO 639-3"),
])
def test_messages_say_what_is_wrong(changes: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(optimiser.ProblemError) as caught:
        optimiser.parse_problem(problem([unit("u1", **changes)], [referral("r1")]))
    assert caught.value.field == field and words in caught.value.message


def test_not_json() -> None:
    for raw in (b"{not json", b'{"units":[{"id":"u1","type":"refuge","lat":1,"lon":0,"authority":"\xff"}]}'):
        with pytest.raises(optimiser.ProblemError) as caught:
            optimiser.read_problem(raw)
        assert (caught.value.item, caught.value.field) == ("problem", "")
        assert caught.value.message.startswith("not valid JSON")
