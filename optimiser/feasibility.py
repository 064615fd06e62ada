"""The hard rules of CONTRACT section 3, each with its code: vectorised over referrals x unit classes.

Units that agree on every field but their id (the rooms of one refuge, say) form one *class*; the
rules and the fit score are computed once per class, and the solver sends up to `size` households
into a class. Boundaries pass: equal ages, sizes, dates and distances are allowed.

`rules_broken` is the same rules for one pair in plain Python (used when an officer makes an offer);
a test checks that it agrees with the vectorised masks.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from optimiser.problem import Problem, Referral, Unit
from optimiser.vocabulary import (
    FLAG_RULES,
    GENDER_FLAG,
    RISK_TIER,
    RULES,
    SPECIALISMS,
    UNIT_TYPES,
    Capability,
    bits,
)

EARTH_RADIUS_KM = 6371.0088

__all__ = ["RULES", "Index", "build_index", "feasible_block", "feasible_pairs", "rule_pass", "rules_broken"]

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.signedinteger[Any]]
_NONE = 1 << 30  # "no limit" for max_children / max_boy_age
_EPS_DOT = 1e-11  # band of cos(angle) where the exact haversine decides
_T = TypeVar("_T")
_R = TypeVar("_R")


def default_threads() -> int:
    """The CPUs this process may use, at most 4 (the service's Settings may choose otherwise)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(4, cpus))


def in_threads(fn: Callable[[_T], _R], items: Sequence[_T], threads: int) -> list[_R]:
    """[fn(x) for x in items] on up to `threads` threads: numpy lets go of the GIL in its array loops."""
    if threads <= 1 or len(items) < 2:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor  # 7 ms to import: only when there is work to share

    with ThreadPoolExecutor(min(threads, len(items))) as pool:
        return list(pool.map(fn, items))


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km (haversine, Earth radius 6371.0088 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dlat = p2 - p1
    dlon = math.radians(lon2) - math.radians(lon1)
    a = math.sin(dlat / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def rules_broken(referral: Referral, unit: Unit, as_of: dt.date) -> list[str]:
    """The codes of the rules that forbid `unit` for `referral` (empty: feasible), in UNIT_RULES order."""
    broken: list[str] = []
    needs, safety = referral.needs, referral.safety
    if any(a.gender not in unit.genders for a in referral.adults):
        broken.append("gender")
    if referral.size > unit.bedspaces:
        broken.append("household_size")
    if referral.children and (
        not unit.accepts_children or (unit.max_children is not None and len(referral.children) > unit.max_children)
    ):
        broken.append("children")
    if unit.max_boy_age is not None and any(c.sex == "male" and c.age > unit.max_boy_age for c in referral.children):
        broken.append("boy_age")
    if needs.wheelchair and not unit.wheelchair_accessible:
        broken.append("wheelchair")
    if needs.step_free and not (unit.step_free or unit.wheelchair_accessible):
        broken.append("step_free")
    if needs.pets and not unit.pets:
        broken.append("pets")
    if needs.assistance_dog and unit.no_assistance_dog_reason is not None:
        broken.append("assistance_dog")
    if needs.nrpf and not unit.accepts_nrpf:
        broken.append("nrpf")
    if needs.communal_unsuitable and unit.communal:
        broken.append("communal")
    if needs.languages and not needs.interpreter_ok and not set(needs.languages) & set(unit.languages):
        broken.append("language")
    if unit.specialist_only and not set(needs.specialisms) & set(unit.specialisms):
        broken.append("specialist_only")
    if unit.authority in safety.exclude_authorities or unit.district in safety.exclude_districts:
        broken.append("excluded_area")
    if safety.min_distance_km > 0 and any(
        haversine_km(p.lat, p.lon, unit.lat, unit.lon) < safety.min_distance_km for p in safety.perpetrator_locations
    ):
        broken.append("too_close")
    deadline = referral.needed_by or as_of
    if unit.available_from is not None and unit.available_from > deadline:
        broken.append("not_available")
    if referral.preferences.types and unit.type not in referral.preferences.types:
        broken.append("unit_type")
    if unit.scheme in safety.exclude_schemes:
        broken.append("separation")
    return broken


def _xyz(lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    la, lo = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=1)


def _unit_key(u: Unit) -> tuple[object, ...]:
    return (u.scheme, u.type, u.authority, u.district, u.lat, u.lon, u.bedspaces, u.genders,
            u.accepts_children, u.max_children, u.max_boy_age, u.wheelchair_accessible, u.step_free,
            u.pets, u.accepts_nrpf, u.communal, u.languages, u.specialisms, u.specialist_only,
            u.available_from, u.no_assistance_dog_reason is None)


# Capability flags as plain ints: enum arithmetic costs a microsecond per operation, per household.
_GENDER_BIT = {name: int(flag) for name, flag in GENDER_FLAG.items()}
_WHEELCHAIR, _STEP_FREE, _PETS = int(Capability.WHEELCHAIR), int(Capability.STEP_FREE), int(Capability.PETS)
_NRPF, _NOT_COMMUNAL, _CHILDREN = int(Capability.NRPF), int(Capability.NOT_COMMUNAL), int(Capability.CHILDREN)
_ASSISTANCE_DOG = int(Capability.ASSISTANCE_DOG)
ALL_TYPES = (1 << len(UNIT_TYPES)) - 1  # a household without a type preference takes every type
NO_SPECIALISM = 1 << len(SPECIALISMS)  # a unit that is not specialist-only takes every household


def unit_capabilities(u: Unit) -> int:
    """The `Capability` flags a unit offers."""
    cap = 0
    for gender in u.genders:
        cap |= _GENDER_BIT[gender]
    if u.wheelchair_accessible:
        cap |= _WHEELCHAIR | _STEP_FREE
    if u.step_free:
        cap |= _STEP_FREE
    if u.pets:
        cap |= _PETS
    if u.accepts_nrpf:
        cap |= _NRPF
    if not u.communal:
        cap |= _NOT_COMMUNAL
    if u.accepts_children:
        cap |= _CHILDREN
    if u.no_assistance_dog_reason is None:
        cap |= _ASSISTANCE_DOG
    return cap


def household_needs(r: Referral) -> int:
    """The `Capability` flags a household needs (a pair passes them when needs & ~offers == 0)."""
    n = r.needs
    req = 0
    for adult in r.adults:
        req |= _GENDER_BIT[adult.gender]
    if n.wheelchair:
        req |= _WHEELCHAIR
    if n.step_free:
        req |= _STEP_FREE
    if n.pets:
        req |= _PETS
    if n.nrpf:
        req |= _NRPF
    if n.communal_unsuitable:
        req |= _NOT_COMMUNAL
    if r.children:
        req |= _CHILDREN
    if n.assistance_dog:
        req |= _ASSISTANCE_DOG
    return req


@dataclass
class Index:
    """The problem as arrays: unit classes (C) and referrals (R)."""

    problem: Problem
    threads: int  # for the rules and fit scores of large problems
    # unit classes
    class_of_unit: IntArray
    class_units: list[list[int]]
    class_size: IntArray
    rep: list[Unit]
    c_cap: npt.NDArray[np.uint16]
    c_beds: IntArray
    c_max_children: IntArray
    c_max_boy: IntArray
    c_lang: npt.NDArray[np.uint64]
    c_spec_req: npt.NDArray[np.uint8]
    c_auth: IntArray
    c_district: IntArray
    c_xyz: npt.NDArray[np.float64]
    c_avail: IntArray
    c_type_bit: npt.NDArray[np.uint8]
    c_scheme: IntArray
    # referrals
    r_req: npt.NDArray[np.uint16]
    r_size: IntArray
    r_nchild: IntArray
    r_oldest_boy: IntArray
    r_lang: npt.NDArray[np.uint64]
    r_spec: npt.NDArray[np.uint8]
    r_deadline: IntArray
    r_types: npt.NDArray[np.uint8]
    r_tier: IntArray
    r_referred: IntArray
    # referrals' safety
    r_has_excl: BoolArray  # excludes an authority or a district
    excl_auth: list[list[int]]
    excl_district: list[list[int]]
    r_has_excl_scheme: BoolArray
    excl_scheme: list[list[int]]
    loc_owner: IntArray  # perpetrator locations with min_distance > 0, sorted by owner
    loc_xyz: npt.NDArray[np.float64]
    loc_cos: npt.NDArray[np.float64]
    links: list[tuple[int, int]]  # separation links (i < j), referral indices
    ref_index: dict[str, int]
    # sizes of the numberings
    n_auth: int
    n_district: int
    n_scheme: int
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # derived arrays

    @property
    def n_classes(self) -> int:
        return len(self.rep)

    @property
    def n_referrals(self) -> int:
        return len(self.problem.referrals)


def build_index(problem: Problem, threads: int = 1) -> Index:
    """Arrays for the vectorised rules; units with identical fields are grouped into classes."""
    class_of_unit, class_units, rep = _unit_classes(problem.units)
    codes = _Codes.number(rep)
    return Index(
        problem=problem,
        threads=max(1, threads),
        class_of_unit=class_of_unit,
        class_units=class_units,
        class_size=np.array([len(x) for x in class_units], dtype=np.int64),
        rep=rep,
        **_class_columns(rep, codes),
        **_referral_columns(problem, codes),
        **_safety_columns(problem.referrals, codes),
        n_auth=len(codes.authorities),
        n_district=len(codes.districts),
        n_scheme=len(codes.schemes),
    )


def _unit_classes(units: tuple[Unit, ...]) -> tuple[IntArray, list[list[int]], list[Unit]]:
    """Units that agree on every field the rules and the fit read form one class: (class of each
    unit, the units of each class, one representative unit per class)."""
    keys: dict[tuple[object, ...], int] = {}
    class_of_unit = np.empty(len(units), dtype=np.int64)
    class_units: list[list[int]] = []
    rep: list[Unit] = []
    for i, u in enumerate(units):
        c = keys.setdefault(_unit_key(u), len(rep))
        if c == len(rep):
            rep.append(u)
            class_units.append([])
        class_units[c].append(i)
        class_of_unit[i] = c
    return class_of_unit, class_units, rep


@dataclass
class _Codes:
    """Small integers for the strings that the rules compare, numbered from the units."""

    languages: dict[str, int]  # bit of each language code; bit 0 is the "no language need" wildcard
    words: int  # 64-bit words per language bit set
    authorities: dict[str, int]
    districts: dict[str, int]
    schemes: dict[str, int]

    @classmethod
    def number(cls, rep: list[Unit]) -> _Codes:
        languages: dict[str, int] = {}
        authorities: dict[str, int] = {}
        districts: dict[str, int] = {}
        schemes: dict[str, int] = {}
        for u in rep:
            for code in u.languages:
                languages.setdefault(code, len(languages) + 1)
            authorities.setdefault(u.authority, len(authorities))
            districts.setdefault(u.district, len(districts))
            schemes.setdefault(u.scheme, len(schemes))
        return cls(languages, max(1, (len(languages) + 1 + 63) // 64), authorities, districts, schemes)

    def language_words(self, codes: tuple[str, ...] | None) -> list[int]:
        """The bit set of `codes` (None: the wildcard) in 64-bit words."""
        value = 1 if codes is None else 0
        for code in codes or ():
            bit = self.languages.get(code)
            if bit is not None:
                value |= 1 << bit
        return [(value >> (64 * w)) & 0xFFFFFFFFFFFFFFFF for w in range(self.words)]


def _class_columns(rep: list[Unit], codes: _Codes) -> dict[str, Any]:
    """The unit classes' fields as arrays (Index.c_*)."""
    n_c = len(rep)
    c_lang = np.zeros((n_c, codes.words), dtype=np.uint64)
    for c, u in enumerate(rep):
        words = codes.language_words(u.languages)
        words[0] |= 1  # every unit matches the wildcard of referrals without a language need
        c_lang[c] = words
    return {
        "c_cap": np.array([unit_capabilities(u) for u in rep], dtype=np.uint16),
        "c_lang": c_lang,
        "c_spec_req": np.array([bits(u.specialisms, SPECIALISMS) if u.specialist_only else NO_SPECIALISM
                                for u in rep], dtype=np.uint8),
        "c_beds": np.array([u.bedspaces for u in rep], dtype=np.int64),
        "c_max_children": np.array([_NONE if u.max_children is None else u.max_children for u in rep],
                                   dtype=np.int64),
        "c_max_boy": np.array([_NONE if u.max_boy_age is None else u.max_boy_age for u in rep], dtype=np.int64),
        "c_auth": np.array([codes.authorities[u.authority] for u in rep], dtype=np.int64),
        "c_district": np.array([codes.districts[u.district] for u in rep], dtype=np.int64),
        "c_xyz": _xyz(np.array([u.lat for u in rep], dtype=np.float64), np.array([u.lon for u in rep],
                                                                                   dtype=np.float64)),
        "c_avail": np.array([-_NONE if u.available_from is None else u.available_from.toordinal() for u in rep],
                            dtype=np.int64),
        "c_type_bit": np.array([1 << UNIT_TYPES.index(u.type) for u in rep], dtype=np.uint8),
        "c_scheme": np.array([codes.schemes[u.scheme] for u in rep], dtype=np.int64),
    }


def _referral_columns(problem: Problem, codes: _Codes) -> dict[str, Any]:
    """The households' fields as arrays (Index.r_*), but for their safety."""
    refs = problem.referrals
    n_r = len(refs)
    as_of = problem.as_of.toordinal()
    r_lang = np.zeros((n_r, codes.words), dtype=np.uint64)
    for i, r in enumerate(refs):
        n = r.needs
        r_lang[i] = codes.language_words(n.languages if n.languages and not n.interpreter_ok else None)
    return {
        "r_req": np.array([household_needs(r) for r in refs], dtype=np.uint16),
        "r_lang": r_lang,
        "r_spec": np.array([bits(r.needs.specialisms, SPECIALISMS) | NO_SPECIALISM for r in refs],
                           dtype=np.uint8),
        "r_size": np.array([r.size for r in refs], dtype=np.int64),
        "r_nchild": np.array([len(r.children) for r in refs], dtype=np.int64),
        "r_oldest_boy": np.array([max((c.age for c in r.children if c.sex == "male"), default=-1) for r in refs],
                                 dtype=np.int64),
        "r_deadline": np.array([r.needed_by.toordinal() if r.needed_by else as_of for r in refs], dtype=np.int64),
        "r_types": np.array([bits(r.preferences.types, UNIT_TYPES) if r.preferences.types else ALL_TYPES
                             for r in refs], dtype=np.uint8),
        "r_tier": np.array([RISK_TIER[r.risk] for r in refs], dtype=np.int64),
        "r_referred": np.array([r.referred_on.toordinal() for r in refs], dtype=np.int64),
    }


def _safety_columns(refs: tuple[Referral, ...], codes: _Codes) -> dict[str, Any]:
    """Excluded areas and schemes, perpetrator locations and separation links."""
    n_r = len(refs)
    r_has_excl = np.zeros(n_r, dtype=bool)
    r_has_excl_scheme = np.zeros(n_r, dtype=bool)
    excl_auth: list[list[int]] = [[] for _ in range(n_r)]
    excl_district: list[list[int]] = [[] for _ in range(n_r)]
    excl_scheme: list[list[int]] = [[] for _ in range(n_r)]
    loc_owner: list[int] = []
    loc_lat: list[float] = []
    loc_lon: list[float] = []
    loc_min: list[float] = []
    ref_index = {r.id: i for i, r in enumerate(refs)}
    links: set[tuple[int, int]] = set()
    for i, r in enumerate(refs):
        s = r.safety
        if s.exclude_authorities or s.exclude_districts:
            r_has_excl[i] = True
            excl_auth[i] = [codes.authorities[a] for a in s.exclude_authorities if a in codes.authorities]
            excl_district[i] = [codes.districts[d] for d in s.exclude_districts if d in codes.districts]
        if s.exclude_schemes:
            r_has_excl_scheme[i] = True
            excl_scheme[i] = [codes.schemes[x] for x in s.exclude_schemes if x in codes.schemes]
        if s.min_distance_km > 0:
            for p in s.perpetrator_locations:
                loc_owner.append(i)
                loc_lat.append(p.lat)
                loc_lon.append(p.lon)
                loc_min.append(s.min_distance_km)
        for other in s.separate_from:
            j = ref_index.get(other)
            if j is not None and j != i:
                links.add((min(i, j), max(i, j)))
    angle = np.minimum(np.array(loc_min, dtype=np.float64) / EARTH_RADIUS_KM, math.pi)
    return {
        "r_has_excl": r_has_excl,
        "excl_auth": excl_auth,
        "excl_district": excl_district,
        "r_has_excl_scheme": r_has_excl_scheme,
        "excl_scheme": excl_scheme,
        "loc_owner": np.array(loc_owner, dtype=np.int64),
        "loc_xyz": _xyz(np.array(loc_lat, dtype=np.float64), np.array(loc_lon, dtype=np.float64)),
        "loc_cos": np.cos(angle),
        "links": sorted(links),
        "ref_index": ref_index,
    }


def _lang_ok(ix: Index, rows: IntArray) -> BoolArray:
    ok = (ix.r_lang[rows, None, 0] & ix.c_lang[None, :, 0]) != 0
    for w in range(1, ix.c_lang.shape[1]):
        ok |= (ix.r_lang[rows, None, w] & ix.c_lang[None, :, w]) != 0
    return ok


def _area_ok(ix: Index, rows: IntArray) -> BoolArray:
    ok = np.ones((len(rows), ix.n_classes), dtype=bool)
    local = np.flatnonzero(ix.r_has_excl[rows])
    if len(local) == 0:
        return ok
    bad_auth = np.zeros((len(local), max(1, ix.n_auth)), dtype=bool)
    bad_district = np.zeros((len(local), max(1, ix.n_district)), dtype=bool)
    for k, li in enumerate(local):
        bad_auth[k, ix.excl_auth[rows[li]]] = True
        bad_district[k, ix.excl_district[rows[li]]] = True
    ok[local] = ~(bad_auth[:, ix.c_auth] | bad_district[:, ix.c_district])
    return ok


def _scheme_ok(ix: Index, rows: IntArray) -> BoolArray:
    """Units outside the schemes each referral's safety.exclude_schemes names."""
    ok = np.ones((len(rows), ix.n_classes), dtype=bool)
    local = np.flatnonzero(ix.r_has_excl_scheme[rows])
    if len(local) == 0:
        return ok
    bad = np.zeros((len(local), max(1, ix.n_scheme)), dtype=bool)
    for k, li in enumerate(local):
        bad[k, ix.excl_scheme[rows[li]]] = True
    ok[local] = ~bad[:, ix.c_scheme]
    return ok


def _distance_ok(ix: Index, rows: IntArray) -> BoolArray:
    """Every perpetrator location at least min_distance_km away (dot products, exact at the edge)."""
    ok = np.ones((len(rows), ix.n_classes), dtype=bool)
    if len(ix.loc_owner) == 0 or len(rows) == 0:
        return ok
    lo, hi = np.searchsorted(ix.loc_owner, [rows[0], rows[-1] + 1])
    if lo == hi:
        return ok
    owners = ix.loc_owner[lo:hi]
    dots = ix.loc_xyz[lo:hi] @ ix.c_xyz.T  # cos(angle) between location and unit
    thr = ix.loc_cos[lo:hi, None]
    far = dots < thr - _EPS_DOT
    near = np.flatnonzero(~far)  # usually a small share of the matrix
    near = near[dots.ravel()[near] <= thr[near // dots.shape[1], 0] + _EPS_DOT]
    band = np.column_stack(np.unravel_index(near, dots.shape)) if len(near) else np.empty((0, 2), dtype=np.int64)
    for li, c in band:  # rare: decide the boundary with the same formula as rules_broken
        owner = ix.problem.referrals[owners[li]]
        u = ix.rep[c]
        k = li - (np.searchsorted(ix.loc_owner, owners[li]) - lo)
        p = owner.safety.perpetrator_locations[k]
        far[li, c] = haversine_km(p.lat, p.lon, u.lat, u.lon) >= owner.safety.min_distance_km
    uniq, starts, first_of = np.unique(owners, return_index=True, return_inverse=True)
    per_owner = far[starts]
    if len(starts) < len(owners):  # households with several locations: every one must be far enough
        extra = np.setdiff1d(np.arange(len(owners)), starts)
        for k in extra.tolist():
            per_owner[first_of[k]] &= far[k]
    ok[np.searchsorted(rows, uniq)] = per_owner
    return ok


def rule_pass(ix: Index, code: str, rows: IntArray) -> BoolArray:
    """For referrals `rows` (sorted) x all classes: True where rule `code` (of UNIT_RULES) allows the pair."""
    if code == "gender":
        return (ix.r_req[rows, None] & ~ix.c_cap[None, :] & np.uint16(Capability.ANY_GENDER)) == 0
    if code in FLAG_RULES:
        b = np.uint16(FLAG_RULES[code])
        return ((ix.r_req[rows, None] & b) == 0) | ((ix.c_cap[None, :] & b) != 0)
    if code == "household_size":
        return ix.r_size[rows, None] <= ix.c_beds[None, :]
    if code == "children":
        has = ix.r_nchild[rows, None] > 0
        accepts = (ix.c_cap[None, :] & np.uint16(Capability.CHILDREN)) != 0
        fits = accepts & (ix.r_nchild[rows, None] <= ix.c_max_children[None, :])
        return ~has | fits
    if code == "boy_age":
        return ix.r_oldest_boy[rows, None] <= ix.c_max_boy[None, :]
    if code == "language":
        return _lang_ok(ix, rows)
    if code == "specialist_only":
        return (ix.r_spec[rows, None] & ix.c_spec_req[None, :]) != 0
    if code == "excluded_area":
        return _area_ok(ix, rows)
    if code == "too_close":
        return _distance_ok(ix, rows)
    if code == "not_available":
        return ix.c_avail[None, :] <= ix.r_deadline[rows, None]
    if code == "unit_type":
        return (ix.r_types[rows, None] & ix.c_type_bit[None, :]) != 0
    if code == "separation":
        return _scheme_ok(ix, rows)
    raise KeyError(code)


def feasible_block(ix: Index, rows: IntArray) -> BoolArray:
    """All hard rules at once for referrals `rows` (sorted) x all classes."""
    ok = (ix.r_req[rows, None] & ~ix.c_cap[None, :]) == 0  # every Capability: gender, access, pets, dogs, ...
    ok &= ix.r_size[rows, None] <= ix.c_beds[None, :]
    ok &= ix.r_nchild[rows, None] <= ix.c_max_children[None, :]
    ok &= ix.r_oldest_boy[rows, None] <= ix.c_max_boy[None, :]
    ok &= ix.c_avail[None, :] <= ix.r_deadline[rows, None]
    ok &= (ix.r_types[rows, None] & ix.c_type_bit[None, :]) != 0
    ok &= (ix.r_spec[rows, None] & ix.c_spec_req[None, :]) != 0
    ok &= _lang_ok(ix, rows)
    ok &= _area_ok(ix, rows)
    ok &= _distance_ok(ix, rows)
    ok &= _scheme_ok(ix, rows)
    return ok


def chunks(ix: Index, rows: IntArray | None = None, cells: int = 2_000_000) -> Iterator[IntArray]:
    """Sorted referral index blocks small enough to keep the block matrices in cache-friendly sizes."""
    all_rows = np.arange(ix.n_referrals, dtype=np.int64) if rows is None else rows
    step = max(1, cells // max(1, ix.n_classes))
    for start in range(0, len(all_rows), step):
        yield all_rows[start:start + step]


def feasible_pairs(ix: Index) -> tuple[IntArray, IntArray]:
    """(referral, class) index arrays of every feasible pair, referral-major."""
    n_c = max(1, ix.n_classes)

    def block(rows: IntArray) -> tuple[IntArray, IntArray]:
        flat = np.flatnonzero(feasible_block(ix, rows))
        r = flat // n_c
        # int32 halves the largest arrays of the whole solve
        return rows[r].astype(np.int32), (flat - r * n_c).astype(np.int32)

    parts = in_threads(block, list(chunks(ix)), ix.threads)
    if not parts:
        return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int32)
    return np.concatenate([r for r, _ in parts]), np.concatenate([c for _, c in parts])
