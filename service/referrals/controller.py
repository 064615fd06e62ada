"""HTTP for referrals."""

from __future__ import annotations

from litestar import Controller, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import PathId, allow
from service.caller import Caller, Role
from service.offers import service as offers
from service.referrals import service
from service.referrals.models import Referral
from service.referrals.schemas import CloseIn, CloseOut, ReferralCreated, ReferralIn, ReferralOut


def referral_out(referral: Referral) -> ReferralOut:
    return ReferralOut(
        id=referral.id, status=referral.status.value, authority=referral.authority_code, risk=referral.risk.value,
        marac=referral.marac, referred_on=referral.referred_on, needed_by=referral.needed_by,
        adults=referral.household.get("adults", []), children=referral.household.get("children", []),
        needs=referral.needs, safety=referral.safety, preferences=referral.preferences, equality=referral.equality,
        outcome=referral.outcome, close_reason=referral.close_reason, closed_at=referral.closed_at,
        created_at=referral.created_at,
    )


class ReferralController(Controller):
    path = "/api/v1/referrals"
    tags = ["referrals"]

    @post("/", guards=[allow(Role.OFFICER)], status_code=201)
    async def create(self, session: AsyncSession, caller: Caller, data: ReferralIn) -> ReferralCreated:
        """Register a household for the officer's authority."""
        referral = await service.create_referral(session, caller, data)
        return ReferralCreated(id=referral.id, status=referral.status.value)

    @get("/{referral_id:int}", guards=[allow(Role.OFFICER, Role.ADMIN)])
    async def read(self, session: AsyncSession, caller: Caller, referral_id: PathId) -> ReferralOut:
        """The referral (officers of its authority, admin); every read is audited."""
        return referral_out(await service.get_referral(session, caller, referral_id))

    @post("/{referral_id:int}/close", guards=[allow(Role.OFFICER)], status_code=200)
    async def close(self, session: AsyncSession, caller: Caller, referral_id: PathId, data: CloseIn) -> CloseOut:
        """Close with an outcome (placed, withdrawn, unmet) and a reason code."""
        referral = await service.close_referral(session, caller, referral_id, data,
                                                has_pending_offer=offers.has_pending_offer)
        return CloseOut(id=referral.id, status=referral.status.value, outcome=data.outcome, reason=data.reason)


