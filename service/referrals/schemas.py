"""Request and response types of referrals (CONTRACT section 3, plus MARAC and equality monitoring)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType, field

from service.vocabulary import (
    AdultAgeBand,
    CloseOutcome,
    CloseReason,
    District,
    Gender,
    Gss,
    Id,
    Language,
    RiskName,
    SchemeTypeName,
    Sex,
    Specialism,
    SpecialistCharacteristicName,
    YesNoPnts,
)

PNTS = "prefer_not_to_say"
Age = Annotated[int, Meta(ge=0, le=120)]
Lat = Annotated[float, Meta(ge=49.0, le=61.0)]
Lon = Annotated[float, Meta(ge=-9.0, le=2.5)]


class AdultIn(Struct, forbid_unknown_fields=True):
    gender: Gender
    age: Annotated[int, Meta(ge=16, le=120)]


class ChildIn(Struct, forbid_unknown_fields=True):
    age: Annotated[int, Meta(ge=0, le=17)]
    sex: Sex


class NeedsIn(Struct, forbid_unknown_fields=True):
    wheelchair: bool = False
    step_free: bool = False
    pets: bool = False
    nrpf: bool = False
    communal_unsuitable: bool = False
    languages: Annotated[list[Language], Meta(max_length=10)] = []
    interpreter_ok: bool = False
    specialisms: Annotated[list[Specialism], Meta(max_length=7)] = []
    assistance_dog: Annotated[bool, Meta(description="an assistance dog (never a pet: the `pets` rule ignores it)")] = (
        False
    )


class LocationIn(Struct, forbid_unknown_fields=True):
    """A perpetrator's known location: a postcode district (stored as such), or a point if the officer gives one."""

    district: District | None = None
    lat: Lat | None = None
    lon: Lon | None = None


class SafetyIn(Struct, forbid_unknown_fields=True):
    exclude_authorities: Annotated[list[Gss], Meta(max_length=50)] = []
    exclude_districts: Annotated[list[District], Meta(max_length=100)] = []
    perpetrator_locations: Annotated[list[LocationIn], Meta(max_length=10)] = []
    min_distance_km: Annotated[float, Meta(ge=0, le=1000)] = 0.0
    separate_from: Annotated[list[Id], Meta(max_length=20)] = []


class PointIn(Struct, forbid_unknown_fields=True):
    lat: Lat
    lon: Lon


class PreferencesIn(Struct, forbid_unknown_fields=True):
    types: Annotated[list[SchemeTypeName], Meta(max_length=5)] = []
    near: PointIn | None = None


Characteristics = Annotated[list[SpecialistCharacteristicName], Meta(max_length=10)]


class AdultEqualityIn(Struct, forbid_unknown_fields=True):
    """One adult's monitoring answers, in the order of `adults`; every field optional."""

    gender: Literal["woman", "man", "non_binary", "other", "prefer_not_to_say"] | None = None
    trans: Annotated[YesNoPnts | None, Meta(description="whether the adult is trans")] = None
    characteristics: Characteristics = []


class ChildEqualityIn(Struct, forbid_unknown_fields=True):
    """One child's specialist characteristics, in the order of `children`."""

    characteristics: Characteristics = []


class EqualityIn(Struct, forbid_unknown_fields=True):
    """Equality monitoring for the statutory return: the lead adult's nine protected characteristics of the
    Equality Act 2010, and per person gender, trans status and specialist characteristics. Every field optional."""

    sex: Literal["female", "male", "prefer_not_to_say"] | None = None
    gender_identity: Literal["same_as_sex_at_birth", "different", "prefer_not_to_say"] | None = None
    age_band: Literal[AdultAgeBand, "prefer_not_to_say"] | None = None
    ethnicity: Literal["white", "mixed", "asian", "black", "other", "prefer_not_to_say"] | None = None
    disability: Literal["yes", "no", "prefer_not_to_say"] | None = None
    sexual_orientation: Literal[
        "heterosexual", "gay_or_lesbian", "bisexual", "other", "prefer_not_to_say"
    ] | None = None
    religion: Literal[
        "none", "christian", "muslim", "hindu", "sikh", "jewish", "buddhist", "other", "prefer_not_to_say"
    ] | None = None
    immigration_status: Literal[
        "british_or_settled", "eu_settled_or_pre_settled", "visa_holder", "asylum_seeker", "refugee",
        "no_recourse", "other", "prefer_not_to_say",
    ] | None = None
    pregnancy_maternity: YesNoPnts | None = None
    marriage_civil_partnership: Literal["married", "civil_partnership", "neither", "prefer_not_to_say"] | None = None
    adults: Annotated[list[AdultEqualityIn], Meta(max_length=6)] = []
    children: Annotated[list[ChildEqualityIn], Meta(max_length=12)] = []


class HouseholdIn(Struct, forbid_unknown_fields=True, kw_only=True):
    """The household fields every record of a household shares (no safety plan, no preferences)."""

    risk: RiskName
    adults: Annotated[list[AdultIn], Meta(min_length=1, max_length=6)]
    marac: bool = False
    children: Annotated[list[ChildIn], Meta(max_length=12)] = []
    needs: NeedsIn = field(default_factory=NeedsIn)
    equality: EqualityIn = field(default_factory=EqualityIn)


class ReferralIn(Struct, forbid_unknown_fields=True):
    risk: RiskName
    referred_on: date
    adults: Annotated[list[AdultIn], Meta(min_length=1, max_length=6)]
    needed_by: date | None = None
    marac: bool = False
    children: Annotated[list[ChildIn], Meta(max_length=12)] = []
    needs: NeedsIn = field(default_factory=NeedsIn)
    safety: SafetyIn = field(default_factory=SafetyIn)
    preferences: PreferencesIn = field(default_factory=PreferencesIn)
    equality: EqualityIn = field(default_factory=EqualityIn)


class ReferralPatch(Struct, forbid_unknown_fields=True):
    """A change to an open referral: only the parts given are replaced (each part whole, as on creation)."""

    risk: RiskName | UnsetType = UNSET
    marac: bool | UnsetType = UNSET
    needed_by: date | UnsetType | None = UNSET
    adults: Annotated[list[AdultIn], Meta(min_length=1, max_length=6)] | UnsetType = UNSET
    children: Annotated[list[ChildIn], Meta(max_length=12)] | UnsetType = UNSET
    needs: NeedsIn | UnsetType = UNSET
    safety: SafetyIn | UnsetType = UNSET
    preferences: PreferencesIn | UnsetType = UNSET
    equality: EqualityIn | UnsetType = UNSET


class ReferralCreated(Struct):
    id: int
    status: str


class ReferralOut(Struct):
    id: int
    status: str
    authority: str
    risk: str
    marac: bool
    referred_on: date
    needed_by: date | None
    adults: list[dict[str, object]]
    children: list[dict[str, object]]
    needs: dict[str, object]
    safety: dict[str, object]
    preferences: dict[str, object]
    outcome: str | None
    close_reason: str | None
    closed_at: datetime | None
    created_at: datetime
    version: int = 1
    offers: list[ReferralOfferOut] = []
    placement: ReferralPlacementOut | None = None
    # Special-category data, written by officers and read back by admin only (CONTRACT section 7):
    # absent from an officer's read. Matching never uses it; the reports count it.
    equality: dict[str, object] | UnsetType = UNSET


class ReferralOfferOut(Struct):
    """An offer made for the referral, as its officer sees it (no address)."""

    id: int
    unit_id: int
    scheme_id: int
    status: str
    created_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    reason: str | None = None  # why it was declined or withdrawn


class ReferralPlacementOut(Struct):
    """The referral's placement; its address is read at GET /placements/{id}."""

    id: int
    unit_id: int
    scheme_id: int
    started_on: date
    ended_on: date | None
    status: Literal["live", "ended"]


class CloseIn(Struct, forbid_unknown_fields=True):
    outcome: CloseOutcome
    reason: CloseReason


class CloseOut(Struct):
    id: int
    status: str
    outcome: str
    reason: str
