"""The comparison point of issue 3: a plain script, dense feasibility matrix + scipy linear_sum_assignment.

    python -m service.bench.scipy_baseline PROBLEM.json   -> one JSON line: placed, placed_by_risk, seconds

Hard rules as in CONTRACT section 3, written the obvious way (one referral x unit matrix per rule),
then one dense assignment with tier weights (high 1e6, medium 1e3, standard 1) and no fit score.
The separation rule is not modelled (the dense assignment cannot express it).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date

import numpy as np
from scipy.optimize import linear_sum_assignment

R_KM = 6371.0088
GENDERS = ("female", "male", "non_binary")
TYPES = ("refuge", "specialist_refuge", "dispersed", "move_on", "other_safe")


def main(path: str) -> int:
    started = time.perf_counter()
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    as_of = date.fromisoformat(data["as_of"]).toordinal()
    units, refs = data["units"], data["referrals"]
    nu, nr = len(units), len(refs)

    def ucol(key: str, default: object, dtype: type = float) -> np.ndarray:
        return np.array([u.get(key, default) if u.get(key) is not None else default for u in units], dtype=dtype)

    beds = ucol("bedspaces", 1, int)
    acc_children = ucol("accepts_children", False, bool)
    max_children = ucol("max_children", 10**6, int)
    max_boy = ucol("max_boy_age", 10**6, int)
    wheel = ucol("wheelchair_accessible", False, bool)
    step = ucol("step_free", False, bool) | wheel
    pets = ucol("pets", False, bool)
    nrpf = ucol("accepts_nrpf", False, bool)
    communal = ucol("communal", False, bool)
    spec_only = ucol("specialist_only", False, bool)
    avail = np.array([date.fromisoformat(u["available_from"]).toordinal() if u.get("available_from") else 0
                      for u in units])
    ulat, ulon = np.radians(ucol("lat", 0.0)), np.radians(ucol("lon", 0.0))
    ugender = np.array([[g in (u.get("genders") or GENDERS) for g in GENDERS] for u in units])
    codes = sorted({c for u in units for c in u.get("languages") or []})
    ulang = np.array([[c in (u.get("languages") or []) for c in codes] for u in units]).reshape(nu, len(codes))
    specs_all = sorted({s for u in units for s in u.get("specialisms") or []})
    uspec = np.array([[s in (u.get("specialisms") or []) for s in specs_all] for u in units]).reshape(nu, -1)
    utype = np.array([TYPES.index(u["type"]) for u in units])
    auths = sorted({u.get("authority") or "" for u in units})
    dists = sorted({u.get("district") or "" for u in units})
    uauth = np.array([auths.index(u.get("authority") or "") for u in units])
    udist = np.array([dists.index(u.get("district") or "") for u in units])

    def rcol(get: object, dtype: type = bool) -> np.ndarray:
        return np.array([get(r) for r in refs], dtype=dtype)  # type: ignore[operator]

    needs = [r.get("needs") or {} for r in refs]
    safety = [r.get("safety") or {} for r in refs]
    prefs = [r.get("preferences") or {} for r in refs]
    rgender = np.array([[any(a["gender"] == g for a in r["adults"]) for g in GENDERS] for r in refs])
    nchild = rcol(lambda r: len(r.get("children") or []), int)
    size = rcol(lambda r: len(r["adults"]), int) + nchild
    boy = rcol(lambda r: max([c["age"] for c in r.get("children") or [] if c["sex"] == "male"], default=-1), int)
    rlang = np.array([[c in (n.get("languages") or []) for c in codes] for n in needs]).reshape(nr, len(codes))
    lang_need = np.array([bool(n.get("languages")) and not n.get("interpreter_ok") for n in needs])
    rspec = np.array([[s in (n.get("specialisms") or []) for s in specs_all] for n in needs]).reshape(nr, -1)
    rtypes = np.array([[not p.get("types") or t in p["types"] for t in TYPES] for p in prefs])
    rauth = np.array([[a in (s.get("exclude_authorities") or []) for a in auths] for s in safety])
    rdist = np.array([[d in (s.get("exclude_districts") or []) for d in dists] for s in safety])
    deadline = np.array([date.fromisoformat(r["needed_by"]).toordinal() if r.get("needed_by") else as_of
                         for r in refs])
    ok = ~(rgender[:, None, :] & ~ugender[None, :, :]).any(axis=2)
    ok &= size[:, None] <= beds[None, :]
    ok &= (nchild[:, None] == 0) | (acc_children[None, :] & (nchild[:, None] <= max_children[None, :]))
    ok &= boy[:, None] <= max_boy[None, :]
    for key, cap in (("wheelchair", wheel), ("step_free", step), ("pets", pets), ("nrpf", nrpf)):
        ok &= ~np.array([bool(n.get(key)) for n in needs])[:, None] | cap[None, :]
    ok &= ~(np.array([bool(n.get("communal_unsuitable")) for n in needs])[:, None] & communal[None, :])
    ok &= ~lang_need[:, None] | (rlang.astype(np.float32) @ ulang.T.astype(np.float32) > 0)
    ok &= ~spec_only[None, :] | (rspec.astype(np.float32) @ uspec.T.astype(np.float32) > 0)
    ok &= ~rauth[:, uauth] & ~rdist[:, udist]
    ok &= avail[None, :] <= deadline[:, None]
    ok &= rtypes[:, utype]
    most = max([len(s.get("perpetrator_locations") or []) for s in safety], default=0)
    min_km = np.array([s.get("min_distance_km") or 0.0 for s in safety])
    for k in range(most):
        has = np.array([len(s.get("perpetrator_locations") or []) > k for s in safety]) & (min_km > 0)
        origin = {"lat": 0.0, "lon": 0.0}
        pts = [s["perpetrator_locations"][k] if h else origin for s, h in zip(safety, has, strict=True)]
        plat = np.radians(np.array([p["lat"] for p in pts]))[:, None]
        plon = np.radians(np.array([p["lon"] for p in pts]))[:, None]
        h = np.sin((ulat - plat) / 2) ** 2 + np.cos(plat) * np.cos(ulat) * np.sin((ulon - plon) / 2) ** 2
        ok &= ~has[:, None] | (2 * R_KM * np.arcsin(np.sqrt(h)) >= min_km[:, None])
    feasibility_done = time.perf_counter()
    tier = np.array([{"high": 1e6, "medium": 1e3, "standard": 1.0}[r["risk"]] for r in refs])
    weights = np.where(ok, tier[:, None], 0.0)
    rows, cols = linear_sum_assignment(weights, maximize=True)
    placed = ok[rows, cols]
    risks = np.array([r["risk"] for r in refs])[rows[placed]]
    done = time.perf_counter()
    print(json.dumps({
        "feasible_pairs": int(ok.sum()),
        "placed": int(placed.sum()),
        "placed_by_risk": {k: int((risks == k).sum()) for k in ("high", "medium", "standard")},
        "feasibility_seconds": round(feasibility_done - started, 3),
        "solve_seconds": round(done - feasibility_done, 3),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
