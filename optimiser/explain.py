"""Reasons: why each household got its unit, and what kept each unassigned household out.

For an unassigned referral every hard rule is counted on its own: how many units that rule alone
rules out (a unit can be counted under several rules). Then `separation`: the units of the schemes
its `safety.exclude_schemes` names, plus the feasible units in schemes where a household of this
problem that it must be kept apart from was placed; and `capacity`, the other feasible units, which
all went to households of equal or higher priority (same or higher risk tier for the optimal
strategy; earlier in the queue for greedy). A problem without units gives every referral the one
reason `no_units`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optimiser.feasibility import Index, IntArray, chunks, haversine_km, rule_pass
from optimiser.problem import Referral, Unit
from optimiser.vocabulary import FLAG_RULES, RULES, UNIT_RULES, Capability


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
    if n.assistance_dog:
        out.append("assistance dog welcome")
    if n.nrpf:
        out.append("accepts no recourse to public funds")
    if n.communal_unsuitable:
        out.append("self-contained, not communal")
    locations = referral.safety.perpetrator_locations
    if locations:
        km = min(haversine_km(p.lat, p.lon, unit.lat, unit.lon) for p in locations)
        out.append(f"{km:.0f} km from the perpetrator's known location")
    near = referral.preferences.near
    if near is not None:
        km = haversine_km(near.lat, near.lon, unit.lat, unit.lon)
        out.append(f"{km:.0f} km from the place asked for")
    waited = (as_of - referral.referred_on).days
    if waited > 0:
        out.append(f"waited {waited} day{'s' if waited != 1 else ''}")
    out.append(f"{unit.bedspaces} bedspace{'s' if unit.bedspaces != 1 else ''} "
               f"for a household of {referral.size}")
    if unit.available_from is not None and unit.available_from > as_of:
        out.append(f"available from {unit.available_from.isoformat()}")
    return out


def _weighted_below(values: IntArray, sizes: IntArray, queries: IntArray) -> IntArray:
    """For each query q: total size of the classes with value < q."""
    order = np.argsort(values, kind="stable")
    cum = np.concatenate([[0], np.cumsum(sizes[order])])
    return cum[np.searchsorted(values[order], queries, side="left")]


def _per_value(row_values: IntArray, count: Callable[[int], int]) -> IntArray:
    """Apply `count` once per distinct value of a referral attribute."""
    uniq, inverse = np.unique(row_values, return_inverse=True)
    return np.array([count(int(v)) for v in uniq], dtype=np.int64)[inverse]


def rule_counts(ix: Index, rows: IntArray) -> np.ndarray:
    """Units each rule of UNIT_RULES rules out, on its own: shape (len(rows), len(UNIT_RULES)).

    Most rules compare one referral attribute with one unit attribute, so the count is a lookup
    (sorted unit values, or one count per distinct referral value); only the distance rule needs
    the referral x unit matrix.
    """
    counts = np.zeros((len(rows), len(UNIT_RULES)), dtype=np.int64)
    if len(rows) == 0 or ix.n_classes == 0:
        return counts
    size = ix.class_size
    col: dict[str, int] = {code: k for k, code in enumerate(UNIT_RULES)}
    cap = ix.c_cap.astype(np.int64)
    req = ix.r_req[rows].astype(np.int64)
    genders = int(Capability.ANY_GENDER)
    counts[:, col["gender"]] = _per_value(req & genders, lambda g: int(size[(g & ~cap & genders) != 0].sum()))
    for code, flag in FLAG_RULES.items():
        lacking = int(size[(cap & flag) == 0].sum())
        counts[:, col[code]] = ((req & flag) != 0) * lacking
    counts[:, col["household_size"]] = _weighted_below(ix.c_beds, size, ix.r_size[rows])
    nchild = ix.r_nchild[rows]
    accepting = (cap & Capability.CHILDREN) != 0
    refusing = int(size[~accepting].sum())
    too_many = _weighted_below(ix.c_max_children[accepting], size[accepting], nchild)
    counts[:, col["children"]] = np.where(nchild > 0, refusing + too_many, 0)
    counts[:, col["boy_age"]] = _weighted_below(ix.c_max_boy, size, ix.r_oldest_boy[rows])
    counts[:, col["not_available"]] = _later_than(ix, rows)
    counts[:, col["unit_type"]] = _per_value(ix.r_types[rows].astype(np.int64),
                                             lambda t: int(size[(t & ix.c_type_bit) == 0].sum()))
    counts[:, col["specialist_only"]] = _per_value(ix.r_spec[rows].astype(np.int64),
                                                   lambda sp: int(size[(sp & ix.c_spec_req) == 0].sum()))
    # language: one count per distinct need
    lang = ix.r_lang[rows]
    uniq, inverse = np.unique(lang, axis=0, return_inverse=True)
    per = np.array([int(size[~((ix.c_lang & u[None, :]) != 0).any(axis=1)].sum()) for u in uniq], dtype=np.int64)
    counts[:, col["language"]] = per[inverse.reshape(-1)]
    # excluded areas: inclusion-exclusion over the few excluded authorities and districts
    by_auth = np.bincount(ix.c_auth, weights=size, minlength=ix.n_auth)
    by_district = np.bincount(ix.c_district, weights=size, minlength=ix.n_district)
    both: dict[tuple[int, int], int] = {}
    for a, d, n in zip(ix.c_auth.tolist(), ix.c_district.tolist(), size.tolist(), strict=True):
        both[(a, d)] = both.get((a, d), 0) + n
    for k in np.flatnonzero(ix.r_has_excl[rows]).tolist():
        i = int(rows[k])
        ea, ed = set(ix.excl_auth[i]), set(ix.excl_district[i])
        n = sum(by_auth[a] for a in ea) + sum(by_district[d] for d in ed)
        n -= sum(both.get((a, d), 0) for a in ea for d in ed)
        counts[k, col["excluded_area"]] = int(n)
    # excluded schemes (rule `separation`)
    by_scheme = np.bincount(ix.c_scheme, weights=size, minlength=ix.n_scheme)
    for k in np.flatnonzero(ix.r_has_excl_scheme[rows]).tolist():
        counts[k, col["separation"]] = int(sum(by_scheme[x] for x in set(ix.excl_scheme[int(rows[k])])))
    # distance: the matrix, for referrals with perpetrator locations only
    with_locations = np.flatnonzero(np.isin(rows, ix.loc_owner))
    if len(with_locations):
        sizes = size.astype(np.float64)
        subset = rows[with_locations]
        done = 0
        for block in chunks(ix, subset):
            fails = ~rule_pass(ix, "too_close", block)
            counts[with_locations[done:done + len(block)], col["too_close"]] = np.rint(
                fails.astype(np.float64) @ sizes).astype(np.int64)
            done += len(block)
    return counts


def _later_than(ix: Index, rows: IntArray) -> IntArray:
    """Units available only after each referral's deadline."""
    order = np.argsort(ix.c_avail, kind="stable")
    cum = np.concatenate([[0], np.cumsum(ix.class_size[order])])
    at_or_before = cum[np.searchsorted(ix.c_avail[order], ix.r_deadline[rows], side="right")]
    return int(ix.class_size.sum()) - at_or_before


def unassigned_reasons(ix: Index, rows: IntArray, class_of: IntArray, pr: IntArray,
                       pc: IntArray) -> list[list[dict[str, Any]]]:
    """For each referral of `rows` (sorted, unassigned): the rule codes with their unit counts."""
    if ix.n_classes == 0:
        return [[{"code": "no_units", "units_excluded": 0}] for _ in range(len(rows))]
    counts = rule_counts(ix, rows)
    partners: dict[int, list[int]] = {}
    for a, b in ix.links:
        partners.setdefault(a, []).append(b)
        partners.setdefault(b, []).append(a)
    out: list[list[dict[str, Any]]] = []
    starts = np.searchsorted(pr, rows)
    ends = np.searchsorted(pr, rows, side="right")
    units_before = np.concatenate([[0], np.cumsum(ix.class_size[pc])])  # feasible units of pairs before each
    # plain Python numbers from here: numpy scalars one at a time cost several times more
    totals = (units_before[ends] - units_before[starts]).tolist()
    n_rules = len(RULES)
    for k, (i, row, total) in enumerate(zip(rows.tolist(), counts.tolist(), totals, strict=True)):
        reasons = [{"code": code, "units_excluded": n} for code, n in zip(RULES, row[:n_rules], strict=True) if n]
        separated = row[n_rules]  # units of the schemes its safety.exclude_schemes names
        capacity = 0
        if total:
            blocked_schemes = {int(ix.c_scheme[class_of[j]]) for j in partners.get(i, ()) if class_of[j] >= 0}
            with_partner = 0  # feasible units in schemes where a linked household of this problem went
            if blocked_schemes:
                cls = pc[starts[k]:ends[k]]
                in_blocked = np.isin(ix.c_scheme[cls], list(blocked_schemes))
                with_partner = int(ix.class_size[cls[in_blocked]].sum())
            separated += with_partner
            capacity = total - with_partner
        if separated:
            reasons.append({"code": "separation", "units_excluded": separated})
        if capacity:
            reasons.append({"code": "capacity", "units_excluded": capacity})
        out.append(reasons)
    return out
