"""The match problem (CONTRACT section 3): one msgspec schema, read from JSON bytes or from Python data.

The Structs below are both the schema and the optimiser's own frozen types: msgspec checks a
document against them in C and builds them directly, for `safeaccom match` (JSON bytes),
`POST /api/v1/optimiser/solve` and the service's match runs (Python data). A document that breaks
the schema raises ProblemError naming the item (`referrals[3] (id 'r9')`) and the field
(`adults[0].gender`).

Missing optional fields take the neutral value (false, empty, null, 0), and so does an explicit
null for a field that is not nullable. Two documented exceptions where "empty" would silently make
a unit useless: a unit without `genders` accepts every gender, and a unit without `scheme` is its
own scheme. A missing `as_of` is today (UTC). Districts are read in capitals and language codes in
lower case. `separate_from` naming a referral that is not in the problem is ignored: that household
may already be placed or closed, and nothing in this problem can share a roof with it.
"""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from functools import cache
from typing import Annotated, Any

import msgspec
from msgspec.structs import force_setattr

from optimiser.vocabulary import GENDERS, RISK_TIER, Gender, Risk, Sex, Specialism, UnitType

Text = Annotated[str, msgspec.Meta(min_length=1)]
Count = Annotated[int, msgspec.Meta(ge=0)]
Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
LanguageCode = Annotated[str, msgspec.Meta(
    pattern=r"^[A-Za-z]{2,3}$", description="ISO 639-1 (two letters) or ISO 639-3 (three letters) code",
)]


class ProblemError(ValueError):
    """A match problem that breaks CONTRACT section 3; names the item and the field at fault."""

    def __init__(self, item: str, field: str, message: str) -> None:
        super().__init__(f"{item}: {field}: {message}")
        self.item = item
        self.field = field
        self.message = message


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


class ProblemTooLarge(ValueError):
    """A problem past a size limit the caller set: `measure` ("referrals x units" or "feasible_pairs")."""

    def __init__(self, measure: str, size: int, limit: int) -> None:
        super().__init__(f"{measure}: {size:,} is more than the limit of {limit:,}")
        self.measure = measure
        self.size = size
        self.limit = limit


def _lower(codes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(map(str.lower, codes))


# gc=False: these hold no reference cycles, and the collector would otherwise walk every one of
# the hundreds of thousands of objects a large problem makes while it is being read.
class Point(msgspec.Struct, frozen=True, gc=False):
    lat: Latitude
    lon: Longitude


class Adult(msgspec.Struct, frozen=True, gc=False):
    gender: Gender
    age: Count


class Child(msgspec.Struct, frozen=True, gc=False):
    age: Count
    sex: Sex


class Needs(msgspec.Struct, frozen=True, gc=False):
    wheelchair: bool = False
    step_free: bool = False
    pets: bool = False
    nrpf: bool = False
    communal_unsuitable: bool = False
    assistance_dog: bool = False  # never a pet: only a unit's documented reason may refuse it
    languages: tuple[LanguageCode, ...] = ()
    interpreter_ok: bool = False
    specialisms: tuple[Specialism, ...] = ()

    def __post_init__(self) -> None:
        if self.languages:
            force_setattr(self, "languages", _lower(self.languages))


class Safety(msgspec.Struct, frozen=True, gc=False):
    exclude_authorities: tuple[Text, ...] = ()
    exclude_districts: tuple[Text, ...] = ()
    perpetrator_locations: tuple[Point, ...] = ()
    min_distance_km: Annotated[float, msgspec.Meta(ge=0.0, le=40100.0)] = 0.0
    separate_from: tuple[Text, ...] = ()
    exclude_schemes: tuple[Text, ...] = ()  # schemes where a linked household lives (rule `separation`)

    def __post_init__(self) -> None:
        if self.exclude_districts:
            force_setattr(self, "exclude_districts", tuple(map(str.upper, self.exclude_districts)))


class Preferences(msgspec.Struct, frozen=True, gc=False):
    types: tuple[UnitType, ...] = ()
    near: Point | None = None


class Referral(msgspec.Struct, frozen=True, gc=False):
    id: Text
    risk: Risk
    referred_on: dt.date
    adults: Annotated[tuple[Adult, ...], msgspec.Meta(min_length=1)]
    needed_by: dt.date | None = None
    children: tuple[Child, ...] = ()
    needs: Needs = Needs()
    safety: Safety = Safety()
    preferences: Preferences = Preferences()

    @property
    def size(self) -> int:
        """People in the household."""
        return len(self.adults) + len(self.children)

    @property
    def tier(self) -> int:
        """0 standard, 1 medium, 2 high."""
        return RISK_TIER[self.risk]


class Unit(msgspec.Struct, frozen=True, gc=False):
    id: Text
    type: UnitType
    lat: Latitude
    lon: Longitude
    scheme: str = ""  # empty: the unit is its own scheme
    authority: str = ""
    district: str = ""
    bedspaces: Annotated[int, msgspec.Meta(ge=1)] = 1
    genders: tuple[Gender, ...] = GENDERS
    accepts_children: bool = False
    max_children: Count | None = None
    max_boy_age: Count | None = None
    wheelchair_accessible: bool = False
    step_free: bool = False
    pets: bool = False
    accepts_nrpf: bool = False
    communal: bool = False
    no_assistance_dog_reason: Text | None = None  # null: assistance dogs welcome (rule `assistance_dog`)
    languages: tuple[LanguageCode, ...] = ()
    specialisms: tuple[Specialism, ...] = ()
    specialist_only: bool = False
    available_from: dt.date | None = None

    def __post_init__(self) -> None:
        if not self.scheme:
            force_setattr(self, "scheme", self.id)
        if self.district and not self.district.isupper():
            force_setattr(self, "district", self.district.upper())
        if self.languages:
            force_setattr(self, "languages", _lower(self.languages))


class Problem(msgspec.Struct, frozen=True):
    as_of: dt.date = msgspec.field(default_factory=_today)
    units: tuple[Unit, ...] = ()
    referrals: tuple[Referral, ...] = ()
    weights: dict[str, Annotated[float, msgspec.Meta(ge=0.0)]] = {}


_DECODER = msgspec.json.Decoder(Problem)


def read_problem(raw: bytes) -> Problem:
    """Check a CONTRACT section 3 JSON document and return it as the optimiser's Structs."""
    try:
        problem = _DECODER.decode(raw)
    except msgspec.ValidationError:
        return parse_problem(msgspec.json.decode(raw))  # the slow way only to name the fault or forgive nulls
    except (msgspec.DecodeError, UnicodeDecodeError) as error:  # msgspec raises the last as is
        raise ProblemError("problem", "", f"not valid JSON: {error}") from None
    _check_unique(problem)
    return problem


def parse_problem(data: Any) -> Problem:
    """Check a CONTRACT section 3 document (parsed JSON) and return it as the optimiser's Structs."""
    try:
        problem = msgspec.convert(data, Problem)
    except msgspec.ValidationError:
        try:
            problem = msgspec.convert(_without_nulls(data, Problem), Problem)
        except msgspec.ValidationError as error:
            raise _named(error, data) from None
    _check_unique(problem)
    return problem


def _check_unique(problem: Problem) -> None:
    for kind, ids in (("units", [u.id for u in problem.units]), ("referrals", [r.id for r in problem.referrals])):
        if len(set(ids)) == len(ids):
            continue
        seen: dict[str, int] = {}
        for i, ident in enumerate(ids):
            first = seen.setdefault(ident, i)
            if first != i:
                raise ProblemError(f"{kind}[{i}] (id {ident!r})", "id", f"duplicate id, first used by {kind}[{first}]")


# Explicit nulls: a null where the schema has a default but takes no null is read as missing.

class _Field(typing.NamedTuple):
    null_is_missing: bool
    struct: type[msgspec.Struct] | None  # the Struct of the value, or of each item of a tuple
    many: bool


def _strip(tp: Any) -> Any:
    return typing.get_args(tp)[0] if typing.get_origin(tp) is Annotated else tp


@cache
def _plan(cls: type[msgspec.Struct]) -> dict[str, _Field]:
    plan = {}
    hints = typing.get_type_hints(cls, include_extras=True)
    for info in msgspec.structs.fields(cls):
        tp = _strip(hints[info.name])
        union = typing.get_origin(tp) in (typing.Union, types.UnionType)
        options = [_strip(t) for t in typing.get_args(tp)] if union else [tp]
        nullable = type(None) in options
        many = False
        struct = None
        for option in options:
            if typing.get_origin(option) is tuple:
                option, many = _strip(typing.get_args(option)[0]), True
            if isinstance(option, type) and issubclass(option, msgspec.Struct):
                struct = option
        plan[info.name] = _Field(not info.required and not nullable, struct, many)
    return plan


def _without_nulls(data: Any, cls: type[msgspec.Struct]) -> Any:
    if not isinstance(data, dict):
        return data
    plan = _plan(cls)
    out = {}
    for key, value in data.items():
        spec = plan.get(key)
        if spec is not None:
            if value is None and spec.null_is_missing:
                continue
            if spec.struct is not None and value is not None:
                if spec.many and isinstance(value, list):
                    value = [_without_nulls(x, spec.struct) for x in value]
                elif not spec.many:
                    value = _without_nulls(value, spec.struct)
        out[key] = value
    return out


# Errors: msgspec's path `$.referrals[3].adults[0].age` becomes item `referrals[3] (id 'r9')` and
# field `adults[0].age`; the message gains the value at fault and, for a choice, the values allowed.

_AT = re.compile(r"^(?P<message>.*) - at `\$(?P<path>.*)`$", re.DOTALL)
_ITEM = re.compile(r"^\.(?P<kind>units|referrals)\[(?P<index>\d+)\]\.?")
_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`$")
_STEP = re.compile(r"\.(\w+)|\[(\d+)\]")
_NOTHING = object()


def _named(error: msgspec.ValidationError, data: Any) -> ProblemError:
    text = str(error)
    at = _AT.match(text)
    message, path = (at["message"], at["path"]) if at else (text, "")
    missing = _MISSING.match(message)
    if missing:
        path = f"{path}.{missing['name']}"
        message = "is required"
    if path == ".weights[...]":  # msgspec does not name the key
        path = ".weights." + next((k for k, v in data["weights"].items() if not _weight_ok(v)), "")
    elif not missing:
        message = _explained(message, path, data)
    item = _ITEM.match(path)
    if item is None:
        return ProblemError("problem", path.lstrip("."), message)
    kind, index = item["kind"], int(item["index"])
    raw = data[kind][index]
    label = f"{kind}[{index}] (id {raw['id']!r})" if isinstance(raw, dict) and isinstance(raw.get("id"), str) \
        else f"{kind}[{index}]"
    return ProblemError(label, path[item.end():], message)


def _explained(message: str, path: str, data: Any) -> str:
    """msgspec's message with the value given and, for an unknown choice, the values allowed."""
    value: Any = data
    tp: Any = Problem
    for name, index in _STEP.findall(path):
        if name:
            value = value.get(name, _NOTHING) if isinstance(value, dict) else _NOTHING
            tp = typing.get_type_hints(tp, include_extras=True).get(name) if _is_struct(tp) else None
        else:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else _NOTHING
            tp = typing.get_args(tp)[0] if typing.get_origin(tp) is tuple else None
        tp = _unwrapped(tp)
    if message.startswith("Invalid RFC3339 encoded date"):
        message = "is not a date YYYY-MM-DD"
    elif "matching regex" in message and ".languages[" in path:
        message = "is not an ISO 639-1 or ISO 639-3 code (two or three letters)"
    elif message.startswith("Invalid enum value") and typing.get_origin(tp) is typing.Literal:
        return f"unknown value {value!r} (allowed: {', '.join(typing.get_args(tp))})"
    if value is not _NOTHING and "got" not in message:
        return f"{message}, got {value!r}"
    return message


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def _unwrapped(tp: Any) -> Any:
    """The type without Annotated, and without None when it is optional."""
    tp = _strip(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        options = [t for t in typing.get_args(tp) if t is not type(None)]
        tp = _strip(options[0]) if len(options) == 1 else tp
    return tp


def _weight_ok(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
