"""The workspace's forms: what was typed becomes the API's request types, and the API's refusals become
plain words next to the field at fault (GOV.UK error pattern). No Litestar here, no database.

A form is a flat mapping of names to lists of strings (what a browser posts). Each form keeps what
was typed (`values`) so that a refused form is shown again as the user left it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, get_args

import msgspec

from service import vocabulary
from service.errors import DomainError
from service.referrals.service import ReferralIn
from service.vocabulary import Specialism

ADULT_ROWS = 2
CHILD_ROWS = 4
RISKS = [("standard", "Standard"), ("medium", "Medium"), ("high", "High")]
GENDERS = [("female", "Female"), ("male", "Male"), ("non_binary", "Non-binary")]
SEXES = [("female", "Girl"), ("male", "Boy")]
NEEDS = [
    ("wheelchair", "Uses a wheelchair", "Only wheelchair-accessible units are suggested."),
    ("step_free", "Needs step-free access", "Step-free or wheelchair-accessible units."),
    ("pets", "Has a pet that must come too", ""),
    ("nrpf", "No recourse to public funds", "Only schemes that accept households with no recourse."),
    ("communal_unsuitable", "Communal living is unsuitable", "Only self-contained units."),
    ("interpreter_ok", "An interpreter will do", "Then a unit need not share one of the household's languages."),
]
SPECIALISMS = [(code, "LGBTQ+" if code == "lgbtq" else code.replace("_", " ").capitalize())
               for code in get_args(Specialism)]
TYPES = [("refuge", "Refuge"), ("specialist_refuge", "Specialist refuge"), ("dispersed", "Dispersed"),
         ("move_on", "Move-on"), ("other_safe", "Other safe accommodation")]
STATUSES = [("available", "Available"), ("unavailable", "Unavailable"), ("occupied", "Occupied")]
DECLINE_REASONS = [(code, code.replace("_", " ").capitalize()) for code in vocabulary.DECLINE_REASONS]
DESTINATIONS = [(code, code.replace("_", " ").capitalize()) for code in vocabulary.DESTINATIONS]
CLOSE_OUTCOMES = [("placed", "Placed"), ("withdrawn", "Withdrawn"), ("unmet", "Need not met")]


def _equality_fields() -> list[tuple[str, str, list[tuple[str, str]]]]:
    out = []
    equality = next(f.type for f in msgspec.structs.fields(ReferralIn) if f.name == "equality")
    for f in msgspec.structs.fields(equality):
        values = [v for arg in get_args(f.type) for v in get_args(arg)]
        if not values or not all(isinstance(v, str) for v in values):
            continue  # per-person answers (lists) are not one choice of the form
        out.append((f.name, f.name.replace("_", " ").capitalize(), [(v, v.replace("_", " ").capitalize())
                                                                    for v in values]))
    return out


EQUALITY = _equality_fields()

# Plain words for the API's field names, used when its messages name another field.
LABELS = {
    "referred_on": "the date of referral", "needed_by": "the date needed by", "risk": "the risk level",
    "available_from": "the date available from", "ended_on": "the date the household left",
}


@dataclass
class Form:
    """What was typed, and the errors to show: field id -> message (in the order to list them)."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def error(self, field_id: str, message: str) -> None:
        """Note an error next to a field (the first one for a field wins)."""
        self.errors.setdefault(field_id, message)

    @property
    def ok(self) -> bool:
        return not self.errors


def first(data: Mapping[str, Sequence[str]], name: str) -> str:
    """A field's single value, trimmed ('' when absent)."""
    values = data.get(name) or []
    return values[0].strip() if values else ""


def _words(text: str) -> str:
    for name, words in LABELS.items():
        text = text.replace(name, words)
    return text[:1].upper() + text[1:]


def sentence(text: str) -> str:
    """An API message as a sentence for the page."""
    text = _words(text.strip())
    return text if text.endswith((".", "?", "!")) else text + "."


def _csv(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,\s]+", text) if part.strip()]


def parse_date(form: Form, field_id: str, raw: str, label: str, *, required: bool) -> date | None:
    """A date from an <input type=date> (YYYY-MM-DD), or an error in plain words."""
    if not raw:
        if required:
            form.error(field_id, f"Enter {label}")
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        form.error(field_id, f"Enter {label} as a real date, for example 2026-11-30")
        return None


def _int(form: Form, field_id: str, raw: str, label: str, low: int, high: int) -> int | None:
    if not raw.isdigit():
        form.error(field_id, f"Enter {label} as a whole number")
        return None
    value = int(raw)
    if not low <= value <= high:
        form.error(field_id, f"{label[:1].upper()}{label[1:]} must be between {low} and {high}")
        return None
    return value


# --- the household (New referral and Edit) -----------------------------------------------------------


def referral_values(referral: Any) -> dict[str, Any]:
    """A stored referral as the form's values (for Edit)."""
    values: dict[str, Any] = {
        "risk": referral.risk.value, "marac": referral.marac, "referred_on": referral.referred_on.isoformat(),
        "needed_by": referral.needed_by.isoformat() if referral.needed_by else "",
        "needs": [name for name, _, _ in NEEDS if referral.needs.get(name)],
        "languages": ", ".join(referral.needs.get("languages", [])),
        "specialisms": list(referral.needs.get("specialisms", [])),
        "types": list(referral.preferences.get("types", [])),
        "exclude_authorities": ", ".join(referral.safety.get("exclude_authorities", [])),
        "exclude_districts": ", ".join(referral.safety.get("exclude_districts", [])),
        "perpetrator_districts": ", ".join(loc["district"] for loc in referral.safety.get("perpetrator_locations", [])
                                           if loc.get("district")),
        "min_distance_km": f"{referral.safety.get('min_distance_km', 0):g}",
        "separate_from": ", ".join(str(x) for x in referral.safety.get("separate_from", [])),
    }
    for i, adult in enumerate(referral.household.get("adults", [])):
        values[f"adult-{i}-gender"], values[f"adult-{i}-age"] = adult["gender"], str(adult["age"])
    for i, child in enumerate(referral.household.get("children", [])):
        values[f"child-{i}-sex"], values[f"child-{i}-age"] = child["sex"], str(child["age"])
    return values


def rows(values: Mapping[str, Any], prefix: str, default: int) -> int:
    """How many rows of adults or children to show: the default, or one more than those filled in."""
    filled = [int(k.split("-")[1]) for k, v in values.items() if k.startswith(prefix + "-") and v]
    return max(default, max(filled, default=-1) + 2)


def household_form(data: Mapping[str, Sequence[str]], authorities: Mapping[str, str],
                   referred_on: date | None = None) -> tuple[Form, dict[str, Any]]:
    """The household form as the API's referral body, and the form with its errors.

    `authorities` maps lower-case names and codes to GSS codes, so officers can type "Leeds".
    Editing, the date of referral is the stored one (`referred_on`) and is not part of the form.
    """
    form = Form()
    values = form.values
    for name in ("risk", "referred_on", "needed_by", "languages", "exclude_authorities", "exclude_districts",
                 "perpetrator_districts", "min_distance_km", "separate_from", "version"):
        values[name] = first(data, name)
    if referred_on is not None:
        values["referred_on"] = referred_on.isoformat()
    values["marac"] = first(data, "marac") == "yes"
    for name in ("needs", "specialisms", "types"):
        values[name] = [v for v in data.get(name, []) if v]
    body: dict[str, Any] = {"marac": values["marac"]}
    if values["risk"] not in {code for code, _ in RISKS}:
        form.error("risk", "Choose the risk level")
    body["risk"] = values["risk"]
    body["referred_on"] = parse_date(form, "referred_on", values["referred_on"], "the date of referral", required=True)
    body["needed_by"] = parse_date(form, "needed_by", values["needed_by"], "the date needed by", required=False)

    adults = _people(form, data, "adult", "gender", GENDERS, "Choose the gender of adult {n}", (16, 120))
    if not adults:
        form.error("adult-0-gender", "Enter at least one adult: the person who needs safe accommodation")
    body["adults"] = adults
    body["children"] = _people(form, data, "child", "sex", SEXES, "Choose whether child {n} is a girl or a boy",
                               (0, 17))

    needs: dict[str, Any] = {name: name in values["needs"] for name, _, _ in NEEDS}
    needs["languages"] = []
    for code in _csv(values["languages"]):
        if not re.fullmatch(r"[a-z]{2,3}", code.lower()):
            form.error("languages", f"“{code}” is not a language code: use 2 or 3 letters, such as ur or bfi")
        needs["languages"].append(code.lower())
    needs["specialisms"] = [s for s in values["specialisms"] if s in {c for c, _ in SPECIALISMS}]
    body["needs"] = needs

    excluded = []
    for name in [part.strip() for part in values["exclude_authorities"].split(",") if part.strip()]:
        gss = authorities.get(name.lower())
        if gss is None:
            form.error("exclude_authorities", f"We do not know a council called “{name}”: check the spelling")
        else:
            excluded.append(gss)
    distance = values["min_distance_km"] or "0"
    try:
        km = float(distance)
        if not 0 <= km <= 1000:
            raise ValueError
    except ValueError:
        form.error("min_distance_km", "Enter the distance in kilometres as a number from 0 to 1000")
        km = 0.0
    linked = []
    for ident in _csv(values["separate_from"]):
        if not ident.isdigit():
            form.error("separate_from", f"“{ident}” is not a referral number")
        else:
            linked.append(int(ident))
    body["safety"] = {
        "exclude_authorities": sorted(set(excluded)),
        "exclude_districts": [d.upper() for d in _csv(values["exclude_districts"])],
        "perpetrator_locations": [{"district": d.upper()} for d in _csv(values["perpetrator_districts"])],
        "min_distance_km": km, "separate_from": linked,
    }
    body["preferences"] = {"types": [t for t in values["types"] if t in {c for c, _ in TYPES}]}
    equality = {}
    for name, _, choices in EQUALITY:
        chosen = first(data, f"equality-{name}")
        values[f"equality-{name}"] = chosen
        if chosen and chosen in {c for c, _ in choices}:
            equality[name] = chosen
    body["equality"] = equality
    if body["needed_by"] and body["referred_on"] and body["needed_by"] < body["referred_on"]:
        form.error("needed_by", "The date needed by must be the same as or after the date of referral")
    return form, body


def _people(form: Form, data: Mapping[str, Sequence[str]], kind: str, trait: str, choices: Sequence[tuple[str, str]],
            unchosen: str, ages: tuple[int, int]) -> list[dict[str, Any]]:
    """The rows of adults or children that were filled in (`kind`-N-`trait` and `kind`-N-age)."""
    people = []
    for i in range(12):
        chosen, age = first(data, f"{kind}-{i}-{trait}"), first(data, f"{kind}-{i}-age")
        form.values[f"{kind}-{i}-{trait}"], form.values[f"{kind}-{i}-age"] = chosen, age
        if not chosen and not age:
            continue
        if chosen not in {code for code, _ in choices}:
            form.error(f"{kind}-{i}-{trait}", unchosen.format(n=i + 1))
        years = _int(form, f"{kind}-{i}-age", age, f"the age of {kind} {i + 1}", *ages)
        people.append({trait: chosen, "age": years})
    return people


# Where the API's field paths are shown on the household form.
_HOUSEHOLD_FIELDS = [
    (re.compile(r"^adults\[(\d+)\]\.(gender|age)"), lambda m: f"adult-{m[1]}-{m[2]}"),
    (re.compile(r"^adults"), lambda m: "adult-0-gender"),
    (re.compile(r"^children\[(\d+)\]\.(sex|age)"), lambda m: f"child-{m[1]}-{m[2]}"),
    (re.compile(r"^children"), lambda m: "child-0-sex"),
    (re.compile(r"^needs\.languages"), lambda m: "languages"),
    (re.compile(r"^needs\.specialisms"), lambda m: "specialisms"),
    (re.compile(r"^safety\.perpetrator_locations"), lambda m: "perpetrator_districts"),
    (re.compile(r"^safety\.exclude_districts"), lambda m: "exclude_districts"),
    (re.compile(r"^safety\.exclude_authorities"), lambda m: "exclude_authorities"),
    (re.compile(r"^safety\.separate_from"), lambda m: "separate_from"),
    (re.compile(r"^safety\.min_distance_km"), lambda m: "min_distance_km"),
    (re.compile(r"^preferences\.types"), lambda m: "types"),
    (re.compile(r"^(risk|referred_on|needed_by|marac)$"), lambda m: m[1]),
]
_FRIENDLY = {
    "perpetrator_districts": "Enter postcode districts that exist, such as BD1 or HD7",
    "exclude_districts": "Enter postcode districts that exist, such as LS6 or HX1",
    "languages": "Enter language codes of 2 or 3 letters, such as ur or bfi",
    "separate_from": "Enter the numbers of referrals of your council, separated by commas",
}


def household_field(path: str) -> str:
    """The form field an API field path belongs to ('' when none does)."""
    for pattern, to_id in _HOUSEHOLD_FIELDS:
        found = pattern.match(path)
        if found:
            return to_id(found)
    return ""


def refusal(form: Form, error: DomainError | msgspec.ValidationError, to_field: Any = household_field,
            fallback: str = "") -> None:
    """Put the API's refusal (problem details, or a validation error) next to the fields it names."""
    if isinstance(error, msgspec.ValidationError):
        text = str(error)
        at = re.search(r" - at `\$\.?([^`]*)`$", text)
        path = at[1] if at else ""
        field_id = to_field(path) or fallback
        message = _FRIENDLY.get(field_id) or "Check this answer: " + _words(text[: at.start()] if at else text)
        form.error(field_id, message)
        return
    if error.status == 412:
        form.values["conflict"] = True
        form.error(fallback, "Someone else changed this since you opened it. Check the answers below and "
                             "save again if yours are still right")
        return
    if not error.errors:
        form.error(fallback, _words(error.detail))
        return
    for item in error.errors:
        field_id = to_field(str(item.get("field", ""))) or fallback
        message = str(item.get("message", error.detail))
        form.error(field_id, _FRIENDLY.get(field_id, _words(message)) if "Expected" in message else _words(message))


def choice(data: Mapping[str, Sequence[str]], name: str, allowed: Sequence[tuple[str, str]]) -> str | None:
    """A value from a fixed list (radios, selects), or None."""
    value = first(data, name)
    return value if value in {code for code, _ in allowed} else None


def version_of(data: Mapping[str, Sequence[str]]) -> int | None:
    """The version the page was showing (sent back as If-Match), or None."""
    raw = first(data, "version")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None
