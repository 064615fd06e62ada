"""Builders of small match problems, and an independent plain-Python reading of the hard rules."""

from __future__ import annotations

import copy
import math
from datetime import date
from typing import Any

AS_OF = "2026-11-22"


def unit(uid: str = "u1", **fields: Any) -> dict[str, Any]:
    """A unit that accepts an ordinary household; override any field."""
    base: dict[str, Any] = {
        "id": uid, "type": "refuge", "authority": "E08000034", "district": "HD1", "lat": 53.65, "lon": -1.78,
        "bedspaces": 3, "genders": ["female"], "accepts_children": True, "max_children": None,
        "max_boy_age": None, "wheelchair_accessible": False, "step_free": False, "pets": False,
        "accepts_nrpf": False, "communal": False, "languages": ["en"], "specialisms": [],
        "specialist_only": False, "available_from": AS_OF,
    }
    base.update(fields)
    return base


def referral(rid: str = "r1", **fields: Any) -> dict[str, Any]:
    """One woman, standard risk, no needs; override any field (needs/safety/preferences merge)."""
    base: dict[str, Any] = {
        "id": rid, "risk": "standard", "referred_on": "2026-11-01", "needed_by": None,
        "adults": [{"gender": "female", "age": 30}], "children": [],
        "needs": {}, "safety": {}, "preferences": {},
    }
    for key, value in fields.items():
        if key in ("needs", "safety", "preferences"):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


def problem(units: list[dict[str, Any]], referrals: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return copy.deepcopy({"as_of": AS_OF, "units": units, "referrals": referrals, **extra})


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance, written out here independently of the optimiser."""
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(h)))


def broken(r: dict[str, Any], u: dict[str, Any], as_of: str = AS_OF) -> set[str]:
    """The hard rules of CONTRACT section 3 that the raw JSON pair breaks (and `separation` for a unit
    of a scheme the referral's safety.exclude_schemes names)."""
    out = set()
    needs, safety, prefs = r.get("needs") or {}, r.get("safety") or {}, r.get("preferences") or {}
    children = r.get("children") or []
    genders = u.get("genders")
    if genders is None:
        genders = ["female", "male", "non_binary"]
    if not all(a["gender"] in genders for a in r["adults"]):
        out.add("gender")
    if len(r["adults"]) + len(children) > u.get("bedspaces", 1):
        out.add("household_size")
    if children:
        if not u.get("accepts_children") or (u.get("max_children") is not None and len(children) > u["max_children"]):
            out.add("children")
    if u.get("max_boy_age") is not None and any(c["sex"] == "male" and c["age"] > u["max_boy_age"] for c in children):
        out.add("boy_age")
    if needs.get("wheelchair") and not u.get("wheelchair_accessible"):
        out.add("wheelchair")
    if needs.get("step_free") and not (u.get("step_free") or u.get("wheelchair_accessible")):
        out.add("step_free")
    if needs.get("pets") and not u.get("pets"):
        out.add("pets")
    if needs.get("assistance_dog") and u.get("no_assistance_dog_reason") is not None:
        out.add("assistance_dog")
    if needs.get("nrpf") and not u.get("accepts_nrpf"):
        out.add("nrpf")
    if needs.get("communal_unsuitable") and u.get("communal"):
        out.add("communal")
    langs = needs.get("languages") or []
    if langs and not needs.get("interpreter_ok") and not set(langs) & set(u.get("languages") or []):
        out.add("language")
    if u.get("specialist_only") and not set(needs.get("specialisms") or []) & set(u.get("specialisms") or []):
        out.add("specialist_only")
    if u.get("authority", "") in (safety.get("exclude_authorities") or []) or u.get("district", "") in (
        safety.get("exclude_districts") or []
    ):
        out.add("excluded_area")
    minimum = safety.get("min_distance_km") or 0
    if minimum > 0 and any(km(p["lat"], p["lon"], u["lat"], u["lon"]) < minimum
                           for p in safety.get("perpetrator_locations") or []):
        out.add("too_close")
    deadline = date.fromisoformat(r.get("needed_by") or as_of)
    if u.get("available_from") and date.fromisoformat(u["available_from"]) > deadline:
        out.add("not_available")
    types = prefs.get("types") or []
    if types and u["type"] not in types:
        out.add("unit_type")
    if (u.get("scheme") or u["id"]) in (safety.get("exclude_schemes") or []):
        out.add("separation")
    return out


def check_result(data: dict[str, Any], result: dict[str, Any]) -> None:
    """Every referral exactly once, every unit at most once, no hard rule or separation link broken."""
    units = {u["id"]: u for u in data["units"]}
    refs = {r["id"]: r for r in data["referrals"]}
    seen = [a["referral"] for a in result["assignments"]] + [x["referral"] for x in result["unassigned"]]
    assert sorted(seen) == sorted(refs), "every referral exactly once"
    used = [a["unit"] for a in result["assignments"]]
    assert len(used) == len(set(used)), "a unit houses at most one household"
    scheme_of = {}
    for a in result["assignments"]:
        u = units[a["unit"]]
        assert broken(refs[a["referral"]], u, data["as_of"]) == set(), (a, broken(refs[a["referral"]], u))
        assert 0.0 <= a["score"] <= 100.0
        scheme_of[a["referral"]] = u.get("scheme") or u["id"]
    for r in data["referrals"]:
        for other in (r.get("safety") or {}).get("separate_from") or []:
            if r["id"] in scheme_of and other in scheme_of and other != r["id"]:  # a self-link means nothing
                assert scheme_of[r["id"]] != scheme_of[other], ("separation", r["id"], other)
