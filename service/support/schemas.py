"""Request and response types of support records: arrivals without a referral, sanctuary support, unmet requests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from msgspec import Meta, Struct

from service.referrals.service import HouseholdIn
from service.vocabulary import INT32_MAX, Gss, ProviderSourceName, SourceName, UnableReasonName

Id = Annotated[int, Meta(ge=1, le=INT32_MAX)]


class ArrivalIn(HouseholdIn, forbid_unknown_fields=True, kw_only=True):
    """A household a provider took in without an officer's referral, placed in one of its units."""

    source: Annotated[ProviderSourceName, Meta(description="how the household reached the provider")]
    from_authority: Annotated[Gss, Meta(description="the authority the household came from (GSS)")]
    unit_id: Id
    started_on: date


class ArrivalOut(Struct):
    referral_id: int
    placement_id: int
    source: str
    status: str


class SanctuaryIn(Struct, forbid_unknown_fields=True):
    """Support in the household's own home under a sanctuary scheme, for an officer's referral."""

    unit_id: Id
    started_on: date


class SanctuaryOut(Struct):
    referral_id: int
    placement_id: int


class UnmetRequestIn(Struct, forbid_unknown_fields=True):
    """A request for a place the provider could not meet: the reason and the household's counts only."""

    requested_on: date
    reason: UnableReasonName
    source: SourceName
    adults: Annotated[int, Meta(ge=1, le=6)]
    children: Annotated[int, Meta(ge=0, le=12)] = 0
    authority: Annotated[Gss | None, Meta(description="area where support was asked for; default the provider's")] = (
        None
    )


class UnmetRequestOut(Struct):
    id: int
    provider_id: int
    authority: str
    requested_on: date
    reason: str
    source: str
    adults: int
    children: int
    created_at: datetime


class AuditRow(Struct):
    at: datetime
    key_id: int | None
    role: str | None
    action: str
    record_type: str
    record_id: str


class SubjectAccessOut(Struct):
    """Everything held about one household, for the data protection officer."""

    referral: dict[str, Any]
    offers: list[dict[str, Any]]
    placements: list[dict[str, Any]]
    audit: list[AuditRow]
    note: str
