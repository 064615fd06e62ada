"""Request and response types of offers and placements."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from msgspec import Meta, Struct

from service.vocabulary import DeclineReason, Destination, EndReasonName, Id


class OfferIn(Struct, forbid_unknown_fields=True):
    referral_id: Id
    unit_id: Id


class AdultSeen(Struct):
    gender: str
    age: int


class ChildSeen(Struct):
    age: int
    sex: str


class Household(Struct):
    """What the unit's provider sees of a household it is offered: enough to judge, never safety or equality."""

    risk: str
    marac: bool
    referred_on: date
    needed_by: date | None
    adults: list[AdultSeen]
    children: list[ChildSeen]
    needs: dict[str, object]


class OfferOut(Struct):
    id: int
    referral_id: int
    unit_id: int
    status: str
    expires_at: datetime
    created_at: datetime
    answered_at: datetime | None = None
    decline_reason: str | None = None
    scheme_id: int | None = None
    reason: str | None = None
    household: Household | None = None


class DeclineIn(Struct, forbid_unknown_fields=True):
    reason: DeclineReason


class AcceptOut(Struct):
    placement_id: int
    offer_id: int


class PlacementOut(Struct):
    id: int
    referral_id: int
    unit_id: int
    scheme_id: int
    scheme_name: str
    address: str
    district: str
    started_on: date
    ended_on: date | None
    destination: str | None
    end_reason: str | None = None


class EndIn(Struct, forbid_unknown_fields=True):
    ended_on: date
    destination: Destination
    reason: Annotated[EndReasonName | None, Meta(description="why support ended (kept apart from destination)")] = None


class EndOut(Struct):
    id: int
    ended_on: date
    destination: str
    reason: str | None = None
