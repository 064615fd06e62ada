"""Offers hold a unit until its provider answers; an accepted offer becomes a placement.

Every change locks the rows it touches (offer, unit, referral) and partial unique indexes allow
one pending offer per unit and per referral, and one live placement per unit: two officers can
never book the same room, whatever the timing.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, ColumnExpressionArgument, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

import optimiser
from service import db
from service.audit import service as audit
from service.caller import Caller, Role
from service.changes import service as changes
from service.db import get_or_404, utcnow
from service.errors import Conflict, DomainError, Forbidden, Infeasible, Invalid, NotFound
from service.inventory import service as inventory
from service.inventory.service import Scheme, Unit, UnitStatus
from service.notifications import service as notifications
from service.offers.models import Offer, OfferStatus, Placement
from service.referrals import service as referrals
from service.referrals.service import Referral, ReferralStatus


async def has_pending_offer(session: AsyncSession, referral_id: int) -> bool:
    """Whether a pending offer holds a unit for this referral."""
    found = await session.scalar(
        select(Offer.id).where(Offer.referral_id == referral_id, Offer.status == OfferStatus.PENDING)
    )
    return found is not None


def lived_in(unit_id: ColumnExpressionArgument[int]) -> ColumnElement[bool]:
    """SQL: whether a household lives in the unit now, for use inside another statement."""
    return exists().where(Placement.unit_id == unit_id, Placement.ended_on.is_(None))


async def has_live_placement(session: AsyncSession, unit_id: int) -> bool:
    """Whether a household lives in the unit now (a placement that has not ended)."""
    found = await session.scalar(
        select(Placement.id).where(Placement.unit_id == unit_id, Placement.ended_on.is_(None))
    )
    return found is not None


async def with_pending_offers(session: AsyncSession, referral_ids: list[int]) -> set[int]:
    """Which of these referrals have a pending offer (one query)."""
    if not referral_ids:
        return set()
    return set(await session.scalars(
        select(Offer.referral_id).where(Offer.referral_id.in_(referral_ids), Offer.status == OfferStatus.PENDING)
    ))


async def schemes_housing(session: AsyncSession, referral_ids: set[int]) -> set[int]:
    """Schemes where these referrals hold a pending offer or live in a placement."""
    if not referral_ids:
        return set()
    offered = select(Unit.scheme_id).join(Offer, Offer.unit_id == Unit.id).where(
        Offer.referral_id.in_(referral_ids), Offer.status == OfferStatus.PENDING
    )
    placed = select(Unit.scheme_id).join(Placement, Placement.unit_id == Unit.id).where(
        Placement.referral_id.in_(referral_ids), Placement.ended_on.is_(None)
    )
    return set(await session.scalars(offered.union(placed)))


async def waiting(session: AsyncSession, referral_ids: Collection[int] | None = None) -> list[Referral]:
    """Open referrals without a pending offer (of these ids, or all), with only what matching reads.

    Rows rather than ORM objects, and never the equality columns: the alerts' re-check reads every
    waiting household of the country each time a unit comes free.
    """
    pending = select(Offer.id).where(Offer.referral_id == Referral.id, Offer.status == OfferStatus.PENDING)
    query = select(
        Referral.id, Referral.version, Referral.authority_code, Referral.risk, Referral.referred_on, Referral.needed_by,
        Referral.household, Referral.needs, Referral.safety, Referral.preferences,
    ).where(Referral.status == ReferralStatus.OPEN, ~pending.exists())
    if referral_ids is not None:
        query = query.where(Referral.id.in_(referral_ids))
    # Rows carry the same attributes matching reads from a Referral (problem_referrals, links_of).
    return cast(list[Referral], list(await session.execute(query.order_by(Referral.referred_on, Referral.id))))


async def waiting_versions(session: AsyncSession) -> dict[int, int]:
    """The version of every open referral without a pending offer, by id (a cheap look at who waits)."""
    pending = select(Offer.id).where(Offer.referral_id == Referral.id, Offer.status == OfferStatus.PENDING)
    rows = await session.execute(
        select(Referral.id, Referral.version).where(Referral.status == ReferralStatus.OPEN, ~pending.exists())
    )
    return dict(rows.all())


async def separation_exclusions(session: AsyncSession, households: Sequence[Referral]) -> dict[int, set[int]]:
    """For each referral, the schemes where a household linked to it has a pending offer or lives now (if any).

    Links count whichever side named them and across authorities. One definition for proposals,
    match runs, offers, the caseload and alerts: it fills the matcher's `safety.exclude_schemes`.
    """
    links = await referrals.links_of(session, households)
    linked = set().union(*links.values()) if links else set()
    housed: dict[int, set[int]] = {}
    if linked:
        offered = select(Offer.referral_id, Unit.scheme_id).join(Unit, Offer.unit_id == Unit.id).where(
            Offer.referral_id.in_(linked), Offer.status == OfferStatus.PENDING
        )
        placed = select(Placement.referral_id, Unit.scheme_id).join(Unit, Placement.unit_id == Unit.id).where(
            Placement.referral_id.in_(linked), Placement.ended_on.is_(None)
        )
        for referral_id, scheme_id in await session.execute(offered.union(placed)):
            housed.setdefault(referral_id, set()).add(scheme_id)
    exclusions: dict[int, set[int]] = {}
    for referral_id, others in links.items():
        for other in others & housed.keys():
            exclusions.setdefault(referral_id, set()).update(housed[other])
    return exclusions


async def rules_broken(session: AsyncSession, referral: Referral, unit_row: Unit, scheme: Any) -> list[str]:
    """The hard-rule codes this pair breaks, as the matcher decides them, separation from linked households included."""
    excluded = (await separation_exclusions(session, [referral])).get(referral.id, set())
    problem = optimiser.parse_problem({
        "as_of": utcnow().date().isoformat(),
        "units": [inventory.problem_unit(unit_row, scheme)],
        "referrals": [await referrals.problem_referral(session, referral, excluded)],
    })
    return optimiser.rules_broken(problem.referrals[0], problem.units[0], problem.as_of)


async def make_offer(
    session: AsyncSession, caller: Caller, referral_id: int, unit_id: int, hold: timedelta
) -> Offer:
    """Offer a unit to a referral and hold it: 409 when the unit is not available, 422 when infeasible."""
    referral = await referrals.get_referral(session, caller, referral_id, action="offer", lock=True)
    if referral.status is not ReferralStatus.OPEN:
        raise Conflict(f"referral {referral_id} is {referral.status.value}")
    if await has_pending_offer(session, referral.id):
        raise Conflict(f"referral {referral_id} already has a pending offer")
    unit, scheme = await inventory.lock_unit(session, unit_id)
    if inventory.is_sanctuary(scheme):
        raise Invalid("unit_id", "a sanctuary scheme is support in the household's own home: record it, not offer it")
    if unit.status is not UnitStatus.AVAILABLE:
        raise Conflict(f"unit {unit_id} is not available")
    broken = await rules_broken(session, referral, unit, scheme)
    if broken:
        raise Infeasible(broken)
    inventory.hold(unit)
    offer = Offer(referral_id=referral.id, unit_id=unit.id, status=OfferStatus.PENDING,
                  created_by_key_id=caller.key_id, expires_at=utcnow() + hold)
    session.add(offer)
    try:
        await session.flush()
    except IntegrityError:  # the partial unique indexes: someone else won the unit or the referral
        raise Conflict(f"unit {unit_id} is not available") from None
    await notifications.enqueue(session, "offer.created", _payload(offer), provider_id=scheme.provider_id)
    audit.record(session, caller, "create", "offer", offer.id)
    return offer


def _payload(offer: Offer) -> dict[str, Any]:
    # Identifiers and statuses only: never the household, never an address.
    return {"offer_id": offer.id, "unit_id": offer.unit_id, "referral_id": offer.referral_id,
            "status": offer.status.value, "expires_at": offer.expires_at.isoformat()}


def _officer_of(caller: Caller, referral: Referral) -> bool:
    return caller.role is Role.OFFICER and caller.authority == referral.authority_code


def _may_see(caller: Caller, referral: Referral, scheme: Scheme) -> bool:
    """Admin, the referral's officers and the provider of the unit's scheme."""
    return caller.role is Role.ADMIN or _officer_of(caller, referral) or inventory.owns(caller, scheme)


def _refuse(caller: Caller, offer: Offer, referral: Referral, scheme: Scheme, message: str) -> DomainError:
    """403 for a caller who may see the offer; for anyone else the same 404 as an offer that does not exist."""
    return Forbidden(message) if _may_see(caller, referral, scheme) else NotFound("offer", offer.id)


async def get_offer(session: AsyncSession, caller: Caller, offer_id: int) -> OfferView:
    """An offer, for the referral's officers, the unit's provider and admin; with the household for its provider."""
    offer = await get_or_404(session, Offer, offer_id)
    referral = await referrals.load(session, offer.referral_id)
    _, scheme = await inventory.unit_with_scheme(session, offer.unit_id)
    if not _may_see(caller, referral, scheme):
        raise NotFound("offer", offer_id)
    audit.record(session, caller, "read", "offer", offer.id)
    return _view(session, caller, offer, scheme.id, scheme.provider_id, referral)


@dataclass(frozen=True)
class OfferView:
    """An offer as one caller may see it: `household` only for the unit's provider while it is live."""

    offer: Offer
    scheme_id: int
    household: dict[str, Any] | None


HOUSEHOLD_SHOWN = (OfferStatus.PENDING, OfferStatus.ACCEPTED)


def household_for_provider(referral: Referral) -> dict[str, Any]:
    """What a provider needs to judge an offer: never safety, equality or preferences."""
    return {
        "risk": referral.risk.value, "marac": referral.marac, "referred_on": referral.referred_on,
        "needed_by": referral.needed_by,
        "adults": [{"gender": a["gender"], "age": a["age"]} for a in referral.adults],
        "children": [{"age": c["age"], "sex": c["sex"]} for c in referral.children],
        "needs": dict(referral.needs),
    }


def _view(
    session: AsyncSession, caller: Caller, offer: Offer, scheme_id: int, provider_id: int, referral: Referral
) -> OfferView:
    shown = None
    if caller.role is Role.PROVIDER and caller.provider_id == provider_id and offer.status in HOUSEHOLD_SHOWN:
        shown = household_for_provider(referral)
        audit.record(session, caller, "read_household", "referral", referral.id)
    return OfferView(offer, scheme_id, shown)


async def list_offers(
    session: AsyncSession, caller: Caller, status: OfferStatus, limit: int, offset: int
) -> tuple[list[OfferView], int]:
    """Offers in the caller's scope, newest first: a provider's units, an officer's authority, or all for admin."""
    query = (
        select(Offer, Scheme.id, Scheme.provider_id, Referral)
        .join(Unit, Offer.unit_id == Unit.id).join(Scheme, Unit.scheme_id == Scheme.id)
        .join(Referral, Offer.referral_id == Referral.id)
        .where(Offer.status == status)
    )
    if caller.role is Role.PROVIDER:
        query = query.where(Scheme.provider_id == caller.provider_id)
    elif caller.role is Role.OFFICER:
        query = query.where(Referral.authority_code == caller.authority)
    elif caller.role is not Role.ADMIN:
        raise Forbidden(f"the {caller.role.value} role sees no offers")
    rows, total = await db.orm_page(session, query.order_by(Offer.created_at.desc(), Offer.id.desc()), limit, offset)
    views = []
    for offer, scheme_id, provider_id, referral in rows:
        audit.record(session, caller, "read", "offer", offer.id)
        views.append(_view(session, caller, offer, scheme_id, provider_id, referral))
    return views, int(total or 0)


async def referral_history(session: AsyncSession, referral_id: int) -> tuple[list[tuple[Offer, int]], Placement | None]:
    """A referral's offers (oldest first, with each unit's scheme) and its latest placement."""
    offers = [
        (offer, scheme_id) for offer, scheme_id in await session.execute(
            select(Offer, Unit.scheme_id).join(Unit, Offer.unit_id == Unit.id)
            .where(Offer.referral_id == referral_id).order_by(Offer.created_at, Offer.id)
        )
    ]
    placement = await session.scalar(
        select(Placement).where(Placement.referral_id == referral_id).order_by(Placement.id.desc()).limit(1)
    )
    return offers, placement


async def caseload_links(session: AsyncSession, referral_ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """For these referrals: their pending offer's id and their latest placement's id."""
    if not referral_ids:
        return {}, {}
    pending = dict((await session.execute(
        select(Offer.referral_id, Offer.id).where(Offer.referral_id.in_(referral_ids),
                                                  Offer.status == OfferStatus.PENDING)
    )).all())
    placed = dict((await session.execute(
        select(Placement.referral_id, func.max(Placement.id)).where(Placement.referral_id.in_(referral_ids))
        .group_by(Placement.referral_id)
    )).all())
    return pending, placed


async def _pending(session: AsyncSession, offer_id: int) -> tuple[Offer, Referral, Any, Any]:
    """Lock the offer, its referral and its unit, in that order (the same order everywhere: no deadlocks)."""
    offer = await get_or_404(session, Offer, offer_id, lock=True)
    referral = await referrals.load(session, offer.referral_id, lock=True)
    unit, scheme = await inventory.lock_unit(session, offer.unit_id)
    return offer, referral, unit, scheme


def _require_pending(offer: Offer) -> None:
    if offer.status is not OfferStatus.PENDING:
        raise Conflict(f"offer {offer.id} is {offer.status.value}")
    if offer.expires_at <= utcnow():
        raise Conflict(f"offer {offer.id} has expired")


async def accept_offer(session: AsyncSession, caller: Caller, offer_id: int) -> Placement:
    """The provider accepts: the household moves in, the unit is occupied, the referral placed."""
    offer, referral, unit, scheme = await _pending(session, offer_id)
    if not inventory.owns(caller, scheme):
        raise _refuse(caller, offer, referral, scheme, "only the unit's provider answers an offer")
    _require_pending(offer)
    if unit.status is not UnitStatus.HELD:  # defence in depth: the offer's hold is the only way in
        raise Conflict(f"unit {unit.id} is {unit.status.value}, not held by this offer")
    offer.status = OfferStatus.ACCEPTED
    offer.answered_at = utcnow()
    inventory.occupy(unit)
    referrals.mark_placed(referral)
    placement = Placement(offer_id=offer.id, referral_id=referral.id, unit_id=unit.id, started_on=utcnow().date())
    session.add(placement)
    try:
        await session.flush()
    except IntegrityError:  # one live placement per unit: someone already lives there
        raise Conflict(f"unit {unit.id} already has a household placed in it") from None
    await notifications.enqueue(session, "offer.accepted", _payload(offer), authority=referral.authority_code)
    audit.record(session, caller, "accept", "offer", offer.id)
    audit.record(session, caller, "create", "placement", placement.id)
    return placement


async def record_placement(
    session: AsyncSession, caller: Caller, referral: Referral, unit_id: int, started_on: date, *,
    sanctuary: bool,
) -> Placement:
    """A household supported without an offer first: a provider's own arrival, or sanctuary support.

    An accepted offer is kept with it as the record of who placed the household, so that every
    placement reads the same way in reports and in the audit trail.
    """
    unit, scheme = await inventory.lock_unit(session, unit_id)
    if caller.role is Role.PROVIDER and not inventory.owns(caller, scheme):
        raise Forbidden("this unit belongs to another provider")
    if sanctuary and not inventory.is_sanctuary(scheme):
        raise Invalid("unit_id", "not a unit of a sanctuary scheme")
    if started_on > utcnow().date():
        raise Invalid("started_on", "must not be in the future")
    if started_on < utcnow().date() - timedelta(days=2 * 366):
        raise Invalid("started_on", "must be within the last two years")
    if unit.status is not UnitStatus.AVAILABLE:
        raise Conflict(f"unit {unit_id} is not available")
    now = utcnow()
    offer = Offer(referral_id=referral.id, unit_id=unit.id, status=OfferStatus.ACCEPTED,
                  created_by_key_id=caller.key_id, expires_at=now, answered_at=now)
    session.add(offer)
    await session.flush()
    inventory.occupy(unit)
    referrals.mark_placed(referral)
    placement = Placement(offer_id=offer.id, referral_id=referral.id, unit_id=unit.id, started_on=started_on)
    session.add(placement)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"unit {unit.id} already has a household placed in it") from None
    audit.record(session, caller, "create", "placement", placement.id)
    return placement


async def decline_offer(session: AsyncSession, caller: Caller, offer_id: int, reason: str) -> Offer:
    """The provider or the officer declines, with a reason code kept for the unmet-need report."""
    offer, referral, unit, scheme = await _pending(session, offer_id)
    if not (inventory.owns(caller, scheme) or _officer_of(caller, referral)):
        raise _refuse(caller, offer, referral, scheme,
                      "only the unit's provider or the referral's officer declines an offer")
    _require_pending(offer)
    offer.status = OfferStatus.DECLINED
    offer.answered_at = utcnow()
    offer.decline_reason = reason
    offer.declined_by = caller.role.value
    await _free(session, unit, referral)
    await _notify_both(session, "offer.declined", offer, scheme.provider_id, referral.authority_code)
    audit.record(session, caller, "decline", "offer", offer.id)
    return offer


async def withdraw_offer(session: AsyncSession, caller: Caller, offer_id: int) -> Offer:
    """The officer withdraws a pending offer; the unit is free again."""
    offer, referral, unit, scheme = await _pending(session, offer_id)
    if not _officer_of(caller, referral):
        raise _refuse(caller, offer, referral, scheme, "only the referral's officer withdraws an offer")
    if offer.status is not OfferStatus.PENDING:
        raise Conflict(f"offer {offer.id} is {offer.status.value}")
    await _withdraw(session, caller, offer, referral, unit, scheme, "officer_withdrew")
    return offer


async def _withdraw(
    session: AsyncSession, caller: Caller | None, offer: Offer, referral: Referral, unit: Unit, scheme: Any,
    reason: str,
) -> None:
    offer.status = OfferStatus.WITHDRAWN
    offer.answered_at = utcnow()
    offer.decline_reason = reason
    await _free(session, unit, referral)
    await _notify_both(session, "offer.withdrawn", offer, scheme.provider_id, referral.authority_code)
    audit.record(session, caller, "withdraw", "offer", offer.id)


async def _free(session: AsyncSession, unit: Unit, referral: Referral | None) -> None:
    """The unit is available again and the household (if still open) has no pending offer: both re-checked."""
    inventory.release(unit)
    await changes.note(session, unit_ids=[unit.id], referral_ids=[referral.id] if referral is not None else [])


async def lock_pending(
    session: AsyncSession, *, referral_id: int | None = None, scheme_id: int | None = None,
    unit_id: int | None = None,
) -> list[int]:
    """Lock the pending offers of a referral, scheme or unit before the change that may withdraw them.

    Offers are locked before referrals and units everywhere (see _pending), so an edit racing an
    acceptance queues behind it instead of deadlocking.
    """
    query = select(Offer.id).where(Offer.status == OfferStatus.PENDING)
    if referral_id is not None:
        query = query.where(Offer.referral_id == referral_id)
    if scheme_id is not None:
        query = query.where(Offer.unit_id.in_(select(Unit.id).where(Unit.scheme_id == scheme_id)))
    if unit_id is not None:
        query = query.where(Offer.unit_id == unit_id)
    return list(await session.scalars(query.order_by(Offer.id).with_for_update()))


async def withdraw_infeasible(
    session: AsyncSession, *, referral_id: int | None = None, scheme_id: int | None = None,
    unit_id: int | None = None, reason: str, caller: Caller | None = None,
) -> list[int]:
    """Withdraw the pending offers of this referral, scheme or unit that the hard rules now forbid; their ids.

    Called in the transaction of the change (a referral, scheme or unit edited), after it is flushed.
    """
    offer_ids = await lock_pending(session, referral_id=referral_id, scheme_id=scheme_id, unit_id=unit_id)
    withdrawn = []
    for offer_id in offer_ids:
        offer, referral, unit, scheme = await _pending(session, offer_id)
        if await rules_broken(session, referral, unit, scheme):
            await _withdraw(session, caller, offer, referral, unit, scheme, reason)
            withdrawn.append(offer.id)
    return withdrawn


async def _notify_both(session: AsyncSession, event: str, offer: Offer, provider_id: int, authority: str) -> None:
    await notifications.enqueue(session, event, _payload(offer), provider_id=provider_id)
    await notifications.enqueue(session, event, _payload(offer), authority=authority)


async def expire_offers(session: AsyncSession) -> int:
    """Scheduled: pending offers past their hold expire and free their units. Returns how many."""
    due = list(await session.scalars(
        select(Offer).where(Offer.status == OfferStatus.PENDING, Offer.expires_at <= utcnow())
        .order_by(Offer.id).with_for_update(skip_locked=True).limit(500)
    ))
    for offer in due:
        referral = await referrals.load(session, offer.referral_id)
        unit, scheme = await inventory.lock_unit(session, offer.unit_id)
        offer.status = OfferStatus.EXPIRED
        offer.answered_at = utcnow()
        await _free(session, unit, referral)
        await _notify_both(session, "offer.expired", offer, scheme.provider_id, referral.authority_code)
        audit.record(session, None, "expire", "offer", offer.id)
    return len(due)


async def _placement_in_scope(session: AsyncSession, caller: Caller, placement_id: int, *, lock: bool = False
                              ) -> tuple[Placement, Referral, Any, Any]:
    placement = await get_or_404(session, Placement, placement_id, lock=lock)
    referral = await referrals.load(session, placement.referral_id)
    unit, scheme = await inventory.unit_with_scheme(session, placement.unit_id, lock=lock)
    if not _may_see(caller, referral, scheme):
        raise NotFound("placement", placement_id)
    return placement, referral, unit, scheme


async def get_placement(session: AsyncSession, caller: Caller, placement_id: int) -> dict[str, Any]:
    """The placement with the scheme's confidential address: its officer, its provider, admin; audited."""
    placement, _, unit, scheme = await _placement_in_scope(session, caller, placement_id)
    audit.record(session, caller, "read", "placement", placement.id)
    return {
        "id": placement.id, "referral_id": placement.referral_id, "unit_id": unit.id, "scheme_id": scheme.id,
        "scheme_name": scheme.name, "address": await inventory.scheme_address(session, scheme.id),
        "district": scheme.district, "started_on": placement.started_on, "ended_on": placement.ended_on,
        "destination": placement.destination, "end_reason": placement.end_reason,
    }


async def end_placement(
    session: AsyncSession, caller: Caller, placement_id: int, ended_on: date, destination: str,
    reason: str | None = None,
) -> Placement:
    """The household has left: the placement ends and the unit is available again."""
    placement, _, unit, _ = await _placement_in_scope(session, caller, placement_id, lock=True)
    if caller.role is Role.ADMIN:
        raise Forbidden("the unit's provider or the referral's officer ends a placement")
    if placement.ended_on is not None:
        raise Conflict(f"placement {placement_id} ended on {placement.ended_on.isoformat()}")
    if ended_on < placement.started_on:
        raise Invalid("ended_on", f"must not be before the placement started ({placement.started_on.isoformat()})")
    if ended_on > utcnow().date():
        raise Invalid("ended_on", "must not be in the future")
    placement.ended_on = ended_on
    placement.destination = destination
    placement.end_reason = reason
    await _free(session, unit, None)
    audit.record(session, caller, "end", "placement", placement.id)
    return placement


async def referral_offers(session: AsyncSession, referral_id: int) -> list[dict[str, Any]]:
    """A referral's offers, newest first, each with its unit, scheme and placement (one query; no address).

    The caller has already been allowed to see the referral.
    """
    rows = await session.execute(
        select(Offer, Unit.label, Scheme.name, Scheme.district, Placement.id, Placement.started_on,
               Placement.ended_on, Placement.destination)
        .join(Unit, Offer.unit_id == Unit.id).join(Scheme, Unit.scheme_id == Scheme.id)
        .outerjoin(Placement, Placement.offer_id == Offer.id)
        .where(Offer.referral_id == referral_id).order_by(Offer.created_at.desc(), Offer.id.desc())
    )
    return [
        {"id": offer.id, "status": offer.status.value, "unit_id": offer.unit_id, "unit_label": label,
         "scheme_name": name, "district": district, "created_at": offer.created_at, "expires_at": offer.expires_at,
         "answered_at": offer.answered_at, "decline_reason": offer.decline_reason, "declined_by": offer.declined_by,
         "placement_id": placement_id, "started_on": started_on, "ended_on": ended_on, "destination": destination}
        for offer, label, name, district, placement_id, started_on, ended_on, destination in rows
    ]


async def list_placements(
    session: AsyncSession, caller: Caller, *, live: bool, limit: int = 100, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Placements the caller may see (the unit's provider, the referral's officers, admin), newest first;
    live ones (not ended) or ended ones. One query for the page and one for the count; no address."""
    query = (
        select(Placement, Unit.label, Scheme.name, Scheme.district, Referral.authority_code)
        .join(Unit, Placement.unit_id == Unit.id).join(Scheme, Unit.scheme_id == Scheme.id)
        .join(Referral, Placement.referral_id == Referral.id)
        .where(Placement.ended_on.is_(None) if live else Placement.ended_on.is_not(None))
    )
    if caller.role is Role.PROVIDER:
        query = query.where(Scheme.provider_id == caller.provider_id)
    elif caller.role is Role.OFFICER:
        query = query.where(Referral.authority_code == caller.authority)
    elif caller.role is not Role.ADMIN:
        raise Forbidden("placements are for providers, officers and admin")
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(
        query.order_by(Placement.started_on.desc(), Placement.id.desc()).limit(limit).offset(offset))
    items = [
        {"id": placement.id, "referral_id": placement.referral_id, "unit_id": placement.unit_id,
         "unit_label": label, "scheme_name": name, "district": district, "authority": authority,
         "started_on": placement.started_on, "ended_on": placement.ended_on, "destination": placement.destination}
        for placement, label, name, district, authority in rows
    ]
    return items, total or 0


async def pending_count(session: AsyncSession, caller: Caller) -> int:
    """How many offers wait for the provider's answer (admin: all pending offers); one query."""
    query = select(func.count()).select_from(Offer).where(Offer.status == OfferStatus.PENDING)
    if caller.role is Role.PROVIDER:
        query = query.join(Unit, Offer.unit_id == Unit.id).join(Scheme, Unit.scheme_id == Scheme.id).where(
            Scheme.provider_id == caller.provider_id)
    elif caller.role is not Role.ADMIN:
        raise Forbidden(f"the {caller.role.value} role answers no offers")
    return int(await session.scalar(query) or 0)
def month_of(day: date) -> date:
    """The first day of the day's month: how dates are kept once a record is pseudonymised."""
    return day.replace(day=1)


async def pseudonymise_placements(session: AsyncSession, ended_before: date) -> set[int]:
    """Scheduled: placements that ended before the date keep their dates to the month; their referrals' ids."""
    due = list(await session.scalars(
        select(Placement).where(Placement.ended_on < ended_before, Placement.pseudonymised_at.is_(None))
        .order_by(Placement.id).with_for_update(skip_locked=True).limit(1000)
    ))
    for placement in due:
        assert placement.ended_on is not None
        placement.started_on = month_of(placement.started_on)
        placement.ended_on = month_of(placement.ended_on)
        placement.created_at = placement.created_at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        placement.pseudonymised_at = utcnow()
        audit.record(session, None, "pseudonymise", "placement", placement.id)
    return {placement.referral_id for placement in due}
