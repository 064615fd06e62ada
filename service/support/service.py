"""Support records the return needs beyond the referral workflow.

- A household that reached a provider without an officer's referral (the National Domestic
  Abuse Helpline, another agency, itself, another council by phone) is recorded by that provider
  with the same household fields and placed in its unit at once; its source stays a dimension.
- Sanctuary support (in the household's own home) is recorded against a sanctuary scheme's unit,
  by an officer for a referral or by the provider as an arrival; it is never offered or matched.
- A request for a place that a provider could not meet keeps the reason and the household's
  counts, nothing else.
- The data protection officer's subject access export of one household, itself audited.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit import service as audit
from service.caller import Caller, Role
from service.db import utcnow
from service.errors import Conflict, Invalid, NotFound
from service.inventory import service as inventory
from service.offers import service as offers
from service.offers.service import Offer, Placement
from service.reference import service as reference
from service.referrals import service as referrals
from service.referrals.service import Referral, ReferralStatus
from service.support.models import UnmetRequest
from service.support.schemas import ArrivalIn, SanctuaryIn, UnmetRequestIn


async def record_arrival(session: AsyncSession, caller: Caller, data: ArrivalIn) -> tuple[Referral, Placement]:
    """A provider records a household it took in without a referral, placed in one of its units."""
    assert caller.provider_id is not None, "provider keys are bound to a provider"
    referral = await referrals.record_household(
        session, caller, data, authority=data.from_authority, source=data.source, started_on=data.started_on,
        provider_id=caller.provider_id,
    )
    unit, scheme = await inventory.unit_with_scheme(session, data.unit_id)
    if not inventory.owns(caller, scheme):
        raise NotFound("unit", data.unit_id)
    placement = await offers.record_placement(session, caller, referral, unit.id, data.started_on,
                                              sanctuary=False)
    return referral, placement


async def record_sanctuary(session: AsyncSession, caller: Caller, referral_id: int, data: SanctuaryIn
                           ) -> Placement:
    """An officer records sanctuary support for an open referral of its authority."""
    referral = await referrals.get_referral(session, caller, referral_id, action="sanctuary", lock=True)
    if referral.status is not ReferralStatus.OPEN:
        raise Conflict(f"referral {referral_id} is {referral.status.value}")
    if await offers.has_pending_offer(session, referral.id):
        raise Conflict(f"referral {referral_id} has a pending offer; withdraw it first")
    return await offers.record_placement(session, caller, referral, data.unit_id, data.started_on, sanctuary=True)


async def record_unmet_request(session: AsyncSession, caller: Caller, data: UnmetRequestIn) -> UnmetRequest:
    """A request the provider could not meet: reason, source and counts, no identifying detail."""
    assert caller.provider_id is not None, "provider keys are bound to a provider"
    provider = await inventory.get_provider(session, caller.provider_id)
    authority = data.authority or provider.authority_code
    await reference.require_authority(session, authority, field="authority")
    if data.requested_on > referrals.today():
        raise Invalid("requested_on", "must not be in the future")
    row = UnmetRequest(
        provider_id=provider.id, authority_code=authority, requested_on=data.requested_on, reason=data.reason,
        source=data.source, adults=data.adults, children=data.children, created_by_key_id=caller.key_id,
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    audit.record(session, caller, "create", "unmet_request", row.id)
    return row


def _row(obj: Any, names: list[str]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


async def subject_access(session: AsyncSession, caller: Caller, referral_id: int) -> dict[str, Any]:
    """Everything held about one household (admin only): the record, its offers, placements and audit trail."""
    assert caller.role is Role.ADMIN
    referral = await referrals.get_referral(session, caller, referral_id, action="subject_access")
    offer_rows = list(await session.scalars(select(Offer).where(Offer.referral_id == referral.id).order_by(Offer.id)))
    placement_rows = list(await session.scalars(
        select(Placement).where(Placement.referral_id == referral.id).order_by(Placement.id)))
    records = [("referral", str(referral.id))] + [("offer", str(o.id)) for o in offer_rows] + [
        ("placement", str(p.id)) for p in placement_rows]
    await session.flush()  # this export's own audit row is part of the trail it returns
    trail = await audit.trail_of(session, records)
    return {
        "referral": {
            **_row(referral, ["id", "authority_code", "status", "risk", "marac", "referred_on", "needed_by",
                              "household", "needs", "safety", "preferences", "equality", "outcome", "close_reason",
                              "closed_at", "pseudonymised_at", "source", "recorded_by_provider_id",
                              "created_by_key_id", "created_at"]),
        },
        "offers": [_row(o, ["id", "unit_id", "status", "created_by_key_id", "created_at", "expires_at",
                            "answered_at", "decline_reason", "declined_by"]) for o in offer_rows],
        "placements": [_row(p, ["id", "offer_id", "unit_id", "started_on", "ended_on", "destination", "end_reason",
                                "created_at"]) for p in placement_rows],
        "audit": [{"at": e.at, "key_id": e.api_key_id, "role": e.role, "action": e.action,
                   "record_type": e.entity, "record_id": e.entity_id} for e in trail],
        "note": "No names or contact details are held. Match runs keep only identifiers and scores.",
    }
