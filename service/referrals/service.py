"""Referral use cases: register, read (audited), close; and the referral as the matcher sees it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit import service as audit
from service.caller import Caller, Role
from service.changes import service as changes
from service.db import get_or_404, utcnow
from service.errors import Conflict, Invalid, NotFound, PreconditionFailed, PreconditionRequired
from service.reference import service as reference
from service.referrals.models import Referral, ReferralStatus, Risk
from service.referrals.schemas import CloseIn, EqualityIn, HouseholdIn, ReferralIn, ReferralPatch, SafetyIn
from service.vocabulary import UNMET_REASONS, WITHDRAWN_REASONS, adult_age_band, child_age_band


def _check_dates(referred_on: date, needed_by: date | None) -> None:
    if needed_by is not None and needed_by < referred_on:
        raise Invalid("needed_by", "must not be before referred_on")
    if referred_on > utcnow().date():
        raise Invalid("referred_on", "must not be in the future")
    if referred_on < utcnow().date() - timedelta(days=5 * 366):
        raise Invalid("referred_on", "must be within the last five years")
    if needed_by is not None and needed_by > utcnow().date() + timedelta(days=2 * 366):
        raise Invalid("needed_by", "must be within two years from today")


async def _checked_safety(session: AsyncSession, data: SafetyIn, own_id: int | None = None) -> dict[str, Any]:
    """The safety part as stored: districts checked and upper-cased, linked referrals checked to exist.

    A linked household may be another authority's referral (the same perpetrator moves across
    borders); naming it reveals nothing of it to this officer.
    """
    safety = msgspec.to_builtins(data)
    for index, location in enumerate(data.perpetrator_locations):
        field = f"safety.perpetrator_locations[{index}]"
        has_point = location.lat is not None and location.lon is not None
        half_point = (location.lat is None) != (location.lon is None)
        if half_point or has_point == (location.district is not None):
            raise Invalid(field, "give a postcode district, or both lat and lon")
        if location.district is not None:
            await reference.require_district(session, location.district, field=f"{field}.district")
            safety["perpetrator_locations"][index] = {"district": location.district.upper()}
    for index, district in enumerate(data.exclude_districts):
        await reference.require_district(session, district, field=f"safety.exclude_districts[{index}]")
    safety["exclude_districts"] = sorted({d.upper() for d in data.exclude_districts})
    for index, code in enumerate(data.exclude_authorities):
        await reference.require_authority(session, code, field=f"safety.exclude_authorities[{index}]")
    for index, linked in enumerate(data.separate_from):
        found = await session.scalar(select(Referral.id).where(Referral.id == linked))
        if found is None or linked == own_id:
            raise Invalid(f"safety.separate_from[{index}]", f"no other referral {linked}")
    safety["separate_from"] = sorted(set(data.separate_from))
    return safety


def _equality(data: EqualityIn) -> dict[str, Any]:
    return {k: v for k, v in msgspec.to_builtins(data).items() if v is not None and v != []}


async def create_referral(session: AsyncSession, caller: Caller, data: ReferralIn) -> Referral:
    """Register a household for the officer's authority."""
    assert caller.authority is not None, "officer keys are bound to an authority"
    _check_dates(data.referred_on, data.needed_by)
    safety = await _checked_safety(session, data.safety)
    referral = Referral(
        authority_code=caller.authority, created_by_key_id=caller.key_id, status=ReferralStatus.OPEN,
        risk=Risk(data.risk), marac=data.marac, referred_on=data.referred_on, needed_by=data.needed_by,
        household={"adults": msgspec.to_builtins(data.adults), "children": msgspec.to_builtins(data.children)},
        needs=msgspec.to_builtins(data.needs), safety=safety, preferences=msgspec.to_builtins(data.preferences),
        equality=equality_record(data.equality, len(data.adults), len(data.children)), version=1,
    )
    session.add(referral)
    await session.flush()
    audit.record(session, caller, "create", "referral", referral.id)
    return referral


def equality_record(equality: EqualityIn, adults: int, children: int) -> dict[str, Any]:
    """The monitoring answers as stored: unanswered fields left out; per-person lists no longer than the household."""
    if len(equality.adults) > adults:
        raise Invalid("equality.adults", f"{len(equality.adults)} entries for {adults} adults")
    if len(equality.children) > children:
        raise Invalid("equality.children", f"{len(equality.children)} entries for {children} children")
    return _equality(equality)


async def record_household(
    session: AsyncSession, caller: Caller, data: HouseholdIn, *, authority: str, source: str, started_on: date,
    provider_id: int | None,
) -> Referral:
    """A household supported without an officer's referral: the same fields, no safety plan, placed at once."""
    await reference.require_authority(session, authority, field="from_authority")
    referral = Referral(
        authority_code=authority, created_by_key_id=caller.key_id, status=ReferralStatus.PLACED,
        risk=Risk(data.risk), marac=data.marac, referred_on=started_on, needed_by=None,
        household={"adults": msgspec.to_builtins(data.adults), "children": msgspec.to_builtins(data.children)},
        needs=msgspec.to_builtins(data.needs), safety={}, preferences={},
        equality=equality_record(data.equality, len(data.adults), len(data.children)),
        source=source, recorded_by_provider_id=provider_id,
        version=1,
    )
    session.add(referral)
    await session.flush()
    await changes.note(session, referral_ids=[referral.id])
    audit.record(session, caller, "create", "referral", referral.id)
    return referral


async def update_referral(
    session: AsyncSession, caller: Caller, referral_id: int, data: ReferralPatch, expected_version: int | None
) -> tuple[Referral, list[str]]:
    """Replace the parts of an open referral that the officer sends; returns it and the names of the fields changed.

    If-Match is required: without it 428, with a version other than the current one 412 (someone
    changed the household since the officer read it). Placed or closed referrals are history: 409.
    """
    if expected_version is None:
        raise PreconditionRequired("If-Match with the referral's version is required to change it")
    referral = await get_referral(session, caller, referral_id, action="read", lock=True)
    if expected_version != referral.version:
        raise PreconditionFailed(
            f"referral {referral_id} is at version {referral.version}, not {expected_version}; read it again",
            headers={"ETag": f'"{referral.version}"'},
        )
    if referral.status is not ReferralStatus.OPEN:
        raise Conflict(f"referral {referral_id} is {referral.status.value}; only an open referral changes")
    given = {name for name in data.__struct_fields__ if getattr(data, name) is not msgspec.UNSET}
    new: dict[str, Any] = {}
    if isinstance(data.risk, str):
        new["risk"] = Risk(data.risk)
    if "marac" in given:
        new["marac"] = data.marac
    if "needed_by" in given:
        assert not isinstance(data.needed_by, msgspec.UnsetType)
        _check_dates(referral.referred_on, data.needed_by)
        new["needed_by"] = data.needed_by
    household = dict(referral.household)
    for part in ("adults", "children"):
        if part in given:
            household[part] = msgspec.to_builtins(getattr(data, part))
    if household != referral.household:
        new["household"] = household
    for part in ("needs", "preferences"):
        if part in given:
            new[part] = msgspec.to_builtins(getattr(data, part))
    if isinstance(data.safety, SafetyIn):
        new["safety"] = await _checked_safety(session, data.safety, own_id=referral.id)
    if isinstance(data.equality, EqualityIn):
        new["equality"] = _equality(data.equality)
    changed: list[str] = [p for p in ("adults", "children") if p in given and household[p] != referral.household.get(p)]
    for name, value in new.items():
        if getattr(referral, name) != value:
            setattr(referral, name, value)
            if name != "household":
                changed.append(name)
    if changed:
        referral.version += 1
        await session.flush()
        await changes.note(session, referral_ids=[referral.id])
    audit.record(session, caller, "update", "referral", referral.id, fields=changed)
    return referral, changed


async def get_referral(
    session: AsyncSession, caller: Caller, referral_id: int, *, action: str = "read", lock: bool = False
) -> Referral:
    """A referral the caller may see (404 otherwise, so its existence is not revealed); audited."""
    referral = await load(session, referral_id, lock=lock)
    if not may_see(caller, referral):
        raise NotFound("referral", referral_id)
    audit.record(session, caller, action, "referral", referral.id)
    return referral


def may_see(caller: Caller, referral: Referral) -> bool:
    """Officers of the referral's authority, and admin."""
    return caller.role is Role.ADMIN or (
        caller.role is Role.OFFICER and caller.authority == referral.authority_code
    )


async def close_referral(
    session: AsyncSession, caller: Caller, referral_id: int, data: CloseIn,
    *, has_pending_offer: Callable[[AsyncSession, int], Awaitable[bool]],
) -> Referral:
    """Close with an outcome; a referral with a pending offer must have it answered or withdrawn first.

    Offers are built on referrals, so the offers feature's `has_pending_offer` is passed in rather
    than imported here.
    """
    referral = await get_referral(session, caller, referral_id, action="close", lock=True)
    if referral.status is ReferralStatus.CLOSED:
        raise Conflict(f"referral {referral_id} is already closed")
    if data.outcome == "placed":
        if referral.status is not ReferralStatus.PLACED:
            raise Invalid("outcome", "only a placed referral closes as placed")
    elif referral.status is ReferralStatus.PLACED:
        raise Invalid("outcome", "a placed referral closes as placed")
    allowed = {"placed": {"placed", "other"}, "withdrawn": WITHDRAWN_REASONS, "unmet": UNMET_REASONS}[data.outcome]
    if data.reason not in allowed:
        raise Invalid("reason", f"for outcome {data.outcome!r} give one of {sorted(allowed)}")
    if await has_pending_offer(session, referral.id):
        raise Conflict(f"referral {referral_id} has a pending offer; withdraw it or wait for the answer")
    referral.status = ReferralStatus.CLOSED
    referral.outcome = data.outcome
    referral.close_reason = data.reason
    referral.closed_at = utcnow()
    return referral


def mark_placed(referral: Referral) -> None:
    """The referral's household has moved in."""
    referral.status = ReferralStatus.PLACED


async def problem_referral(
    session: AsyncSession, referral: Referral, exclude_schemes: Iterable[int] = ()
) -> dict[str, Any]:
    """The referral as CONTRACT section 3 describes it; districts become their centroids."""
    return (await problem_referrals(session, [referral], {referral.id: set(exclude_schemes)}))[0]


async def problem_referrals(
    session: AsyncSession, referrals: Sequence[Referral], exclude_schemes: Mapping[int, Iterable[int]]
) -> list[dict[str, Any]]:
    """Referrals as the matcher reads them, with the schemes each is kept out of (`safety.exclude_schemes`).

    The districts of perpetrator locations are looked up in one query for the whole batch.
    """
    wanted = {
        location["district"] for referral in referrals for location in referral.safety.get("perpetrator_locations", [])
        if location.get("district")
    }
    centroids = await reference.district_centroids(session, wanted)
    problems = []
    for referral in referrals:
        safety = dict(referral.safety)
        safety["perpetrator_locations"] = [
            {"lat": centroids[location["district"]][0], "lon": centroids[location["district"]][1]}
            if location.get("district") else {"lat": location["lat"], "lon": location["lon"]}
            for location in safety.get("perpetrator_locations", [])
        ]
        safety["separate_from"] = [str(linked) for linked in safety.get("separate_from", [])]
        safety["exclude_schemes"] = sorted(str(s) for s in exclude_schemes.get(referral.id, ()))
        problems.append({
            "id": str(referral.id), "risk": referral.risk.value, "referred_on": referral.referred_on.isoformat(),
            "needed_by": referral.needed_by.isoformat() if referral.needed_by else None,
            "adults": referral.household.get("adults", []), "children": referral.household.get("children", []),
            "needs": referral.needs, "safety": safety, "preferences": referral.preferences,
        })
    return problems


async def open_referrals(session: AsyncSession, authority: str | None) -> list[Referral]:
    """Open referrals of one authority (or of all, for admin), oldest first."""
    query = select(Referral).where(Referral.status == ReferralStatus.OPEN)
    if authority is not None:
        query = query.where(Referral.authority_code == authority)
    return list(await session.scalars(query.order_by(Referral.referred_on, Referral.id)))


def today() -> date:
    """The service's idea of today (UTC)."""
    return utcnow().date()


async def load(session: AsyncSession, referral_id: int, *, lock: bool = False) -> Referral:
    """A referral by id with no scope check, for the offers workflow (callers check scope themselves)."""
    return await get_or_404(session, Referral, referral_id, lock=lock)


async def linked_referral_ids(session: AsyncSession, referral: Referral) -> set[int]:
    """Households this one must never share a scheme with, whichever side named the link."""
    return (await links_of(session, [referral]))[referral.id]


async def links_of(session: AsyncSession, referrals: Sequence[Referral]) -> dict[int, set[int]]:
    """For each referral, the households linked to it, whichever side named the link, in any authority."""
    links: dict[int, set[int]] = {r.id: {int(x) for x in r.safety.get("separate_from", [])} for r in referrals}
    if not referrals:
        return links
    ids = list(links)
    named = await session.execute(
        select(Referral.id, Referral.safety["separate_from"])
        .where(func.jsonb_array_length(func.coalesce(Referral.safety["separate_from"], text("'[]'::jsonb"))) > 0)
    )
    wanted = set(ids)
    for other_id, names in named:
        for name in names or []:
            if int(name) in wanted:
                links[int(name)].add(other_id)
    return links


def _month(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def pseudonymise_due(session: AsyncSession, retention: timedelta, left_placement: Collection[int] = ()) -> int:
    """Scheduled: referrals past the retention period keep only what statutory reporting needs.

    Due: closed more than the retention period ago; left open (never placed or closed) that long
    (closed now as withdrawn, reason `lapsed`); or placed in a placement that ended that long ago
    (`left_placement`, ids from the offers feature). Exact ages become bands; dates keep only their
    month; safety details (perpetrator locations, excluded areas, links), preferences and equality
    monitoring are erased (the reports keep only the counts they already took); needs keep their
    yes/no flags and specialisms, not languages.
    """
    cutoff = utcnow() - retention
    due = list(await session.scalars(
        select(Referral).where(
            Referral.pseudonymised_at.is_(None),
            or_(
                and_(Referral.status == ReferralStatus.CLOSED, Referral.closed_at < cutoff),
                and_(Referral.status == ReferralStatus.OPEN, Referral.created_at < cutoff,
                     Referral.referred_on < cutoff.date()),
                and_(Referral.status == ReferralStatus.PLACED, Referral.id.in_(left_placement)),
            ),
        )
        .order_by(Referral.id).with_for_update(skip_locked=True).limit(1000)
    ))
    for referral in due:
        if referral.status is ReferralStatus.OPEN:
            referral.status, referral.outcome, referral.close_reason = ReferralStatus.CLOSED, "withdrawn", "lapsed"
            referral.closed_at = utcnow()
        referral.household = {
            "adults": [{"gender": a["gender"], "age_band": a.get("age_band") or adult_age_band(a["age"])}
                       for a in referral.adults],
            "children": [{"sex": c["sex"], "age_band": c.get("age_band") or child_age_band(c["age"])}
                         for c in referral.children],
        }
        referral.needs = {k: v for k, v in referral.needs.items() if k not in ("languages", "interpreter_ok")}
        referral.safety = {}
        referral.preferences = {}
        referral.equality = {}
        referral.referred_on = referral.referred_on.replace(day=1)
        referral.needed_by = referral.needed_by.replace(day=1) if referral.needed_by else None
        referral.closed_at = _month(referral.closed_at) if referral.closed_at else None
        referral.created_at = _month(referral.created_at)
        referral.created_by_key_id = None
        referral.pseudonymised_at = utcnow()
        audit.record(session, None, "pseudonymise", "referral", referral.id)
    return len(due)
