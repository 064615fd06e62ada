"""Parsing and validation of the match problem (CONTRACT section 3) into frozen dataclasses.

Missing optional fields take the neutral value (false, empty, null, 0), with two documented
exceptions where "empty" would silently make a unit useless: a unit without `genders` accepts
every gender, and a unit without `scheme` is its own scheme. A missing `as_of` is today (UTC).
`separate_from` naming a referral that is not in the problem is ignored: that household may
already be placed or closed, and nothing in this problem can share a roof with it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from optimiser.vocabulary import GENDERS, RISK_TIER, RISKS, SEXES, SPECIALISMS, UNIT_TYPES


class ProblemError(ValueError):
    """A match problem that breaks CONTRACT section 3; names the item and the field at fault."""

    def __init__(self, item: str, field: str, message: str) -> None:
        super().__init__(f"{item}: {field}: {message}")
        self.item = item
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Adult:
    gender: str
    age: int


@dataclass(frozen=True, slots=True)
class Child:
    age: int
    sex: str


@dataclass(frozen=True, slots=True)
class Needs:
    wheelchair: bool = False
    step_free: bool = False
    pets: bool = False
    nrpf: bool = False
    communal_unsuitable: bool = False
    languages: tuple[str, ...] = ()
    interpreter_ok: bool = False
    specialisms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Safety:
    exclude_authorities: tuple[str, ...] = ()
    exclude_districts: tuple[str, ...] = ()
    perpetrator_locations: tuple[tuple[float, float], ...] = ()
    min_distance_km: float = 0.0
    separate_from: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Preferences:
    types: tuple[str, ...] = ()
    near: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class Referral:
    id: str
    risk: str
    referred_on: dt.date
    needed_by: dt.date | None
    adults: tuple[Adult, ...]
    children: tuple[Child, ...] = ()
    needs: Needs = field(default_factory=Needs)
    safety: Safety = field(default_factory=Safety)
    preferences: Preferences = field(default_factory=Preferences)

    @property
    def size(self) -> int:
        """People in the household."""
        return len(self.adults) + len(self.children)

    @property
    def tier(self) -> int:
        """0 standard, 1 medium, 2 high."""
        return RISK_TIER[self.risk]


@dataclass(frozen=True, slots=True)
class Unit:
    id: str
    scheme: str
    type: str
    authority: str
    district: str
    lat: float
    lon: float
    bedspaces: int = 1
    genders: tuple[str, ...] = GENDERS
    accepts_children: bool = False
    max_children: int | None = None
    max_boy_age: int | None = None
    wheelchair_accessible: bool = False
    step_free: bool = False
    pets: bool = False
    accepts_nrpf: bool = False
    communal: bool = False
    languages: tuple[str, ...] = ()
    specialisms: tuple[str, ...] = ()
    specialist_only: bool = False
    available_from: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    as_of: dt.date
    units: tuple[Unit, ...]
    referrals: tuple[Referral, ...]
    weights: dict[str, float]


class _Reader:
    """Typed access to one JSON object, raising ProblemError that names item and field."""

    __slots__ = ("item", "prefix")

    def __init__(self, item: str, prefix: str = "") -> None:
        self.item = item
        self.prefix = prefix

    def fail(self, name: str, message: str) -> ProblemError:
        return ProblemError(self.item, self.prefix + name, message)

    def obj(self, data: dict[str, Any], name: str) -> dict[str, Any]:
        value = data.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(name, f"must be an object, got {_kind(value)}")
        return value

    def lst(self, data: dict[str, Any], name: str) -> list[Any]:
        value = data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(name, f"must be a list, got {_kind(value)}")
        return value

    def string(self, data: dict[str, Any], name: str, default: str | None = None) -> str:
        value = data.get(name)
        if value is None:
            if default is None:
                raise self.fail(name, "is required")
            return default
        if not isinstance(value, str):
            raise self.fail(name, f"must be a string, got {_kind(value)}")
        return value

    def choice(self, data: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str:
        value = self.string(data, name)
        if value not in allowed:
            raise self.fail(name, f"unknown value {value!r} (allowed: {', '.join(allowed)})")
        return value

    def choices(self, data: dict[str, Any], name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        values = self.lst(data, name)
        for i, value in enumerate(values):
            if value not in allowed:
                raise ProblemError(
                    self.item,
                    f"{self.prefix}{name}[{i}]",
                    f"unknown value {value!r} (allowed: {', '.join(allowed)})",
                )
        return tuple(values)

    def strings(self, data: dict[str, Any], name: str, lower: bool = False) -> tuple[str, ...]:
        values = self.lst(data, name)
        for i, value in enumerate(values):
            if not isinstance(value, str) or not value:
                raise ProblemError(self.item, f"{self.prefix}{name}[{i}]", "must be a non-empty string")
        return tuple(v.lower() for v in values) if lower else tuple(values)

    def boolean(self, data: dict[str, Any], name: str) -> bool:
        value = data.get(name)
        if value is None:
            return False
        if value is not True and value is not False:
            raise self.fail(name, f"must be true or false, got {_kind(value)}")
        return value

    def integer(self, data: dict[str, Any], name: str, minimum: int, default: int | None) -> int | None:
        value = data.get(name)
        if value is None:
            if default is None and name in ("age", "bedspaces"):
                raise self.fail(name, "is required")
            return default
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(name, f"must be an integer, got {_kind(value)}")
        if value < minimum:
            raise self.fail(name, f"must be >= {minimum}, got {value}")
        return value

    def number(self, data: dict[str, Any], name: str, low: float, high: float, required: bool) -> float:
        value = data.get(name)
        if value is None:
            if required:
                raise self.fail(name, "is required")
            return 0.0
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self.fail(name, f"must be a number, got {_kind(value)}")
        if not (low <= value <= high) or math.isnan(value):
            raise self.fail(name, f"must be between {low:g} and {high:g}, got {value}")
        return float(value)

    def date(self, data: dict[str, Any], name: str, required: bool) -> dt.date | None:
        value = data.get(name)
        if value is None:
            if required:
                raise self.fail(name, "is required")
            return None
        if not isinstance(value, str):
            raise self.fail(name, f"must be a date string YYYY-MM-DD, got {_kind(value)}")
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise self.fail(name, f"is not a date YYYY-MM-DD: {value!r}") from None

    def point(self, value: Any, name: str) -> tuple[float, float]:
        if not isinstance(value, dict):
            raise self.fail(name, f"must be an object {{lat, lon}}, got {_kind(value)}")
        sub = _Reader(self.item, f"{self.prefix}{name}.")
        return sub.number(value, "lat", -90.0, 90.0, True), sub.number(value, "lon", -180.0, 180.0, True)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def _label(kind: str, index: int, data: Any) -> str:
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        return f"{kind}[{index}] (id {data['id']!r})"
    return f"{kind}[{index}]"


def _open_item(kind: str, index: int, data: Any) -> tuple[_Reader, str]:
    """A reader for one unit or referral object, and its non-empty id."""
    item = _label(kind, index, data)
    if not isinstance(data, dict):
        raise ProblemError(item, "", f"must be an object, got {_kind(data)}")
    reader = _Reader(item)
    ident = reader.string(data, "id")
    if not ident:
        raise reader.fail("id", "must not be empty")
    return reader, ident


def _parse_unit(index: int, data: Any) -> Unit:
    r, uid = _open_item("units", index, data)
    genders = r.choices(data, "genders", GENDERS) if data.get("genders") is not None else GENDERS
    return Unit(
        id=uid,
        scheme=r.string(data, "scheme", uid) or uid,
        type=r.choice(data, "type", UNIT_TYPES),
        authority=r.string(data, "authority", ""),
        district=r.string(data, "district", "").upper(),
        lat=r.number(data, "lat", -90.0, 90.0, True),
        lon=r.number(data, "lon", -180.0, 180.0, True),
        bedspaces=r.integer(data, "bedspaces", 1, 1) or 1,
        genders=genders,
        accepts_children=r.boolean(data, "accepts_children"),
        max_children=r.integer(data, "max_children", 0, None),
        max_boy_age=r.integer(data, "max_boy_age", 0, None),
        wheelchair_accessible=r.boolean(data, "wheelchair_accessible"),
        step_free=r.boolean(data, "step_free"),
        pets=r.boolean(data, "pets"),
        accepts_nrpf=r.boolean(data, "accepts_nrpf"),
        communal=r.boolean(data, "communal"),
        languages=r.strings(data, "languages", lower=True),
        specialisms=r.choices(data, "specialisms", SPECIALISMS),
        specialist_only=r.boolean(data, "specialist_only"),
        available_from=r.date(data, "available_from", False),
    )


def _parse_referral(index: int, data: Any) -> Referral:
    r, rid = _open_item("referrals", index, data)
    item = r.item
    adults_raw = r.lst(data, "adults")
    if not adults_raw:
        raise r.fail("adults", "a referral needs at least one adult")
    adults = []
    for i, a in enumerate(adults_raw):
        if not isinstance(a, dict):
            raise r.fail(f"adults[{i}]", f"must be an object, got {_kind(a)}")
        sub = _Reader(item, f"adults[{i}].")
        adults.append(Adult(gender=sub.choice(a, "gender", GENDERS), age=sub.integer(a, "age", 0, None) or 0))
    children = []
    for i, c in enumerate(r.lst(data, "children")):
        if not isinstance(c, dict):
            raise r.fail(f"children[{i}]", f"must be an object, got {_kind(c)}")
        sub = _Reader(item, f"children[{i}].")
        children.append(Child(age=sub.integer(c, "age", 0, None) or 0, sex=sub.choice(c, "sex", SEXES)))
    n = r.obj(data, "needs")
    nr = _Reader(item, "needs.")
    needs = Needs(
        wheelchair=nr.boolean(n, "wheelchair"),
        step_free=nr.boolean(n, "step_free"),
        pets=nr.boolean(n, "pets"),
        nrpf=nr.boolean(n, "nrpf"),
        communal_unsuitable=nr.boolean(n, "communal_unsuitable"),
        languages=nr.strings(n, "languages", lower=True),
        interpreter_ok=nr.boolean(n, "interpreter_ok"),
        specialisms=nr.choices(n, "specialisms", SPECIALISMS),
    )
    s = r.obj(data, "safety")
    sr = _Reader(item, "safety.")
    locations = tuple(sr.point(p, f"perpetrator_locations[{i}]")
                      for i, p in enumerate(sr.lst(s, "perpetrator_locations")))
    safety = Safety(
        exclude_authorities=sr.strings(s, "exclude_authorities"),
        exclude_districts=tuple(d.upper() for d in sr.strings(s, "exclude_districts")),
        perpetrator_locations=locations,
        min_distance_km=sr.number(s, "min_distance_km", 0.0, 40100.0, False),
        separate_from=sr.strings(s, "separate_from"),
    )
    p = r.obj(data, "preferences")
    pr = _Reader(item, "preferences.")
    near_raw = p.get("near")
    preferences = Preferences(
        types=pr.choices(p, "types", UNIT_TYPES),
        near=None if near_raw is None else pr.point(near_raw, "near"),
    )
    return Referral(
        id=rid,
        risk=r.choice(data, "risk", RISKS),
        referred_on=r.date(data, "referred_on", True) or dt.date.min,
        needed_by=r.date(data, "needed_by", False),
        adults=tuple(adults),
        children=tuple(children),
        needs=needs,
        safety=safety,
        preferences=preferences,
    )


def parse_problem(data: Any) -> Problem:
    """Validate a CONTRACT section 3 document and return it as frozen dataclasses."""
    if not isinstance(data, dict):
        raise ProblemError("problem", "", f"must be a JSON object, got {_kind(data)}")
    top = _Reader("problem")
    as_of = top.date(data, "as_of", False) or dt.datetime.now(dt.UTC).date()
    units = tuple(_parse_unit(i, u) for i, u in enumerate(top.lst(data, "units")))
    referrals = tuple(_parse_referral(i, r) for i, r in enumerate(top.lst(data, "referrals")))
    _check_unique("units", units)
    _check_unique("referrals", referrals)
    weights_raw = top.obj(data, "weights")
    weights: dict[str, float] = {}
    for key, value in weights_raw.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ProblemError("problem", f"weights.{key}", "must be a number >= 0")
        weights[key] = float(value)
    return Problem(as_of=as_of, units=units, referrals=referrals, weights=weights)


def _check_unique(kind: str, items: tuple[Unit | Referral, ...]) -> None:
    seen: dict[str, int] = {}
    for i, x in enumerate(items):
        first = seen.setdefault(x.id, i)
        if first != i:
            raise ProblemError(f"{kind}[{i}] (id {x.id!r})", "id", f"duplicate id, first used by {kind}[{first}]")
