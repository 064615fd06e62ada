"""The service's vocabulary, defined once and imported where it is used.

The match problem's words (unit types, genders, sexes, specialisms, risks, rule codes) come from
`optimiser/vocabulary.py` and are only re-exported here; what the service alone speaks of (statuses,
age bands, close and decline reasons, destinations, equality monitoring) is defined here.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from msgspec import Meta

from optimiser.vocabulary import RISKS, Gender, PairRuleCode, Risk, RuleCode, Sex, Specialism, UnitType

__all__ = [
    "ADULT_BANDS", "CHARACTERISTICS", "CHILD_BANDS", "DECLINE_REASONS", "DESTINATIONS", "INT32_MAX", "NOT_RECORDED",
    "NO_NUL", "RISKS_HIGHEST_FIRST", "SCHEME_TYPES", "UNIT_STATUSES", "UNMET_REASONS", "WITHDRAWN_REASONS",
    "AdultAgeBand", "AvailabilityStatus", "ChildAgeBand", "CloseOutcome", "CloseReason", "DeclineReason",
    "Destination", "District", "Gender", "Gss", "Language", "OfferStatusName", "ReferralStatusName", "RiskName",
    "SchemeTypeName", "Sex", "Specialism", "UnitStatusName", "adult_age_band", "child_age_band",
]

SchemeTypeName = UnitType
SCHEME_TYPES: tuple[str, ...] = get_args(SchemeTypeName)
RiskName = Risk
RISKS_HIGHEST_FIRST: tuple[Risk, ...] = tuple(reversed(RISKS))

# Statuses of units, referrals and offers as the API names them (the tables keep them as enums).
AvailabilityStatus = Literal["available", "unavailable", "occupied"]
UnitStatusName = Literal["available", "held", "occupied", "unavailable"]
UNIT_STATUSES: tuple[str, ...] = get_args(UnitStatusName)
ReferralStatusName = Literal["open", "placed", "closed"]
OfferStatusName = Literal["pending", "accepted", "declined", "expired", "withdrawn"]

# Closing a referral: the outcome, and its reason. A referral closes unmet for one of the matcher's
# rules, for want of capacity, or because offers were declined; `other` fits every outcome.
CloseOutcome = Literal["placed", "withdrawn", "unmet"]
UnmetReason = Literal[RuleCode, PairRuleCode, "capacity", "offers_declined"]
WithdrawnReason = Literal["household_withdrew", "no_contact", "other_support", "returned_home"]
CloseReason = Literal[UnmetReason, WithdrawnReason, "placed", "other"]
UNMET_REASONS = frozenset((*get_args(UnmetReason), "other"))
WITHDRAWN_REASONS = frozenset((*get_args(WithdrawnReason), "other"))

# Why a provider declined an offer, and where a household went when its placement ended.
DeclineReason = Literal[
    "unit_unsuitable", "needs_not_met", "risk_too_high", "no_capacity_to_support", "household_declined",
    "household_not_contactable", "other",
]
DECLINE_REASONS: tuple[str, ...] = get_args(DeclineReason)
Destination = Literal[
    "own_tenancy", "social_housing", "private_rented", "move_on", "other_refuge", "family_or_friends",
    "returned_home", "hospital_or_care", "remained_in_own_home", "unknown", "other",
]
DESTINATIONS: tuple[str, ...] = get_args(Destination)

# Age bands of the statutory return (and of a pseudonymised household, which keeps only its bands).
AdultAgeBand = Literal["16-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"]
ADULT_BANDS: tuple[str, ...] = get_args(AdultAgeBand)
ChildAgeBand = Literal["0-4", "5-10", "11-15", "16-17"]
CHILD_BANDS: tuple[str, ...] = get_args(ChildAgeBand)


def _band(age: int, bands: tuple[str, ...]) -> str:
    """The band an age falls in: each band but the last ends at the number after its dash."""
    for band in bands[:-1]:
        if age <= int(band.rpartition("-")[2]):
            return band
    return bands[-1]


def adult_age_band(age: int) -> str:
    """An adult's age band, e.g. 30 -> "25-34"."""
    return _band(age, ADULT_BANDS)


def child_age_band(age: int) -> str:
    """A child's age band, e.g. 7 -> "5-10"."""
    return _band(age, CHILD_BANDS)


Gss = Annotated[str, Meta(pattern=r"^[EWSN]\d{8}$", description="ONS GSS code, e.g. E08000034 (Kirklees)")]
District = Annotated[
    str, Meta(pattern=r"^(?i:[A-Z]{1,2}[0-9][0-9A-Z]?)$", description="postcode district, e.g. HD1")
]
Language = Annotated[
    str, Meta(pattern=r"^[a-z]{2,3}$", description="ISO 639-1 (2 letters) or ISO 639-3 (3 letters) code: ur, bfi")
]

# PostgreSQL text cannot hold NUL; refuse it as bad input rather than fail on insert.
NO_NUL = r"^[^\x00]*$"
INT32_MAX = 2**31 - 1
Id = Annotated[int, Meta(ge=1, le=INT32_MAX)]  # a row's id in a request body

# Equality monitoring of a referral's lead adult (for the reports and the statutory return): the
# protected characteristics of the Equality Act 2010 (sex, gender reassignment, age, race, disability,
# sexual orientation, religion or belief, pregnancy and maternity, marriage and civil partnership),
# and immigration status.
CHARACTERISTICS = ("sex", "gender_identity", "age_band", "ethnicity", "disability", "sexual_orientation", "religion",
                   "pregnancy_maternity", "marriage_civil_partnership", "immigration_status")
NOT_RECORDED = "not_recorded"

# --- the statutory return (CONTRACT section 6): service-only vocabulary ------------------------

# Accommodation types of SI 2021/991 reg. 2. `sanctuary` is a service type: support in the
# household's own home, recorded and reported, never in the match problem or vacancy search.
AccommodationTypeName = Literal["refuge", "specialist_refuge", "dispersed", "move_on", "other_safe", "sanctuary"]
ACCOMMODATION_TYPES: tuple[str, ...] = (
    "refuge", "specialist_refuge", "dispersed", "sanctuary", "move_on", "other_safe",
)
MATCHED_TYPES: tuple[str, ...] = tuple(t for t in ACCOMMODATION_TYPES if t != "sanctuary")
REGULATION_NAMES: dict[str, str] = {
    "refuge": "Refuge accommodation",
    "specialist_refuge": "Specialist safe accommodation",
    "dispersed": "Dispersed accommodation",
    "sanctuary": "Sanctuary scheme",
    "move_on": "Second stage accommodation (move-on)",
    "other_safe": "Other accommodation designated as domestic abuse emergency accommodation",
}

# How a household reached support: an officer's referral, or recorded by the provider that took it in.
SourceName = Literal["officer", "helpline", "agency", "self", "other_council"]
SOURCES: tuple[str, ...] = ("officer", "helpline", "agency", "self", "other_council")
ProviderSourceName = Literal["helpline", "agency", "self", "other_council"]

# Why support ended, kept apart from where the household went (destination).
EndReasonName = Literal[
    "no_longer_needed", "planned_move_on", "left_before_planned_end", "asked_to_leave", "transferred",
    "other",
]
END_REASONS: tuple[str, ...] = (
    "no_longer_needed", "planned_move_on", "left_before_planned_end", "asked_to_leave", "transferred", "other",
)

# Why a household that asked for support in the area could not be supported: capacity first.
UnableReasonName = Literal[
    "capacity", "needs_not_met", "risk_too_high", "nrpf", "household_size", "not_eligible", "declined_support",
    "other",
]
UNABLE_REASONS: tuple[str, ...] = (
    "capacity", "needs_not_met", "risk_too_high", "nrpf", "household_size", "not_eligible", "declined_support",
    "other",
)

# Specialist characteristics of a person supported (counted per individual, and "at least one").
SpecialistCharacteristicName = Literal[
    "black_and_minoritised", "mental_health", "disabled", "lgbt_plus", "substance_use", "nrpf",
    "young_person", "older_person", "deaf_or_hearing_impaired", "gypsy_roma_traveller",
]
SPECIALIST_CHARACTERISTICS: tuple[str, ...] = (
    "black_and_minoritised", "mental_health", "disabled", "lgbt_plus", "substance_use", "nrpf",
    "young_person", "older_person", "deaf_or_hearing_impaired", "gypsy_roma_traveller",
)
YesNoPnts = Literal["yes", "no", "prefer_not_to_say"]
