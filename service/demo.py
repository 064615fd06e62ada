"""The demo data set: fictional providers, schemes and units in Kirklees and its neighbours."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.access import service as access
from service.access.models import Role
from service.db import utcnow
from service.inventory.models import Provider, Scheme, SchemeType, Unit, UnitStatus
from service.reference.models import PostcodeDistrict

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
    return counts


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
        specialisms=specialisms or [], specialist_only=bool(specialisms), **values,
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
