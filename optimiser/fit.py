"""The fit score of a (household, unit class) pair: how well the unit suits the household.

The fit score (0-100, weights overridable through the problem's `weights`):
  specialism 20  the household's specialist need met by the unit (10 when a specialist unit goes
                 to a household without that need; 20 when neither has one)
  language   10  the unit speaks one of the household's languages (0 when it relies on an interpreter)
  distance   20  kilometres beyond the minimum distance from the perpetrator: full at 50 km more
  near       15  close to `preferences.near`: full at the point, 0 at 100 km or more
  waiting    15  days waited since `referred_on`: full at 90 days (longer waits go first within a tier)
  size       10  bedspaces not wasted: 2.5 points lost per empty bedspace
  access     10  an accessible unit kept for those who need it: 0 for a wheelchair unit and 5 for a
                 step-free unit given to a household that needs neither

The terms that depend only on categories (specialisms, languages, sizes, access) come from a table
of category pairs, one lookup per pair; distances are computed per pair, in chunks on the Index's
threads.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from optimiser.feasibility import EARTH_RADIUS_KM, NO_SPECIALISM, Index, IntArray, in_threads
from optimiser.problem import Point
from optimiser.vocabulary import SPECIALISMS, Capability, bits

WEIGHTS = {"specialism": 20.0, "language": 10.0, "distance": 20.0, "near": 15.0, "waiting": 15.0,
           "size": 10.0, "access": 10.0}
FIT_SCALE = 10  # integer fit units per score point in the flow costs
FIT_CHUNK = 1 << 20  # pairs per piece of work (on the Index's threads): the (n, 3) distance arrays are large
KIND_TABLE_CELLS = 2_000_000  # largest table of category pairs worth building (else terms per pair)
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class _FitData:
    """What the fit score needs of each referral and class, derived once per problem."""

    weights: dict[str, float]
    # categorical inputs
    r_spec: IntArray
    c_spec: IntArray
    r_lang: npt.NDArray[np.uint64]
    need_lang: npt.NDArray[np.bool_]
    needs_wheel: npt.NDArray[np.bool_]
    needs_access: npt.NDArray[np.bool_]
    c_wheel: npt.NDArray[np.bool_]
    c_step: npt.NDArray[np.bool_]
    # the categorical terms per pair of categories, when that table is small enough
    r_kind: IntArray
    c_kind: IntArray
    kind_scores: FloatArray | None
    # per referral
    waiting: FloatArray
    perpetrators: list[FloatArray]  # k-th perpetrator location (unit vector; NaN when it has fewer)
    n_perpetrators: IntArray
    min_km: FloatArray
    near: FloatArray | None  # unit vectors, NaN where no place is asked


def _unit_vectors(points: list[Point | None]) -> FloatArray:
    arr = np.array([(p.lat, p.lon) if p is not None else (np.nan, np.nan) for p in points],
                   dtype=np.float64).reshape(-1, 2)
    la, lo = np.radians(arr[:, 0]), np.radians(arr[:, 1])
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def _kinds(columns: list[npt.NDArray[Any]]) -> tuple[IntArray, IntArray]:
    """Category of each row (rows equal in every column share one) and the first row of each category."""
    table = np.column_stack([np.asarray(col).reshape(len(col), -1).astype(np.int64) for col in columns])
    _, first, kind = np.unique(table, axis=0, return_index=True, return_inverse=True)
    return kind.reshape(-1).astype(np.int64), first.astype(np.int64)


def _kind_terms(f: _FitData, ix: Index, r: IntArray, c: IntArray) -> FloatArray:
    """Specialism, language, size and access terms, plus full marks for distance and near."""
    w = f.weights
    # specialism: met, or no need (a specialist unit used without need scores half)
    score = np.where(f.r_spec[r] != 0, (f.r_spec[r] & f.c_spec[c]) != 0,
                     np.where(f.c_spec[c] != 0, 0.5, 1.0)) * w["specialism"]
    # language: the unit speaks one of the household's languages
    speaks = ((f.r_lang[r] & ix.c_lang[c]) != 0).any(axis=1)
    score += w["language"] * (~f.need_lang[r] | speaks)
    # bedspaces not wasted
    score += w["size"] * (1.0 - np.minimum(1.0, (ix.c_beds[c] - ix.r_size[r]) * 0.25))
    # accessible units kept for those who need them
    access = np.ones(len(r), dtype=np.float64)
    access[f.c_wheel[c] & ~f.needs_wheel[r]] = 0.0
    access[f.c_step[c] & ~f.needs_access[r]] = 0.5
    score += w["access"] * access
    score += w["distance"] + w["near"]  # pairs with a perpetrator location or a place asked lose some later
    return score


def _fit_data(ix: Index) -> _FitData:
    cached = ix.cache.get("fit")
    if isinstance(cached, _FitData):
        return cached
    refs = ix.problem.referrals
    codes: dict[str, int] = {}
    for u in ix.rep:
        for code in u.languages:
            codes.setdefault(code, len(codes) + 1)
    r_lang = np.zeros((ix.n_referrals, ix.c_lang.shape[1]), dtype=np.uint64)
    for i, x in enumerate(refs):
        for code in x.needs.languages:
            bit = codes.get(code)
            if bit is not None:
                r_lang[i, bit // 64] |= np.uint64(1 << (bit % 64))
    wheelchair, step_free = np.uint16(Capability.WHEELCHAIR), np.uint16(Capability.STEP_FREE)
    c_wheel = (ix.c_cap & wheelchair) != 0
    most = max((len(x.safety.perpetrator_locations) for x in refs), default=0)
    near = [x.preferences.near for x in refs]
    f = _FitData(
        weights={**WEIGHTS, **{k: v for k, v in ix.problem.weights.items() if k in WEIGHTS}},
        r_spec=(ix.r_spec & (NO_SPECIALISM - 1)).astype(np.int64),
        c_spec=np.array([bits(u.specialisms, SPECIALISMS) for u in ix.rep], dtype=np.int64),
        r_lang=r_lang,
        need_lang=np.array([bool(x.needs.languages) for x in refs], dtype=bool),
        needs_wheel=(ix.r_req & wheelchair) != 0,
        needs_access=(ix.r_req & (wheelchair | step_free)) != 0,
        c_wheel=c_wheel,
        c_step=((ix.c_cap & step_free) != 0) & ~c_wheel,
        r_kind=np.zeros(0, dtype=np.int64), c_kind=np.zeros(0, dtype=np.int64), kind_scores=None,
        waiting=np.clip((ix.problem.as_of.toordinal() - ix.r_referred) / 90.0, 0.0, 1.0),
        perpetrators=[_unit_vectors([x.safety.perpetrator_locations[k] if len(x.safety.perpetrator_locations) > k
                                     else None for x in refs]) for k in range(most)],
        n_perpetrators=np.array([len(x.safety.perpetrator_locations) for x in refs], dtype=np.int64),
        min_km=np.array([x.safety.min_distance_km for x in refs], dtype=np.float64),
        near=_unit_vectors(near) if any(p is not None for p in near) else None,
    )
    r_kind, r_first = _kinds([f.r_spec, np.where(f.need_lang[:, None], r_lang.view(np.int64), -1), ix.r_size,
                              f.needs_wheel, f.needs_access])
    c_kind, c_first = _kinds([f.c_spec, ix.c_lang.view(np.int64), ix.c_beds, f.c_wheel, f.c_step])
    if len(r_first) * len(c_first) <= KIND_TABLE_CELLS:
        table = _kind_terms(f, ix, np.repeat(r_first, len(c_first)), np.tile(c_first, len(r_first)))
        f = replace(f, r_kind=r_kind * len(c_first), c_kind=c_kind, kind_scores=table)
    ix.cache["fit"] = f
    return f


def _chord_km(a: FloatArray, b: FloatArray) -> FloatArray:
    """Distance between unit vectors row by row, as the chord (within 0.1% of the arc below 1,000 km)."""
    dot = np.einsum("ij,ij->i", a, b)
    return np.sqrt(np.maximum(0.0, 2.0 - 2.0 * dot)) * EARTH_RADIUS_KM


def _distance_terms(f: _FitData, ix: Index, r: IntArray, c: IntArray) -> FloatArray:
    """Points lost for nearness to a perpetrator location or distance from the place asked."""
    w = f.weights
    lost = np.zeros(len(r), dtype=np.float64)
    if f.perpetrators:
        # distance beyond the minimum from the nearest perpetrator location, full at +50 km
        sel = np.flatnonzero(f.n_perpetrators[r] > 0)
        rs = r[sel]
        units = ix.c_xyz[c[sel]]
        nearest = _chord_km(f.perpetrators[0][rs], units)
        for points in f.perpetrators[1:]:
            np.fmin(nearest, _chord_km(points[rs], units), out=nearest)  # NaN where it has fewer locations
        lost[sel] = w["distance"] * (1.0 - np.clip((nearest - f.min_km[rs]) / 50.0, 0.0, 1.0))
    if f.near is not None:
        # near the household's support, full at the point, none from 100 km
        sel = np.flatnonzero(~np.isnan(f.near[r, 0]))
        lost[sel] += w["near"] * np.clip(_chord_km(f.near[r[sel]], ix.c_xyz[c[sel]]) / 100.0, 0.0, 1.0)
    return lost


def fit_scores(ix: Index, r: IntArray, c: IntArray) -> FloatArray:
    """Fit score 0-100 of each (referral r[k], class c[k]) pair (see the module docstring).

    The terms that depend only on categories (specialisms, languages, sizes, access) come from a
    table of category pairs, one lookup per pair; distances are computed per pair.
    """
    if len(r) == 0:
        return np.zeros(0, dtype=np.float64)
    f = _fit_data(ix)
    w = f.weights
    score = np.empty(len(r), dtype=np.float64)

    def part(start: int) -> None:
        rs, cs = r[start:start + FIT_CHUNK], c[start:start + FIT_CHUNK]
        out = score[start:start + FIT_CHUNK]
        if f.kind_scores is not None:
            out[:] = f.kind_scores[f.r_kind[rs] + f.c_kind[cs]]
        else:
            out[:] = _kind_terms(f, ix, rs, cs)
        out += w["waiting"] * f.waiting[rs]
        out -= _distance_terms(f, ix, rs, cs)

    in_threads(part, range(0, len(r), FIT_CHUNK), ix.threads)
    score *= 100.0 / (sum(w.values()) or 1.0)
    return score
