"""The reports' reads of the database: plain rows, counted and suppressed by the reports themselves.

`authority` is the scope of a report: one authority's GSS code, or None for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from service.inventory.service import Scheme, Unit, UnitStatus
from service.offers.service import Offer, OfferStatus, Placement
from service.reference.service import Authority, AuthorityNeighbour, PostcodeDistrict
from service.referrals.service import Referral, ReferralStatus
from service.reports.models import OccupancySnapshot
from service.support.service import UnmetRequest


def _in_scope(column: Any, authority: str | None) -> ColumnElement[bool]:
    return (column == authority) if authority else true()


async def authority_names(session: AsyncSession) -> dict[str, str]:
    """Every authority's name by its code."""
    return {code: name for code, name in await session.execute(select(Authority.code, Authority.name))}


def _live_during(start: date, end: date) -> ColumnElement[bool]:
    """Placements that began by the end of the period and had not ended before its start."""
    return and_(Placement.started_on <= end, or_(Placement.ended_on.is_(None), Placement.ended_on >= start))


async def stock(session: AsyncSession, authority: str | None) -> list[tuple[str, str, str, int, int]]:
    """Units and bed spaces now: `(authority, type, status, units, bedspaces)` per authority, type and status."""
    rows = await session.execute(
        select(Scheme.authority_code, Scheme.type, Unit.status, func.count(Unit.id), func.sum(Unit.bedspaces))
        .join(Scheme, Unit.scheme_id == Scheme.id)
        .where(_in_scope(Scheme.authority_code, authority))
        .group_by(Scheme.authority_code, Scheme.type, Unit.status)
    )
    return [(code, kind.value, status.value, units, int(bedspaces)) for code, kind, status, units, bedspaces in rows]


async def snapshots(
    session: AsyncSession, authority: str | None, start: date, end: date
) -> list[tuple[date, str, str, str, int]]:
    """The daily snapshots of the period: `(day, authority, type, status, bedspaces)`."""
    rows = await session.execute(
        select(OccupancySnapshot.snapshot_on, OccupancySnapshot.authority_code, OccupancySnapshot.type,
               OccupancySnapshot.status, OccupancySnapshot.bedspaces)
        .where(OccupancySnapshot.snapshot_on.between(start, end),
               _in_scope(OccupancySnapshot.authority_code, authority))
    )
    return [(on, code, kind, status, bedspaces) for on, code, kind, status, bedspaces in rows]


async def placements_during(
    session: AsyncSession, authority: str | None, start: date, end: date
) -> list[tuple[str, str, date, date | None]]:
    """Placements in the authority's schemes live in the period: `(authority, type, started_on, ended_on)`."""
    rows = await session.execute(
        select(Scheme.authority_code, Scheme.type, Placement.started_on, Placement.ended_on)
        .join(Unit, Placement.unit_id == Unit.id).join(Scheme, Unit.scheme_id == Scheme.id)
        .where(_live_during(start, end), _in_scope(Scheme.authority_code, authority))
    )
    return [(code, kind.value, started_on, ended_on) for code, kind, started_on, ended_on in rows]


async def available_now(session: AsyncSession, authority: str | None) -> list[tuple[str, str, int, int]]:
    """Available units and bed spaces by authority and type: `(authority, type, units, bedspaces)`."""
    rows = await session.execute(
        select(Scheme.authority_code, Scheme.type, func.count(Unit.id), func.sum(Unit.bedspaces))
        .join(Scheme, Unit.scheme_id == Scheme.id)
        .where(Unit.status == UnitStatus.AVAILABLE, _in_scope(Scheme.authority_code, authority))
        .group_by(Scheme.authority_code, Scheme.type).order_by(Scheme.authority_code, Scheme.type)
    )
    return [(code, kind.value, units, int(bedspaces)) for code, kind, units, bedspaces in rows]


async def referrals_made(session: AsyncSession, authority: str | None, start: date, end: date) -> list[Referral]:
    """Referrals the authority made in the period."""
    return list(await session.scalars(
        select(Referral).where(Referral.referred_on.between(start, end),
                               _in_scope(Referral.authority_code, authority))
    ))


OUTCOMES = ("placed", "unmet", "withdrawn", "open")


def outcome(referral: Referral) -> str:
    """What became of a referral: placed, unmet, withdrawn or (still) open."""
    if referral.status is ReferralStatus.PLACED or referral.outcome == "placed":
        return "placed"
    if referral.outcome == "unmet":
        return "unmet"
    return "withdrawn" if referral.outcome == "withdrawn" else "open"


async def declined_by_reason(session: AsyncSession, authority: str | None, start: date, end: date) -> dict[str, int]:
    """Offers declined in the period, by reason code, for referrals of the authority."""
    query = (
        select(Offer.decline_reason, func.count(Offer.id)).join(Referral, Offer.referral_id == Referral.id)
        .where(Offer.status == OfferStatus.DECLINED, func.date(Offer.answered_at).between(start, end),
               _in_scope(Referral.authority_code, authority))
        .group_by(Offer.decline_reason)
    )
    return {reason or "other": n for reason, n in await session.execute(query)}


async def placements_started(
    session: AsyncSession, authority: str | None, start: date, end: date
) -> list[tuple[date, date, str, str]]:
    """Placements of the authority's referrals begun in the period: `(started_on, referred_on, home, host)`."""
    rows = await session.execute(
        select(Placement.started_on, Referral.referred_on, Referral.authority_code, Scheme.authority_code)
        .join(Referral, Placement.referral_id == Referral.id).join(Unit, Placement.unit_id == Unit.id)
        .join(Scheme, Unit.scheme_id == Scheme.id)
        .where(Placement.started_on.between(start, end), _in_scope(Referral.authority_code, authority))
    )
    return [(started_on, referred_on, home, host) for started_on, referred_on, home, host in rows]


async def households_supported(
    session: AsyncSession, authority: str | None, start: date, end: date
) -> dict[int, tuple[Referral, str, str]]:
    """The authority's referrals placed at some time in the period: by id, `(referral, type, host authority)`."""
    supported = await session.execute(
        select(Referral, Scheme.type, Scheme.authority_code)
        .join(Placement, Placement.referral_id == Referral.id).join(Unit, Placement.unit_id == Unit.id)
        .join(Scheme, Unit.scheme_id == Scheme.id)
        .where(_live_during(start, end), _in_scope(Referral.authority_code, authority))
    )
    return {r.id: (r, kind.value, host) for r, kind, host in supported}


async def neighbours(session: AsyncSession, authority: str) -> list[str]:
    """The authorities next to this one."""
    return list(await session.scalars(
        select(AuthorityNeighbour.neighbour).where(AuthorityNeighbour.code == authority)))


async def postcode_districts(session: AsyncSession, codes: list[str]) -> list[tuple[str, str, float, float]]:
    """The postcode districts of these authorities: `(authority, district, lat, lon)`."""
    rows = await session.execute(
        select(PostcodeDistrict.authority_code, PostcodeDistrict.district, PostcodeDistrict.lat, PostcodeDistrict.lon)
        .where(PostcodeDistrict.authority_code.in_(codes))
    )
    return [(code, district, lat, lon) for code, district, lat, lon in rows if code is not None]


# --- the statutory return: households supported in safe accommodation in the area -------------------


@dataclass(frozen=True)
class Episode:
    """One placement (or sanctuary support) in a scheme of the area, live at some time in the period."""

    referral: Referral
    placement_id: int
    kind: str
    host: str
    started_on: date
    ended_on: date | None
    end_reason: str | None
    destination: str | None


async def supported_in_area(session: AsyncSession, authority: str | None, start: date, end: date) -> list[Episode]:
    """Placements in schemes located in the authority (whoever referred the household), live in the period."""
    rows = await session.execute(
        select(Referral, Placement.id, Scheme.type, Scheme.authority_code, Placement.started_on,
               Placement.ended_on, Placement.end_reason, Placement.destination)
        .join(Placement, Placement.referral_id == Referral.id).join(Unit, Placement.unit_id == Unit.id)
        .join(Scheme, Unit.scheme_id == Scheme.id)
        .where(_live_during(start, end), _in_scope(Scheme.authority_code, authority))
    )
    return [Episode(referral, placement_id, kind.value, host, started_on, ended_on, end_reason, destination)
            for referral, placement_id, kind, host, started_on, ended_on, end_reason, destination in rows]


async def first_and_last_support(session: AsyncSession, referral_ids: list[int]
                                 ) -> dict[int, tuple[date, date | None]]:
    """For each household: when its first placement began, and when its last ended (None while one is live)."""
    if not referral_ids:
        return {}
    rows = await session.execute(
        select(Placement.referral_id, func.min(Placement.started_on), func.max(Placement.ended_on),
               func.bool_or(Placement.ended_on.is_(None)))
        .where(Placement.referral_id.in_(referral_ids)).group_by(Placement.referral_id)
    )
    return {rid: (first, None if live else last) for rid, first, last, live in rows}


async def unmet_requests_in_area(session: AsyncSession, authority: str | None, start: date, end: date
                                 ) -> dict[str, int]:
    """Requests providers could not meet in the area in the period: households by reason."""
    rows = await session.execute(
        select(UnmetRequest.reason, func.count(UnmetRequest.id))
        .where(UnmetRequest.requested_on.between(start, end), _in_scope(UnmetRequest.authority_code, authority))
        .group_by(UnmetRequest.reason)
    )
    return {reason: n for reason, n in rows}


async def referrals_closed_unmet(session: AsyncSession, authority: str | None, start: date, end: date) -> list[str]:
    """The close reasons of the authority's referrals closed unmet in the period."""
    rows = await session.scalars(
        select(Referral.close_reason)
        .where(Referral.outcome == "unmet", func.date(Referral.closed_at).between(start, end),
               _in_scope(Referral.authority_code, authority))
    )
    return [reason or "other" for reason in rows]


async def commissioned_stock(session: AsyncSession, authority: str | None, on: date) -> dict[str, tuple[int, int]]:
    """Units and bed spaces of schemes commissioned under Part 4 in the area that existed on `on`, by type."""
    rows = await session.execute(
        select(Scheme.type, func.count(Unit.id), func.coalesce(func.sum(Unit.bedspaces), 0))
        .join(Scheme, Unit.scheme_id == Scheme.id)
        .where(Scheme.part4_commissioned, func.date(Scheme.created_at) <= on,
               _in_scope(Scheme.authority_code, authority))
        .group_by(Scheme.type)
    )
    return {kind.value: (units, int(bedspaces)) for kind, units, bedspaces in rows}
