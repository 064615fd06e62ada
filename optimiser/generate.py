"""A seeded synthetic match problem (CONTRACT section 3) shaped like England's safe accommodation.

Units sit in real postcode districts of real councils (`refdata`): refuges and specialist refuges
with several rooms per scheme (rooms of one refuge share its rules), dispersed flats and move-on
units one per scheme. Referrals mix risk levels, household shapes (children, boys' ages), needs
(access, pets, NRPF, languages, specialist support), perpetrator locations with a minimum
distance, excluded home areas and a few separation links between households.

With the defaults and seed 1, 2,000 referrals x 10,000 units give 3.4 million feasible pairs
(unit level) and 10,000 x 3,000 give 5.1 million (issue 3: about 3 and 5 million).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import refdata

LANGUAGES = ("ur", "pl", "pa", "bn", "ar", "so", "ro", "ps", "ku", "ti", "fa", "pt")


def _districts() -> list[tuple[str, str, float, float]]:
    return [(d["district"], d["authority"], float(d["lat"]), float(d["lon"]))
            for d in refdata.rows("districts") if d["authority"]]


def generate(
    n_referrals: int,
    n_units: int,
    seed: int = 0,
    as_of: dt.date = dt.date(2026, 11, 22),
    link_share: float = 0.01,
) -> dict[str, Any]:
    """A JSON-ready match problem with `n_referrals` households and `n_units` units."""
    rnd = random.Random(seed)
    districts = _districts()
    units: list[dict[str, Any]] = []
    scheme_no = 0
    while len(units) < n_units:
        scheme_no += 1
        district, authority, lat, lon = rnd.choice(districts)
        lat += rnd.uniform(-0.02, 0.02)
        lon += rnd.uniform(-0.03, 0.03)
        kind = rnd.random()
        if kind < 0.45:
            unit_type, rooms = "refuge", rnd.randint(4, 12)
        elif kind < 0.55:
            unit_type, rooms = "specialist_refuge", rnd.randint(3, 8)
        elif kind < 0.85:
            unit_type, rooms = "dispersed", 1
        elif kind < 0.95:
            unit_type, rooms = "move_on", rnd.randint(1, 4)
        else:
            unit_type, rooms = "other_safe", 1
        communal = unit_type in ("refuge", "specialist_refuge") and rnd.random() < 0.8
        specialisms: list[str] = []
        specialist_only = False
        genders = ["female"]
        if unit_type == "specialist_refuge":
            specialisms = rnd.sample(["lgbtq", "minoritised", "disability", "complex_needs", "young_people",
                                      "older_people", "male"], rnd.randint(1, 2))
            specialist_only = rnd.random() < 0.7
            if "male" in specialisms:
                genders = ["male"]
            elif "lgbtq" in specialisms:
                genders = ["female", "male", "non_binary"]
        elif rnd.random() < 0.15:
            genders = ["female", "non_binary"]
        elif unit_type != "refuge" and rnd.random() < 0.1:
            genders = ["female", "male", "non_binary"]
        accepts_children = rnd.random() < (0.65 if unit_type != "specialist_refuge" else 0.5)
        scheme = {
            "scheme": f"s{scheme_no}",
            "type": unit_type,
            "authority": authority,
            "district": district,
            "lat": round(lat, 5),
            "lon": round(lon, 5),
            "genders": genders,
            "accepts_children": accepts_children,
            "max_children": rnd.choice([None, 2, 3, 4]) if accepts_children else None,
            "max_boy_age": rnd.choice([None, None, 12, 14, 16]) if accepts_children and communal else None,
            "pets": rnd.random() < (0.05 if communal else 0.25),
            "accepts_nrpf": rnd.random() < 0.4,
            "communal": communal,
            "languages": ["en", *rnd.sample(LANGUAGES, rnd.choice([0, 0, 1, 2]))],
            "specialisms": specialisms,
            "specialist_only": specialist_only,
        }
        base_beds = rnd.choice([1, 1, 2, 3, 4]) if unit_type in ("refuge", "specialist_refuge") else 0
        for room in range(rooms):
            if len(units) >= n_units:
                break
            accessible = rnd.random() < 0.08
            beds = base_beds if base_beds and rnd.random() < 0.7 else rnd.choice([1, 2, 3, 4, 5])
            available = as_of + dt.timedelta(days=rnd.choice([0, 0, 0, -3, -10, 3, 7, 14, 30]))
            units.append({
                "id": f"u{len(units) + 1}",
                **scheme,
                "bedspaces": beds,
                "wheelchair_accessible": accessible,
                "step_free": accessible or rnd.random() < 0.2,
                "available_from": available.isoformat(),
                "label": f"room {room + 1}",
            })
        # rooms of one refuge mostly share everything but id, which is what makes them one class
    referrals: list[dict[str, Any]] = []
    for i in range(n_referrals):
        district, authority, lat, lon = rnd.choice(districts)
        g = rnd.random()
        gender = "female" if g < 0.93 else ("male" if g < 0.98 else "non_binary")
        adults = [{"gender": gender, "age": rnd.randint(17, 75)}]
        if rnd.random() < 0.03:
            adults.append({"gender": "female", "age": rnd.randint(18, 80)})
        children = [{"age": rnd.randint(0, 17), "sex": rnd.choice(["female", "male"])}
                    for _ in range(rnd.choice([0, 0, 0, 1, 1, 2, 2, 3, 4]))]
        language = rnd.random() < 0.2
        risk = rnd.choices(["high", "medium", "standard"], [0.3, 0.4, 0.3])[0]
        min_distance = 0.0 if rnd.random() < 0.2 else float(rnd.choice([10, 20, 30, 50, 80, 120]))
        spec = rnd.random() < 0.12
        referred = as_of - dt.timedelta(days=rnd.randint(0, 120))
        referral: dict[str, Any] = {
            "id": f"r{i + 1}",
            "risk": risk,
            "referred_on": referred.isoformat(),
            "needed_by": None if rnd.random() < 0.8 else (as_of + dt.timedelta(days=rnd.randint(0, 14))).isoformat(),
            "adults": adults,
            "children": children,
            "needs": {
                "wheelchair": rnd.random() < 0.03,
                "step_free": rnd.random() < 0.07,
                "pets": rnd.random() < 0.05,
                "nrpf": rnd.random() < 0.1,
                "communal_unsuitable": rnd.random() < 0.1,
                "languages": [rnd.choice(LANGUAGES)] if language else [],
                "interpreter_ok": language and rnd.random() < 0.6,
                "specialisms": rnd.sample(["lgbtq", "minoritised", "disability", "complex_needs", "young_people",
                                           "older_people"], 1) if spec else (["male"] if gender == "male" else []),
            },
            "safety": {
                "exclude_authorities": [authority] if rnd.random() < 0.5 else [],
                "exclude_districts": [district] if rnd.random() < 0.3 else [],
                "perpetrator_locations": [{"lat": round(lat + rnd.uniform(-0.05, 0.05), 5),
                                           "lon": round(lon + rnd.uniform(-0.05, 0.05), 5)}]
                if min_distance else [],
                "min_distance_km": min_distance,
                "separate_from": [],
            },
            "preferences": {
                "types": ["refuge", "specialist_refuge"] if rnd.random() < 0.1 else [],
                "near": {"lat": lat, "lon": lon} if rnd.random() < 0.1 else None,
            },
        }
        referrals.append(referral)
    # a few households linked to one perpetrator: same location, told to keep apart
    for _ in range(int(n_referrals * link_share)):
        a, b = rnd.sample(referrals, 2)
        a["safety"]["separate_from"].append(b["id"])
        if a["safety"]["perpetrator_locations"]:
            b["safety"]["perpetrator_locations"] = list(a["safety"]["perpetrator_locations"])
            b["safety"]["min_distance_km"] = a["safety"]["min_distance_km"]
    return {"as_of": as_of.isoformat(), "units": units, "referrals": referrals}
