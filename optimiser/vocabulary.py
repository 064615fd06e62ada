"""The match problem's vocabulary (CONTRACT section 3), defined once and imported everywhere.

Each vocabulary is a `Literal` type (for msgspec schemas and mypy) and the tuple of its values in
the contract's order (for loops, bit positions and error messages); the tuple is read from the
type, so the two cannot drift. Service-only vocabulary (age bands, destinations, decline and end
reasons, statuses) lives in `service/vocabulary.py`.
"""

from __future__ import annotations

from enum import IntFlag
from typing import Literal, get_args

UnitType = Literal["refuge", "specialist_refuge", "dispersed", "move_on", "other_safe"]
UNIT_TYPES: tuple[UnitType, ...] = get_args(UnitType)

Gender = Literal["female", "male", "non_binary"]
GENDERS: tuple[Gender, ...] = get_args(Gender)

Sex = Literal["female", "male"]
SEXES: tuple[Sex, ...] = get_args(Sex)

Specialism = Literal["lgbtq", "minoritised", "disability", "complex_needs", "young_people", "older_people", "male"]
SPECIALISMS: tuple[Specialism, ...] = get_args(Specialism)

Risk = Literal["standard", "medium", "high"]
RISKS: tuple[Risk, ...] = get_args(Risk)  # lowest first
RISK_TIER: dict[str, int] = {name: tier for tier, name in enumerate(RISKS)}  # 0 standard, 1 medium, 2 high

# The hard rules of one pair (referral, unit), in the contract's order: reasons list them in this order.
RuleCode = Literal[
    "gender",
    "household_size",
    "children",
    "boy_age",
    "wheelchair",
    "step_free",
    "pets",
    "assistance_dog",
    "nrpf",
    "communal",
    "language",
    "specialist_only",
    "excluded_area",
    "too_close",
    "not_available",
    "unit_type",
]
RULES: tuple[RuleCode, ...] = get_args(RuleCode)

# The rule that binds two referrals at once. It also rules out single units: those of the schemes a
# referral's `safety.exclude_schemes` names (a linked household outside the problem lives there).
PairRuleCode = Literal["separation"]
PAIR_RULES: tuple[PairRuleCode, ...] = get_args(PairRuleCode)

# Every code that can rule out one unit for one referral, in the order reasons list them.
UNIT_RULES: tuple[RuleCode | PairRuleCode, ...] = (*RULES, *PAIR_RULES)

# Why an unassigned household was left out: the rules above, `capacity` (feasible units went to
# households of equal or higher priority) and `no_units` (no unit at all was considered).
ReasonCode = Literal[RuleCode, PairRuleCode, "capacity", "no_units"]
REASON_CODES: tuple[str, ...] = get_args(ReasonCode)


class Capability(IntFlag):
    """What a unit offers and, with the same bits, what a household needs.

    A pair passes every rule these flags stand for when `needs & ~offers == 0`. A unit's STEP_FREE
    is set for wheelchair-accessible units too; NOT_COMMUNAL is the unit's `not communal` and the
    household's `communal_unsuitable`; a household needs CHILDREN when it has children.
    """

    FEMALE = 1 << 0
    MALE = 1 << 1
    NON_BINARY = 1 << 2
    WHEELCHAIR = 1 << 3
    STEP_FREE = 1 << 4
    PETS = 1 << 5
    NRPF = 1 << 6
    NOT_COMMUNAL = 1 << 7
    CHILDREN = 1 << 8
    ASSISTANCE_DOG = 1 << 9  # the unit has no documented reason to refuse one

    ANY_GENDER = FEMALE | MALE | NON_BINARY


GENDER_FLAG: dict[str, Capability] = {
    "female": Capability.FEMALE, "male": Capability.MALE, "non_binary": Capability.NON_BINARY,
}

# The rules that are one capability flag each (gender and children are flags plus more).
FLAG_RULES: dict[RuleCode, Capability] = {
    "wheelchair": Capability.WHEELCHAIR,
    "step_free": Capability.STEP_FREE,
    "pets": Capability.PETS,
    "assistance_dog": Capability.ASSISTANCE_DOG,
    "nrpf": Capability.NRPF,
    "communal": Capability.NOT_COMMUNAL,
}


def bits(values: tuple[str, ...], names: tuple[str, ...]) -> int:
    """A bit set of `values`: bit k stands for names[k]."""
    out = 0
    for value in values:
        out |= 1 << names.index(value)
    return out
