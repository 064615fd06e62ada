"""Bad input is refused with the item and the field named; the CLI exits 2 with one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import optimiser

from .helpers import check_result, problem, referral, unit


def bad(kind: str, index: int, **changes: Any) -> dict[str, Any]:
    data = problem([unit("u1"), unit("u2")], [referral("r1"), referral("r2")])
    target = data[kind][index]
    for path, value in changes.items():
        keys = path.split("__")
        node = target
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node[k]
        last = keys[-1]
        if isinstance(node, list):
            node[int(last)] = value
        elif value is KeyError:
            del node[last]
        else:
            node[last] = value
    return data


CASES = [
    (bad("units", 1, type="castle"), "units[1] (id 'u2')", "type"),
    (bad("units", 0, genders=["female", "other"]), "units[0] (id 'u1')", "genders[1]"),
    (bad("units", 0, specialisms=["knitting"]), "units[0] (id 'u1')", "specialisms[0]"),
    (bad("units", 0, bedspaces=0), "units[0] (id 'u1')", "bedspaces"),
    (bad("units", 0, bedspaces="2"), "units[0] (id 'u1')", "bedspaces"),
    (bad("units", 0, lat=91.0), "units[0] (id 'u1')", "lat"),
    (bad("units", 0, lon=-181), "units[0] (id 'u1')", "lon"),
    (bad("units", 0, pets="yes"), "units[0] (id 'u1')", "pets"),
    (bad("units", 0, available_from="22/11/2026"), "units[0] (id 'u1')", "available_from"),
    (bad("units", 1, id="u1"), "units[1] (id 'u1')", "id"),
    (bad("referrals", 1, risk="extreme"), "referrals[1] (id 'r2')", "risk"),
    (bad("referrals", 1, adults=[]), "referrals[1] (id 'r2')", "adults"),
    (bad("referrals", 0, adults__0__gender="woman"), "referrals[0] (id 'r1')", "adults[0].gender"),
    (bad("referrals", 0, adults__0__age=-1), "referrals[0] (id 'r1')", "adults[0].age"),
    (bad("referrals", 0, children=[{"age": -2, "sex": "female"}]), "referrals[0] (id 'r1')", "children[0].age"),
    (bad("referrals", 0, children=[{"age": 2, "sex": "x"}]), "referrals[0] (id 'r1')", "children[0].sex"),
    (bad("referrals", 0, needs={"specialisms": ["cats"]}), "referrals[0] (id 'r1')", "needs.specialisms[0]"),
    (bad("referrals", 0, needs={"wheelchair": 1}), "referrals[0] (id 'r1')", "needs.wheelchair"),
    (bad("referrals", 0, referred_on="yesterday"), "referrals[0] (id 'r1')", "referred_on"),
    (bad("referrals", 0, referred_on=KeyError), "referrals[0] (id 'r1')", "referred_on"),
    (bad("referrals", 0, safety={"perpetrator_locations": [{"lat": 100, "lon": 0}]}), "referrals[0] (id 'r1')",
     "safety.perpetrator_locations[0].lat"),
    (bad("referrals", 0, preferences={"types": ["tent"]}), "referrals[0] (id 'r1')", "preferences.types[0]"),
    (bad("referrals", 0, preferences={"near": {"lat": 1}}), "referrals[0] (id 'r1')", "preferences.near.lon"),
    (bad("referrals", 0, safety="none"), "referrals[0] (id 'r1')", "safety"),
    (bad("referrals", 1, id="r1"), "referrals[1] (id 'r1')", "id"),
    (bad("referrals", 0, needs={"assistance_dog": "yes"}), "referrals[0] (id 'r1')", "needs.assistance_dog"),
    (bad("units", 1, no_assistance_dog_reason=""), "units[1] (id 'u2')", "no_assistance_dog_reason"),
    (bad("units", 1, no_assistance_dog_reason=True), "units[1] (id 'u2')", "no_assistance_dog_reason"),
    (bad("referrals", 0, safety={"exclude_schemes": "s1"}), "referrals[0] (id 'r1')", "safety.exclude_schemes"),
    (bad("referrals", 0, safety={"exclude_schemes": [""]}), "referrals[0] (id 'r1')", "safety.exclude_schemes[0]"),
    (bad("units", 0, languages=["en", "english"]), "units[0] (id 'u1')", "languages[1]"),
    (bad("referrals", 1, needs={"languages": ["e"]}), "referrals[1] (id 'r2')", "needs.languages[0]"),
]


@pytest.mark.parametrize(("data", "item", "field"), CASES, ids=[f"{c[1]}-{c[2]}" for c in CASES])
def test_refused_with_item_and_field(data: dict[str, Any], item: str, field: str) -> None:
    with pytest.raises(optimiser.ProblemError) as caught:
        optimiser.parse_problem(data)
    assert (caught.value.item, caught.value.field) == (item, field)
    assert item in str(caught.value) and field in str(caught.value)


def test_not_an_object() -> None:
    with pytest.raises(optimiser.ProblemError):
        optimiser.parse_problem([])
    with pytest.raises(optimiser.ProblemError) as caught:
        optimiser.parse_problem({"units": [3]})
    assert caught.value.item == "units[0]"


def test_missing_optional_fields_are_neutral() -> None:
    data = {"as_of": "2026-11-22", "units": [{"id": "u", "type": "dispersed", "lat": 52.0, "lon": -1.0}],
            "referrals": [{"id": "r", "risk": "high", "referred_on": "2026-11-01",
                           "adults": [{"gender": "female", "age": 30}]}]}
    result = optimiser.solve(optimiser.parse_problem(data)).to_dict()
    check_result(data, result)
    assert [a["unit"] for a in result["assignments"]] == ["u"]


def cli(tmp_path: Path, data: Any, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "problem.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    # like the console script
    entry = "import sys; from service.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", entry, "match", "--problem", str(path), *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_cli_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    done = cli(tmp_path, CASES[12][0])
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "referrals[0] (id 'r1')" in lines[0] and "adults[0].gender" in lines[0]
    done = cli(tmp_path, "{not json")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"units":[{"id":"u1","scheme":"s","type":"refuge","lat":1,"lon":0,"authority":"\xff"}]}')
    entry = "import sys; from service.cli import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", entry, "match", "--problem", str(path)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "not valid JSON" in done.stderr and "Traceback" not in done.stderr


def test_cli_good_input_prints_the_result(tmp_path: Path) -> None:
    data = problem([unit("u1"), unit("u2")], [referral("r1"), referral("r2", risk="high"), referral("r3")])
    for strategy in ("optimal", "greedy"):
        done = cli(tmp_path, data, "--strategy", strategy, "--time-limit", "5")
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        check_result(data, result)
        assert len(result["assignments"]) == 2
        assert {"solve_seconds", "feasible_pairs", "parse_seconds"} <= set(result["stats"])


def test_cli_large_result_is_the_same_json(tmp_path: Path) -> None:
    """A large problem read by the fast path and its result written by msgspec: the same document."""
    from optimiser.generate import generate

    data = generate(2100, 60, seed=5)
    done = cli(tmp_path, data, "--strategy", "greedy")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    check_result(data, result)
    in_process = optimiser.solve(optimiser.parse_problem(data), strategy="greedy").to_dict()
    assert result["assignments"] == in_process["assignments"]
    assert result["unassigned"] == in_process["unassigned"]
