"""The demo data set: fictional providers, schemes and units in Kirklees and its neighbours."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import Integer, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.access import service as access
from service.caller import Role
from service.db import utcnow
from service.inventory.models import Provider, Scheme, SchemeType, Unit, UnitStatus
from service.offers import service as offers
from service.offers.models import Offer, OfferStatus, Placement
from service.reference.models import PostcodeDistrict
from service.referrals.models import Referral, ReferralStatus, Risk
from service.reports import service as reports
from service.reports.models import OccupancySnapshot
from service.support import service as support

DEMO_PREFIX = "Demo: "
KIRKLEES = "E08000034"

# (provider, authority GSS) — fictional organisations in real councils.
PROVIDERS = [
    ("Pennine Women's Refuge", "E08000034"),
    ("Colne Valley Housing Trust", "E08000034"),
    ("Calder Safe Homes", "E08000033"),
    ("Aire Refuge Partnership", "E08000032"),
    ("Leeds Sanctuary Housing", "E08000035"),
    ("Wakefield Haven", "E08000036"),
    ("Dearne Valley Refuge", "E08000016"),
    ("Oldham Moorside Housing", "E08000004"),
]

# (name, type, units, bedspaces range, eligibility overrides)
SCHEME_SHAPES: list[tuple[str, SchemeType, int, tuple[int, int], dict[str, object]]] = [
    ("Refuge", SchemeType.REFUGE, 8, (1, 4), {"communal": True, "accepts_children": True, "max_boy_age": 14}),
    ("Dispersed homes", SchemeType.DISPERSED, 4, (2, 5), {"accepts_children": True, "pets": True}),
    ("Move-on flats", SchemeType.MOVE_ON, 4, (1, 3), {"accepts_children": True}),
    ("Safe house", SchemeType.OTHER_SAFE, 3, (1, 4), {"accepts_children": True, "communal": True}),
]
SPECIALIST = [
    ("Sahara by-and-for refuge", ["minoritised"], ["ur", "pa", "bn", "ar"], ["female"]),
    ("Rainbow safe house", ["lgbtq"], ["en"], ["female", "male", "non_binary"]),
    ("Men's safe accommodation", ["male"], ["en", "pl"], ["male"]),
    ("Accessible refuge", ["disability"], ["en", "bs"], ["female"]),
]


async def load_demo(session: AsyncSession) -> dict[str, int]:
    """Load the demo set once; a second call finds it and adds nothing."""
    existing = await session.scalar(select(Provider.id).where(Provider.name.startswith(DEMO_PREFIX)).limit(1))
    if existing is not None:
        return {"providers": 0, "schemes": 0, "units": 0}
    rng = random.Random(2026)
    districts: dict[str, list[PostcodeDistrict]] = {}
    for district in await session.scalars(select(PostcodeDistrict).where(PostcodeDistrict.authority_code.isnot(None))):
        districts.setdefault(district.authority_code or "", []).append(district)
    counts = {"providers": 0, "schemes": 0, "units": 0}
    now = utcnow()
    for index, (name, authority) in enumerate(PROVIDERS):
        provider = Provider(name=DEMO_PREFIX + name, authority_code=authority)
        session.add(provider)
        await session.flush()
        counts["providers"] += 1
        shapes = SCHEME_SHAPES[index % 4 :] + SCHEME_SHAPES[: index % 4]
        for scheme_index, (kind, scheme_type, n_units, (low, high), rules) in enumerate(shapes[:2]):
            scheme = _scheme(provider, f"{name} {kind}", scheme_type, rng.choice(districts[authority]), rules, rng)
            session.add(scheme)
            await session.flush()
            counts["schemes"] += 1
            for unit_index in range(n_units):
                session.add(_unit(scheme, f"{'Room' if scheme_type is SchemeType.REFUGE else 'Flat'} "
                                          f"{unit_index + 1}", rng.randint(low, high), rng, now, scheme_index))
                counts["units"] += 1
        if index < len(SPECIALIST):
            title, specialisms, languages, genders = SPECIALIST[index]
            scheme = _scheme(
                provider, title, SchemeType.SPECIALIST_REFUGE, rng.choice(districts[authority]),
                {"accepts_children": "male" not in specialisms, "max_boy_age": 16, "communal": True,
                 "accepts_nrpf": True},
                rng, specialisms=specialisms, languages=languages, genders=genders,
            )
            session.add(scheme)
            await session.flush()
            counts["schemes"] += 1
            for unit_index in range(6):
                unit = _unit(scheme, f"Room {unit_index + 1}", rng.randint(1, 3), rng, now, 0)
                unit.wheelchair_accessible = "disability" in specialisms or unit_index == 0
                unit.step_free = True
                session.add(unit)
                counts["units"] += 1
        if name in SANCTUARY:  # the council's sanctuary scheme: homes made safe, never matched
            scheme = _scheme(provider, f"{name} sanctuary scheme", SchemeType.SANCTUARY,
                             rng.choice(districts[authority]), {"accepts_children": True}, rng,
                             genders=["female", "male", "non_binary"])
            session.add(scheme)
            await session.flush()
            counts["schemes"] += 1
            for unit_index in range(SANCTUARY[name]):
                session.add(_unit(scheme, f"Home {unit_index + 1}", 1, rng, now, 0))
                counts["units"] += 1
    await session.flush()
    counts.update(await _history(session, rng, districts))
    counts.update(await _todays_work(session, rng, districts))
    return counts


# Providers that run their council's sanctuary scheme, and how many homes each can have fitted out at once.
SANCTUARY = {"Colne Valley Housing Trust": 24, "Leeds Sanctuary Housing": 16}
SOURCES = ["helpline", "helpline", "agency", "self", "other_council"]
# How support ended: in their own homes most households stop needing it; elsewhere most move on.
SANCTUARY_ENDS = ["no_longer_needed", "no_longer_needed", "no_longer_needed", "planned_move_on", "other"]
OTHER_ENDS = ["planned_move_on", "planned_move_on", "no_longer_needed", "left_before_planned_end", "asked_to_leave",
              "transferred"]
CHARACTERISTICS = ["black_and_minoritised", "mental_health", "disabled", "lgbt_plus", "substance_use", "nrpf",
                   "young_person", "older_person"]
TRANS = ["no"] * 7 + ["yes", "prefer_not_to_say"]
UNMET_REQUESTS = ["capacity", "capacity", "capacity", "needs_not_met", "risk_too_high", "nrpf", "household_size"]

# Equality monitoring answers the demo households give (fictional, drawn at random).
EQUALITY = {
    "sex": ["female", "female", "female", "male", "prefer_not_to_say"],
    "ethnicity": ["white", "white", "asian", "asian", "black", "mixed", "other", "prefer_not_to_say"],
    "disability": ["no", "no", "yes", "prefer_not_to_say"],
    "age_band": ["18-24", "25-34", "25-34", "35-44", "45-54", "55-64"],
    "sexual_orientation": ["heterosexual", "heterosexual", "gay_or_lesbian", "bisexual", "prefer_not_to_say"],
    "religion": ["none", "christian", "muslim", "sikh", "prefer_not_to_say"],
    "pregnancy_maternity": ["no", "no", "no", "yes", "prefer_not_to_say"],
    "marriage_civil_partnership": ["neither", "neither", "married", "prefer_not_to_say"],
}
UNMET = ["wheelchair", "boy_age", "nrpf", "household_size", "language", "capacity", "capacity", "excluded_area"]
DESTINATIONS = ["own_tenancy", "social_housing", "move_on", "private_rented", "family_or_friends", "unknown"]


def _household(rng: random.Random, districts: dict[str, list[PostcodeDistrict]], authority: str,
               referred_on: datetime, gender: str = "female") -> Referral:
    children = [{"age": rng.randint(0, 15), "sex": rng.choice(["female", "male"])}
                for _ in range(rng.choice([0, 0, 1, 1, 2, 3]))]
    home = rng.choice(districts[authority])
    return Referral(
        authority_code=authority, status=ReferralStatus.OPEN, risk=rng.choice(list(Risk)),
        marac=rng.random() < 0.3, referred_on=referred_on.date(), needed_by=None,
        household={"adults": [{"gender": gender, "age": rng.randint(19, 60)}], "children": children},
        needs={"wheelchair": rng.random() < 0.05, "nrpf": rng.random() < 0.08, "languages": [],
               "interpreter_ok": True},
        safety={"perpetrator_locations": [{"district": home.district}], "min_distance_km": 8.0,
                "exclude_authorities": [], "exclude_districts": [], "separate_from": []},
        preferences={"types": [], "near": None},
        equality={**{field: rng.choice(values) for field, values in EQUALITY.items()},
                  "adults": [{"trans": rng.choice(TRANS),
                              "characteristics": rng.sample(CHARACTERISTICS, rng.choice([0, 0, 1, 1, 2]))}],
                  "children": [{"characteristics": rng.sample(["disabled", "mental_health"], rng.choice([0, 0, 0, 1]))}
                               for _ in children]},
    )


async def _history(
    session: AsyncSession, rng: random.Random, districts: dict[str, list[PostcodeDistrict]]
) -> dict[str, int]:
    """Six months of fictional referrals, placements, declines and daily snapshots, for the reports."""
    now = utcnow()
    units = list(await session.execute(
        select(Unit, Scheme).join(Scheme, Unit.scheme_id == Scheme.id)
        .join(Provider, Scheme.provider_id == Provider.id).where(Provider.name.startswith(DEMO_PREFIX))
        .order_by(Unit.id)
    ))
    authorities = [code for _, code in PROVIDERS]
    placed = 0
    for unit, scheme in units:
        gender = "male" if scheme.genders == ["male"] else "female"
        if unit.status is UnitStatus.OCCUPIED:  # a household lives there now
            home = scheme.authority_code if rng.random() < 0.8 else rng.choice(authorities)
            started = now - timedelta(days=rng.randint(3, 150))
            household = _household(rng, districts, home, started - timedelta(days=rng.randint(0, 20)), gender)
            await _placement(session, household, unit, scheme, started, None, rng)
            placed += 1
        elif unit.status is UnitStatus.AVAILABLE and rng.random() < 0.5:  # a household moved on
            ended = now - timedelta(days=rng.randint(2, 60))
            started = ended - timedelta(days=rng.randint(20, 120))
            household = _household(rng, districts, scheme.authority_code, started - timedelta(days=5), gender)
            await _placement(session, household, unit, scheme, started, ended, rng)
            placed += 1
    for provider in await session.scalars(select(Provider).where(Provider.name.startswith(DEMO_PREFIX))):
        for _ in range(rng.randint(2, 6)):  # requests for a place the provider could not meet
            session.add(support.UnmetRequest(
                provider_id=provider.id, authority_code=provider.authority_code,
                requested_on=(now - timedelta(days=rng.randint(1, 170))).date(), reason=rng.choice(UNMET_REQUESTS),
                source=rng.choice(["officer", *SOURCES]), adults=1, children=rng.choice([0, 1, 2, 3])))
    for _ in range(40):  # households not placed, some after declined offers
        referral = _household(rng, districts, rng.choice(authorities[:3] + [KIRKLEES] * 3),
                              now - timedelta(days=rng.randint(5, 170)))
        referral.status, referral.outcome = ReferralStatus.CLOSED, "unmet"
        referral.close_reason = rng.choice(UNMET)
        _give_need(referral, referral.close_reason)
        referral.closed_at = now - timedelta(days=rng.randint(0, 4))
        session.add(referral)
        await session.flush()
        if rng.random() < 0.4:
            unit, _ = rng.choice(units)
            session.add(Offer(referral_id=referral.id, unit_id=unit.id, status=OfferStatus.DECLINED,
                              expires_at=referral.closed_at, answered_at=referral.closed_at,
                              decline_reason=rng.choice(["needs_not_met", "risk_too_high", "unit_unsuitable"]),
                              declined_by="provider"))
    for _ in range(12):  # still waiting
        session.add(_household(rng, districts, KIRKLEES, now - timedelta(days=rng.randint(0, 10))))
    for day in range(1, 121):  # the stock as it stood, day by day (fictional variation)
        await reports.record_snapshot(session, (now - timedelta(days=day)).date())
    wobble = func.mod(func.floor(func.extract("doy", OccupancySnapshot.snapshot_on) / 9).cast(Integer), 4)
    await session.execute(
        update(OccupancySnapshot)
        .where(OccupancySnapshot.snapshot_on < now.date(), OccupancySnapshot.status == "occupied")
        .values(bedspaces=func.greatest(0, OccupancySnapshot.bedspaces - wobble))
    )
    await reports.record_snapshot(session, now.date())
    return {"placements": placed, "referrals": placed + 52}


async def _todays_work(
    session: AsyncSession, rng: random.Random, districts: dict[str, list[PostcodeDistrict]]
) -> dict[str, int]:
    """Something for each role to do on the first start.

    The Kirklees officer's caseload gains two households linked to one perpetrator (one names the
    other); the demo provider (the first one) has offers waiting for its answer on two rooms of its
    by-and-for refuge, rooms whose availability nobody has confirmed for a day and a half, and a
    room that a household will leave in twelve days.
    """
    now = utcnow()
    first = await session.scalar(select(Provider).where(Provider.name == DEMO_PREFIX + PROVIDERS[0][0]))
    assert first is not None
    rooms = list(await session.execute(
        select(Unit, Scheme).join(Scheme, Unit.scheme_id == Scheme.id)
        .where(Scheme.provider_id == first.id).order_by(Unit.id)
    ))
    # Two households for the provider's by-and-for refuge, linked to one perpetrator (so never under
    # one roof); the elder is offered a room there, and so is a third household.
    def sahara_household(days_waiting: int) -> Referral:
        referral = _household(rng, districts, KIRKLEES, now - timedelta(days=days_waiting))
        referral.needed_by = (now + timedelta(days=14)).date()
        # One woman and a toddler: a household any room of the refuge can take, whatever the draw.
        referral.household = {"adults": [{"gender": "female", "age": 24 + days_waiting}],
                              "children": [{"age": 2, "sex": "female"}]}
        referral.equality = {**referral.equality, "adults": referral.equality["adults"][:1],
                             "children": [{"characteristics": []}]}
        referral.needs = {**referral.needs, "wheelchair": False, "nrpf": False, "languages": ["ur"],
                          "interpreter_ok": False, "specialisms": ["minoritised"]}
        referral.safety = {**referral.safety, "perpetrator_locations": [{"district": "OL1"}]}
        return referral

    elder, other = sahara_household(9), sahara_household(6)
    session.add_all([elder, other])
    await session.flush()
    younger = sahara_household(2)
    younger.safety = {**elder.safety, "separate_from": [elder.id]}
    session.add(younger)
    await session.flush()
    offered = 0
    for referral in (elder, other):
        for unit, scheme in rooms:
            if unit.status is UnitStatus.AVAILABLE and scheme.specialist_only \
                    and not await offers.rules_broken(session, referral, unit, scheme):
                unit.status, unit.version = UnitStatus.HELD, unit.version + 1
                session.add(Offer(referral_id=referral.id, unit_id=unit.id, status=OfferStatus.PENDING,
                                  expires_at=now + timedelta(hours=4)))
                await session.flush()
                offered += 1
                break
    free = [unit for unit, _ in rooms if unit.status is UnitStatus.AVAILABLE]
    for unit in free[:2]:  # nobody has confirmed these for a day and a half
        unit.confirmed_at = now - timedelta(hours=36)
    for unit in free[2:]:
        unit.confirmed_at = now - timedelta(hours=2)
    lived_in = [unit for unit, _ in rooms if unit.status is UnitStatus.OCCUPIED]
    if lived_in:  # "Room 4 frees up on the 12th"
        lived_in[0].available_from = now.date() + timedelta(days=12)
    await session.flush()
    return {"pending_offers": offered, "linked_households": 2}


def _give_need(referral: Referral, reason: str) -> None:
    """Make the household's needs match why it went unplaced, so capacity planning has something to find."""
    needs, household = dict(referral.needs), dict(referral.household)
    if reason == "wheelchair":
        needs["wheelchair"] = True
    elif reason == "nrpf":
        needs["nrpf"] = True
    elif reason == "boy_age":
        household["children"] = [{"age": 15, "sex": "male"}]
    elif reason == "household_size":
        household["children"] = [{"age": age, "sex": "female"} for age in (2, 5, 8, 11)]
    elif reason == "language":
        needs["languages"], needs["interpreter_ok"] = ["ti"], False
    referral.needs, referral.household = needs, household


async def _placement(session: AsyncSession, referral: Referral, unit: Unit, scheme: Scheme, started: datetime,
                     ended: datetime | None, rng: random.Random) -> None:
    if rng.random() < 0.25:  # reached the provider without an officer's referral
        referral.source, referral.recorded_by_provider_id = rng.choice(SOURCES), scheme.provider_id
        referral.safety, referral.preferences = {}, {}
    referral.status = ReferralStatus.PLACED if ended is None else ReferralStatus.CLOSED
    if ended is not None:
        referral.outcome, referral.close_reason, referral.closed_at = "placed", "placed", ended
    session.add(referral)
    await session.flush()
    offer = Offer(referral_id=referral.id, unit_id=unit.id, status=OfferStatus.ACCEPTED, expires_at=started,
                  answered_at=started)
    session.add(offer)
    await session.flush()
    session.add(Placement(offer_id=offer.id, referral_id=referral.id, unit_id=unit.id, started_on=started.date(),
                          ended_on=ended.date() if ended else None,
                          destination=(("remained_in_own_home" if scheme.type is SchemeType.SANCTUARY
                                        else rng.choice(DESTINATIONS)) if ended else None),
                          end_reason=rng.choice(SANCTUARY_ENDS if scheme.type is SchemeType.SANCTUARY
                                                else OTHER_ENDS) if ended else None))


def _scheme(
    provider: Provider, name: str, scheme_type: SchemeType, district: PostcodeDistrict, rules: dict[str, object],
    rng: random.Random, *, specialisms: list[str] | None = None, languages: list[str] | None = None,
    genders: list[str] | None = None,
) -> Scheme:
    values: dict[str, object] = {
        "accepts_children": False, "max_children": None, "max_boy_age": None, "pets": False,
        "accepts_nrpf": rng.random() < 0.3, "communal": False,
    }
    values.update(rules)
    if values["accepts_children"]:
        values["max_children"] = rng.choice([None, 3, 4])
    return Scheme(
        provider_id=provider.id, name=name, type=scheme_type, authority_code=provider.authority_code,
        district=district.district,
        address=f"{rng.randint(1, 200)} Example Street, {district.district} (fictional)",
        lat=district.lat, lon=district.lon, genders=genders or ["female"],
        languages=languages or sorted({"en", rng.choice(["ur", "pa", "pl", "ro", "ar", "ku", "so"])}),
        specialisms=specialisms or [], specialist_only=bool(specialisms),
        # The council commissions most of it under Part 4; a few safe houses run on other money.
        part4_commissioned=scheme_type is not SchemeType.OTHER_SAFE or rng.random() < 0.5, **values,
    )


def _unit(scheme: Scheme, label: str, bedspaces: int, rng: random.Random, now: datetime, salt: int) -> Unit:
    status = rng.choices(
        [UnitStatus.AVAILABLE, UnitStatus.OCCUPIED, UnitStatus.UNAVAILABLE], weights=[45, 45, 10]
    )[0]
    confirmed = now - timedelta(hours=rng.choice([1, 3, 8, 20, 30, 50]))
    return Unit(
        scheme_id=scheme.id, label=label, bedspaces=bedspaces,
        wheelchair_accessible=rng.random() < 0.12, step_free=rng.random() < 0.3 + 0.1 * salt,
        status=status,
        available_from=(confirmed.date() + timedelta(days=rng.choice([0, 0, 0, 2, 7])))
        if status is UnitStatus.AVAILABLE else None,
        confirmed_at=confirmed, version=1,
    )


async def demo_keys(session: AsyncSession) -> list[tuple[str, str]]:
    """Fresh demo keys, one per role (the previous run's demo keys are revoked)."""
    provider_id = await session.scalar(
        select(Provider.id).where(Provider.name == DEMO_PREFIX + PROVIDERS[0][0])
    )
    wanted = [
        (Role.ADMIN, None, None),
        (Role.OFFICER, KIRKLEES, None),
        (Role.PROVIDER, None, provider_id),
        (Role.COMMISSIONER, KIRKLEES, None),
    ]
    keys = []
    for role, authority, provider in wanted:
        name = f"demo {role.value}"
        await access.revoke_keys_named(session, name)
        _, key = await access.create_key(session, role, name, authority=authority, provider_id=provider)
        keys.append((role.value, key))
    return keys
