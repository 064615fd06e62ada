"""Reasons: why each household got its unit, and what kept each unassigned household out.

For an unassigned referral every hard rule is counted on its own: how many units that rule alone
rules out (a unit can be counted under several rules). Then, when some units were feasible:
`separation`, the feasible units in schemes that host a household it must be kept apart from, and
`capacity`, the other feasible units, which all went to households of equal or higher priority
(same or higher risk tier for the optimal strategy; earlier in the queue for greedy).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optimiser.feasibility import RULES, Index, IntArray, chunks, haversine_km, rule_pass
from optimiser.problem import Referral, Unit


@dataclass
class Result:
    """The answer of CONTRACT section 3."""

    status: str
    assignments: list[dict[str, Any]]
    unassigned: list[dict[str, Any]]
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready result document."""
        return {"status": self.status, "assignments": self.assignments, "unassigned": self.unassigned,
                "stats": self.stats}


def assignment_reasons(referral: Referral, unit: Unit, as_of: dt.date) -> list[str]:
    """Plain-English reasons for placing `referral` in `unit`."""
    n = referral.needs
    out = [f"{referral.risk} risk"]
    if n.wheelchair:
        out.append("wheelchair accessible unit for a wheelchair user")
    elif n.step_free:
        out.append("step-free access as needed")
    shared = [code for code in n.languages if code in unit.languages]
    if shared:
        out.append("speaks " + ", ".join(shared))
    elif n.languages:
        out.append("interpreter for " + ", ".join(n.languages))
    spec = [s for s in n.specialisms if s in unit.specialisms]
    if spec:
        out.append("specialist support: " + ", ".join(spec))
    if n.pets:
        out.append("pets accepted")
    if n.nrpf:
        out.append("accepts no recourse to public funds")
    if n.communal_unsuitable:
        out.append("self-contained, not communal")
    locations = referral.safety.perpetrator_locations
    if locations:
        km = min(haversine_km(lat, lon, unit.lat, unit.lon) for lat, lon in locations)
        out.append(f"{km:.0f} km from the perpetrator's known location")
    if referral.preferences.near is not None:
        km = haversine_km(*referral.preferences.near, unit.lat, unit.lon)
        out.append(f"{km:.0f} km from the place asked for")
    waited = (as_of - referral.referred_on).days
    if waited > 0:
        out.append(f"waited {waited} day{'s' if waited != 1 else ''}")
    out.append(f"{unit.bedspaces} bedspace{'s' if unit.bedspaces != 1 else ''} "
               f"for a household of {referral.size}")
    if unit.available_from is not None and unit.available_from > as_of:
        out.append(f"available from {unit.available_from.isoformat()}")
    return out


def rule_counts(ix: Index, rows: IntArray) -> np.ndarray:
    """Units each hard rule rules out, on its own: shape (len(rows), len(RULES))."""
    counts = np.zeros((len(rows), len(RULES)), dtype=np.int64)
    if len(rows) == 0 or ix.n_classes == 0:
        return counts
    sizes = ix.class_size.astype(np.float64)
    done = 0
    for block in chunks(ix, rows):
        for k, code in enumerate(RULES):
            fails = ~rule_pass(ix, code, block)
            counts[done:done + len(block), k] = np.rint(fails.astype(np.float64) @ sizes).astype(np.int64)
        done += len(block)
    return counts


def unassigned_reasons(ix: Index, rows: IntArray, class_of: IntArray, pr: IntArray,
                       pc: IntArray) -> list[list[dict[str, Any]]]:
    """For each referral of `rows` (sorted, unassigned): the rule codes with their unit counts."""
    counts = rule_counts(ix, rows)
    feasible_units = np.bincount(pr, weights=ix.class_size[pc], minlength=ix.n_referrals)
    partners: dict[int, list[int]] = {}
    for a, b in ix.links:
        partners.setdefault(a, []).append(b)
        partners.setdefault(b, []).append(a)
    out: list[list[dict[str, Any]]] = []
    starts = np.searchsorted(pr, rows)
    ends = np.searchsorted(pr, rows, side="right")
    for k, i in enumerate(rows):
        reasons = [{"code": code, "units_excluded": int(n)} for code, n in zip(RULES, counts[k], strict=True) if n]
        total = int(feasible_units[i])
        if total:
            blocked_schemes = {int(ix.c_scheme[class_of[j]]) for j in partners.get(int(i), ()) if class_of[j] >= 0}
            separated = 0
            if blocked_schemes:
                cls = pc[starts[k]:ends[k]]
                in_blocked = np.isin(ix.c_scheme[cls], list(blocked_schemes))
                separated = int(ix.class_size[cls[in_blocked]].sum())
            if separated:
                reasons.append({"code": "separation", "units_excluded": separated})
            if total - separated:
                reasons.append({"code": "capacity", "units_excluded": total - separated})
        out.append(reasons)
    return out
