"""HTTP for offers and placements."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.pagination import OffsetPagination
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import PathId, allow
from service.caller import Caller, Role
from service.db import response
from service.offers import service
from service.offers.models import Offer, OfferStatus
from service.offers.schemas import AcceptOut, DeclineIn, EndIn, EndOut, OfferIn, OfferOut, PlacementOut
from service.offers.service import OfferView
from service.vocabulary import OfferStatusName


def offer_out(offer: Offer, view: OfferView | None = None) -> OfferOut:
    return response(
        OfferOut, offer, decline_reason=offer.decline_reason if offer.status is OfferStatus.DECLINED else None,
        reason=offer.decline_reason, scheme_id=view.scheme_id if view else None,
        household=view.household if view else None,
    )


class OfferController(Controller):
    path = "/api/v1"
    tags = ["offers"]

    @post("/offers", guards=[allow(Role.OFFICER)], status_code=201)
    async def create(self, session: AsyncSession, caller: Caller, state: State, data: OfferIn) -> OfferOut:
        """Offer a unit to a referral; the unit is held until the provider answers or the hold expires."""
        offer = await service.make_offer(session, caller, data.referral_id, data.unit_id, state.settings.offer_hold)
        await session.refresh(offer, ["created_at"])
        return offer_out(offer)

    @get("/offers", guards=[allow(Role.OFFICER, Role.PROVIDER, Role.ADMIN)])
    async def list(
        self,
        session: AsyncSession,
        caller: Caller,
        status: Annotated[OfferStatusName, QueryParameter()]
        = "pending",
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> OffsetPagination[OfferOut]:
        """Offers on the provider's units, for the officer's authority, or all (admin), newest first.

        The unit's provider sees the household (never its safety, equality or preferences) while the
        offer is pending or accepted; each such read is audited.
        """
        views, total = await service.list_offers(session, caller, OfferStatus(status), limit, offset)
        return OffsetPagination(items=[offer_out(v.offer, v) for v in views], limit=limit, offset=offset, total=total)

    @get("/offers/{offer_id:int}", guards=[allow(Role.OFFICER, Role.PROVIDER, Role.ADMIN)])
    async def read(self, session: AsyncSession, caller: Caller, offer_id: PathId) -> OfferOut:
        """An offer: the referral's officers, the unit's provider (with the household while it is live), admin."""
        view = await service.get_offer(session, caller, offer_id)
        return offer_out(view.offer, view)

    @post("/offers/{offer_id:int}/accept", guards=[allow(Role.PROVIDER)], status_code=200)
    async def accept(self, session: AsyncSession, caller: Caller, offer_id: PathId) -> AcceptOut:
        """The unit's provider accepts: placement starts, unit occupied, referral placed."""
        placement = await service.accept_offer(session, caller, offer_id)
        return AcceptOut(placement_id=placement.id, offer_id=offer_id)

    @post("/offers/{offer_id:int}/decline", guards=[allow(Role.PROVIDER, Role.OFFICER)], status_code=200)
    async def decline(self, session: AsyncSession, caller: Caller, offer_id: PathId, data: DeclineIn) -> OfferOut:
        """The provider or the officer declines with a reason code; the unit is available again."""
        return offer_out(await service.decline_offer(session, caller, offer_id, data.reason))

    @post("/offers/{offer_id:int}/withdraw", guards=[allow(Role.OFFICER)], status_code=200)
    async def withdraw(self, session: AsyncSession, caller: Caller, offer_id: PathId) -> OfferOut:
        """The officer withdraws a pending offer; the unit is available again."""
        return offer_out(await service.withdraw_offer(session, caller, offer_id))

    @get("/placements/{placement_id:int}", guards=[allow(Role.OFFICER, Role.PROVIDER, Role.ADMIN)])
    async def placement(self, session: AsyncSession, caller: Caller, placement_id: PathId) -> PlacementOut:
        """The placement with the scheme's address: the referral's officers, the unit's provider, admin."""
        return PlacementOut(**await service.get_placement(session, caller, placement_id))

    @post("/placements/{placement_id:int}/end", guards=[allow(Role.PROVIDER, Role.OFFICER)], status_code=200)
    async def end(self, session: AsyncSession, caller: Caller, placement_id: PathId, data: EndIn) -> EndOut:
        """The household has left: the placement ends and the unit is available again."""
        placement = await service.end_placement(session, caller, placement_id, data.ended_on, data.destination,
                                                 data.reason)
        assert placement.ended_on is not None and placement.destination is not None
        return EndOut(id=placement.id, ended_on=placement.ended_on, destination=placement.destination,
                      reason=placement.end_reason)
