"""HTTP for referrals: register, the caseload, read, change, close."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Response, get, patch, post
from litestar.datastructures import State
from litestar.pagination import OffsetPagination
from litestar.params import QueryParameter
from msgspec import UNSET
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import IfMatch, PathId, allow, etag, parse_if_match
from service.caller import Caller, Role
from service.casework import service as casework
from service.casework.service import CaseloadItem, Offer, Placement
from service.db import response
from service.offers import service as offers
from service.referrals import service
from service.referrals.models import Referral
from service.referrals.schemas import (
    CloseIn,
    CloseOut,
    ReferralCreated,
    ReferralIn,
    ReferralOfferOut,
    ReferralOut,
    ReferralPatch,
    ReferralPlacementOut,
)
from service.vocabulary import ReferralStatusName, RiskName


def referral_out(
    referral: Referral, caller: Caller, offers: list[tuple[Offer, int]] | None = None,
    placement: Placement | None = None,
) -> ReferralOut:
    """The referral as the caller may read it: equality monitoring for admin only."""
    out = response(
        ReferralOut, referral,
        offers=[response(ReferralOfferOut, o, scheme_id=scheme_id, reason=o.decline_reason)
                for o, scheme_id in offers or []],
        placement=None if placement is None else response(
            ReferralPlacementOut, placement, scheme_id=_scheme_of(placement, offers or []),
            status="live" if placement.ended_on is None else "ended",
        ),
    )
    # Special-category data is write-only for officers (CONTRACT section 7).
    return out if caller.role is Role.ADMIN else msgspec.structs.replace(out, equality=UNSET)


def _scheme_of(placement: Placement, offers: list[tuple[Offer, int]]) -> int:
    return next(scheme_id for offer, scheme_id in offers if offer.id == placement.offer_id)


class ReferralController(Controller):
    path = "/api/v1/referrals"
    tags = ["referrals"]

    @post("/", guards=[allow(Role.OFFICER)], status_code=201)
    async def create(self, session: AsyncSession, caller: Caller, data: ReferralIn) -> ReferralCreated:
        """Register a household for the officer's authority."""
        referral = await service.create_referral(session, caller, data)
        return ReferralCreated(id=referral.id, status=referral.status.value)

    @get("/", guards=[allow(Role.OFFICER, Role.ADMIN)])
    async def caseload(
        self,
        session: AsyncSession,
        caller: Caller,
        state: State,
        status: Annotated[ReferralStatusName, QueryParameter()] = "open",
        risk: Annotated[RiskName | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> OffsetPagination[CaseloadItem]:
        """The caseload, oldest referral first, with how many available units suit each household now."""
        items, total = await casework.caseload(
            session, caller, status=status, risk=risk, limit=limit, offset=offset,
            stale_after=state.settings.stale_after,
        )
        return OffsetPagination(items=items, limit=limit, offset=offset, total=total)

    @get("/{referral_id:int}", guards=[allow(Role.OFFICER, Role.ADMIN)])
    async def read(self, session: AsyncSession, caller: Caller, referral_id: PathId) -> Response[ReferralOut]:
        """The referral with its offers and placement (officers of its authority, admin); every read is audited."""
        referral, offers, placement = await casework.referral_record(session, caller, referral_id)
        return Response(referral_out(referral, caller, offers, placement), headers=etag(referral.version))

    @patch("/{referral_id:int}", guards=[allow(Role.OFFICER)], opt={"problems": [428]})  # If-Match required
    async def update(
        self,
        session: AsyncSession,
        caller: Caller,
        referral_id: PathId,
        data: ReferralPatch,
        if_match: IfMatch = None,
    ) -> Response[ReferralOut]:
        """Change an open referral. If-Match (its version) is required: 428 without, 412 when stale; 409 once placed."""
        referral = await casework.update_referral(session, caller, referral_id, data, parse_if_match(if_match))
        offers, placement = await casework.referral_history(session, referral.id)
        return Response(referral_out(referral, caller, offers, placement), headers=etag(referral.version))

    @post("/{referral_id:int}/close", guards=[allow(Role.OFFICER)], status_code=200)
    async def close(self, session: AsyncSession, caller: Caller, referral_id: PathId, data: CloseIn) -> CloseOut:
        """Close with an outcome (placed, withdrawn, unmet) and a reason code."""
        referral = await service.close_referral(session, caller, referral_id, data,
                                                has_pending_offer=offers.has_pending_offer)
        return CloseOut(id=referral.id, status=referral.status.value, outcome=data.outcome, reason=data.reason)
