"""Request and response types of the inventory: providers, schemes, units, availability, vacancies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from msgspec import UNSET, Meta, Struct, UnsetType

from service.vocabulary import (
    NO_NUL,
    AccommodationTypeName,
    AvailabilityStatus,
    District,
    Gender,
    Gss,
    Id,
    Language,
    Specialism,
    UnitStatusName,
)

Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=NO_NUL)]


class ProviderIn(Struct, forbid_unknown_fields=True):
    name: Name
    authority: Gss


class ProviderOut(Struct):
    id: int
    name: str
    authority: str
    created_at: datetime


# A scheme's eligibility fields as the API takes them (SchemeIn, SchemePatch); each constraint written once.
Genders = Annotated[list[Gender], Meta(min_length=1, max_length=3)]
MaxChildren = Annotated[int, Meta(ge=0, le=20)]
MaxBoyAge = Annotated[int, Meta(ge=0, le=25)]
Languages = Annotated[list[Language], Meta(max_length=30)]
Specialisms = Annotated[list[Specialism], Meta(max_length=7)]
Address = Annotated[str, Meta(min_length=1, max_length=500, pattern=NO_NUL, description="confidential; never listed")]


class SchemeIn(Struct, forbid_unknown_fields=True):
    """A scheme and the eligibility rules shared by its units (CONTRACT section 3)."""

    provider_id: Id
    name: Name
    type: AccommodationTypeName
    authority: Gss
    district: District
    address: Address
    genders: Genders
    accepts_children: bool = False
    max_children: MaxChildren | None = None
    max_boy_age: MaxBoyAge | None = None
    pets: bool = False
    accepts_nrpf: bool = False
    communal: bool = False
    languages: Languages = []
    specialisms: Specialisms = []
    specialist_only: bool = False
    no_assistance_dog_reason: Annotated[
        str, Meta(min_length=1, max_length=300, pattern=NO_NUL,
                  description="set only when a unit cannot take an assistance dog, with the documented reason")
    ] | None = None
    part4_commissioned: Annotated[bool, Meta(description="commissioned by the council under Part 4")] = False


class SchemeOut(Struct):
    """A scheme without its address."""

    id: int
    provider_id: int
    name: str
    type: str
    authority: str
    district: str
    genders: list[str]
    accepts_children: bool
    max_children: int | None
    max_boy_age: int | None
    pets: bool
    accepts_nrpf: bool
    communal: bool
    languages: list[str]
    specialisms: list[str]
    specialist_only: bool
    created_at: datetime
    no_assistance_dog_reason: str | None
    part4_commissioned: bool


class SchemePatch(Struct, forbid_unknown_fields=True):
    """A change to a scheme: its name, eligibility fields and (write-only) address. Only the fields sent change."""

    name: Name | UnsetType = UNSET
    address: Annotated[
        str, Meta(min_length=1, max_length=500, pattern=NO_NUL, description="confidential; never echoed back")
    ] | UnsetType = UNSET
    genders: Genders | UnsetType = UNSET
    accepts_children: bool | UnsetType = UNSET
    max_children: MaxChildren | UnsetType | None = UNSET
    max_boy_age: MaxBoyAge | UnsetType | None = UNSET
    pets: bool | UnsetType = UNSET
    accepts_nrpf: bool | UnsetType = UNSET
    communal: bool | UnsetType = UNSET
    languages: Languages | UnsetType = UNSET
    specialisms: Specialisms | UnsetType = UNSET
    specialist_only: bool | UnsetType = UNSET
    no_assistance_dog_reason: Annotated[str, Meta(min_length=1, max_length=300, pattern=NO_NUL)] | UnsetType | None = (
        UNSET
    )
    part4_commissioned: bool | UnsetType = UNSET


class UnitCounts(Struct):
    """A scheme's units by status."""

    available: int = 0
    held: int = 0
    occupied: int = 0
    unavailable: int = 0
    stale: int = 0


class SchemeSummary(SchemeOut):
    """A scheme on its provider's desk: no address, its units counted by status (`stale`: available, unconfirmed)."""

    units: UnitCounts


class DeskUnit(Struct):
    """A unit on its provider's desk."""

    id: int
    label: str
    bedspaces: int
    wheelchair_accessible: bool
    step_free: bool
    status: UnitStatusName
    available_from: date | None
    confirmed_at: datetime
    stale: bool
    version: int


class SchemeDetail(SchemeOut):
    """A scheme without its address, and its units."""

    units: list[DeskUnit]


class SchemeList(Struct):
    items: list[SchemeSummary]


class UnitPatch(Struct, forbid_unknown_fields=True):
    label: Annotated[str, Meta(min_length=1, max_length=100, pattern=NO_NUL)] | UnsetType = UNSET
    bedspaces: Annotated[int, Meta(ge=1, le=20)] | UnsetType = UNSET
    wheelchair_accessible: bool | UnsetType = UNSET
    step_free: bool | UnsetType = UNSET


class ConfirmIn(Struct, forbid_unknown_fields=True):
    """Units whose availability the provider has checked now; none given: every unit of the caller's provider."""

    unit_ids: Annotated[list[Id], Meta(min_length=1, max_length=1000)] | None = None


class ConfirmOut(Struct):
    confirmed: int


class UnitIn(Struct, forbid_unknown_fields=True):
    label: Annotated[str, Meta(min_length=1, max_length=100, pattern=NO_NUL)]
    bedspaces: Annotated[int, Meta(ge=1, le=20)]
    wheelchair_accessible: bool = False
    step_free: bool = False
    status: AvailabilityStatus = "available"
    available_from: date | None = None


class UnitOut(Struct):
    id: int
    scheme_id: int
    label: str
    bedspaces: int
    wheelchair_accessible: bool
    step_free: bool
    status: UnitStatusName
    available_from: date | None
    confirmed_at: datetime
    version: int


class AvailabilityIn(Struct, forbid_unknown_fields=True):
    status: AvailabilityStatus
    available_from: date | None = None


class AvailabilityOut(Struct):
    id: int
    status: UnitStatusName
    available_from: date | None
    version: int
    confirmed_at: datetime


class VacancyOut(Struct):
    """An available unit and what it accepts. Never an address, never coordinates."""

    unit_id: int
    scheme_id: int
    scheme_name: str
    provider_id: int
    type: str
    authority: str
    district: str
    label: str
    bedspaces: int
    wheelchair_accessible: bool
    step_free: bool
    genders: list[str]
    accepts_children: bool
    max_children: int | None
    max_boy_age: int | None
    pets: bool
    accepts_nrpf: bool
    communal: bool
    languages: list[str]
    specialisms: list[str]
    specialist_only: bool
    available_from: date | None
    confirmed_at: datetime
    stale: bool
    expected: bool = False
    no_assistance_dog_reason: str | None = None  # set: cannot take an assistance dog, for this documented reason


class VacancyFilter(Struct, kw_only=True):
    """Filters of GET /vacancies; None means no filter."""

    type: str | None = None
    authority: str | None = None
    district: str | None = None
    min_bedspaces: int | None = None
    gender: str | None = None
    wheelchair_accessible: bool | None = None
    step_free: bool | None = None
    accepts_children: bool | None = None
    pets: bool | None = None
    accepts_nrpf: bool | None = None
    communal: bool | None = None
    language: str | None = None
    specialism: str | None = None
    available_by: date | None = None
    include_stale: bool = True
    include_expected: bool = False
