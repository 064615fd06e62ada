"""Shared vocabulary of the API (CONTRACT section 3): accommodation types, genders, specialisms, codes."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from msgspec import Meta

SchemeTypeName = Literal["refuge", "specialist_refuge", "dispersed", "move_on", "other_safe"]
SCHEME_TYPES: tuple[str, ...] = get_args(SchemeTypeName)
Gender = Literal["female", "male", "non_binary"]
Specialism = Literal["lgbtq", "minoritised", "disability", "complex_needs", "young_people", "older_people", "male"]
AvailabilityStatus = Literal["available", "unavailable", "occupied"]
UnitStatusName = Literal["available", "held", "occupied", "unavailable"]
UNIT_STATUSES: tuple[str, ...] = get_args(UnitStatusName)

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

# Equality monitoring of a referral's lead adult (for the reports and the statutory return).
CHARACTERISTICS = ("sex", "gender_identity", "age_band", "ethnicity", "disability", "sexual_orientation", "religion",
                   "immigration_status")
NOT_RECORDED = "not_recorded"
