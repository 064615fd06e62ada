"""The day's work: use cases that span features (the caseload, changes that ripple into pending offers).

Plain async functions over a session, shared by the API controllers and the web pages.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service import db
from service.audit import service as audit
from service.caller import Caller, Role
from service.casework.schemas import CaseloadItem
from service.db import response, utcnow
from service.errors import Forbidden
from service.inventory import service as inventory
from service.inventory.service import Scheme, SchemePatch, Unit, UnitPatch
from service.matching import service as matching
from service.offers import service as offers
from service.offers.service import Offer, Placement
from service.referrals import service as referrals
from service.referrals.service import Referral, ReferralPatch, ReferralStatus

__all__ = [
    "CaseloadItem", "Offer", "Placement", "caseload", "referral_history", "referral_record", "update_referral",
    "update_scheme", "update_unit",
]


async def caseload(
    session: AsyncSession, caller: Caller, *, status: str = "open", risk: str | None = None,
    limit: int = 50, offset: int = 0, stale_after: timedelta = timedelta(hours=24),
) -> tuple[list[CaseloadItem], int]:
    """An officer's referrals (admin: all), oldest first, with how many available units suit each now."""
    query = select(Referral).where(Referral.status == ReferralStatus(status))
    if caller.role is Role.OFFICER:
        query = query.where(Referral.authority_code == caller.authority)
    elif caller.role is not Role.ADMIN:
        raise Forbidden(f"the {caller.role.value} role has no caseload")
    if risk is not None:
        query = query.where(Referral.risk == referrals.Risk(risk))
    rows, total = await db.orm_page(session, query.order_by(Referral.referred_on, Referral.id), limit, offset)
    page: list[Referral] = [row[0] for row in rows]
    pending, placed = await offers.caseload_links(session, [r.id for r in page])
    open_page = [r for r in page if r.status is ReferralStatus.OPEN]
    suited: Counter[int] = Counter()
    if open_page:
        units = await inventory.matchable_units(session, stale_after)
        suited.update(r for r, _, _ in await matching.suitable(session, open_page, units))
    today = utcnow().date()
    items = []
    for referral in page:
        audit.record(session, caller, "list", "referral", referral.id)
        items.append(response(
            CaseloadItem, referral, waiting_days=max(0, (today - referral.referred_on).days),
            household_size=len(referral.adults) + len(referral.children), pending_offer_id=pending.get(referral.id),
            placement_id=placed.get(referral.id), suitable_now=suited[referral.id],
        ))
    return items, int(total or 0)


async def referral_record(
    session: AsyncSession, caller: Caller, referral_id: int
) -> tuple[Referral, list[tuple[Offer, int]], Placement | None]:
    """The referral (audited read) with its offers (each with its unit's scheme) and its latest placement."""
    referral = await referrals.get_referral(session, caller, referral_id)
    offer_rows, placement = await offers.referral_history(session, referral.id)
    return referral, offer_rows, placement


async def referral_history(session: AsyncSession, referral_id: int) -> tuple[list[tuple[Offer, int]], Placement | None]:
    """A referral's offers (with each unit's scheme) and latest placement; the caller has already been checked."""
    return await offers.referral_history(session, referral_id)


async def update_referral(
    session: AsyncSession, caller: Caller, referral_id: int, data: ReferralPatch, expected_version: int | None
) -> Referral:
    """Change an open referral (If-Match required); a pending offer the change makes infeasible is withdrawn."""
    await offers.lock_pending(session, referral_id=referral_id)
    referral, changed = await referrals.update_referral(session, caller, referral_id, data, expected_version)
    if changed:
        await offers.withdraw_infeasible(session, referral_id=referral.id, reason="referral_changed", caller=caller)
    return referral


async def update_scheme(session: AsyncSession, caller: Caller, scheme_id: int, data: SchemePatch) -> Scheme:
    """Change a scheme; pending offers on its units that the change makes infeasible are withdrawn."""
    await offers.lock_pending(session, scheme_id=scheme_id)
    scheme, changed = await inventory.update_scheme(session, caller, scheme_id, data)
    if set(changed) & set(inventory.ELIGIBILITY):
        await offers.withdraw_infeasible(session, scheme_id=scheme.id, reason="scheme_changed", caller=caller)
    return scheme


async def update_unit(
    session: AsyncSession, caller: Caller, unit_id: int, data: UnitPatch, expected_version: int | None
) -> Unit:
    """Change a unit (If-Match honoured); a pending offer on it that the change makes infeasible is withdrawn."""
    await offers.lock_pending(session, unit_id=unit_id)
    unit, changed = await inventory.update_unit(session, caller, unit_id, data, expected_version)
    if set(changed) - {"label"}:
        await offers.withdraw_infeasible(session, unit_id=unit.id, reason="unit_changed", caller=caller)
    return unit
