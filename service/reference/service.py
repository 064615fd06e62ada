"""Reference data: loading it (idempotent upserts) and looking it up."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

import refdata
from service import db
from service.errors import Invalid
from service.reference.models import Authority, AuthorityNeighbour, PostcodeDistrict


async def load_reference_data(session: AsyncSession) -> dict[str, int]:
    """Upsert councils, neighbours and postcode districts from refdata/; safe to run again."""
    authorities = [
        {"code": r["code"], "name": r["name"], "tier_one": r["tier_one"] == "True"} for r in refdata.rows("authorities")
    ]
    statement = insert(Authority).values(authorities)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Authority.code],
            set_={"name": statement.excluded.name, "tier_one": statement.excluded.tier_one},
        )
    )
    neighbours = refdata.rows("neighbours")
    await session.execute(delete(AuthorityNeighbour))
    await session.execute(insert(AuthorityNeighbour).values(neighbours))
    districts = [
        {"district": r["district"], "authority_code": r["authority"] or None, "lat": float(r["lat"]),
         "lon": float(r["lon"])}
        for r in refdata.rows("districts")
    ]
    statement = insert(PostcodeDistrict).values(districts)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[PostcodeDistrict.district],
            set_={"authority_code": statement.excluded.authority_code, "lat": statement.excluded.lat,
                  "lon": statement.excluded.lon},
        )
    )
    return {"authorities": len(authorities), "neighbour_pairs": len(neighbours), "districts": len(districts)}


async def require_authority(session: AsyncSession, code: str, *, field: str) -> Authority:
    """The authority, or 422 naming the field."""
    authority = await session.get(Authority, code)
    if authority is None:
        raise Invalid(field, f"unknown authority {code!r}")
    return authority


async def require_district(session: AsyncSession, district: str, *, field: str) -> PostcodeDistrict:
    """The postcode district, or 422 naming the field."""
    found = await session.get(PostcodeDistrict, district.strip().upper())
    if found is None:
        raise Invalid(field, f"unknown postcode district {district!r}")
    return found


async def district_centroids(session: AsyncSession, districts: set[str]) -> dict[str, tuple[float, float]]:
    """(lat, lon) of each of these postcode districts, in one query."""
    if not districts:
        return {}
    rows = await session.execute(
        select(PostcodeDistrict.district, PostcodeDistrict.lat, PostcodeDistrict.lon)
        .where(PostcodeDistrict.district.in_(districts))
    )
    return {district: (lat, lon) for district, lat, lon in rows}


# The page of councils first (narrow rows: counted, sorted, cut), then the neighbours of those only.
_PAGE = (
    select(Authority.code, Authority.name, Authority.tier_one, func.count().over().label("total"))
    .order_by(Authority.code).limit(bindparam("page_limit")).offset(bindparam("page_offset"))
    .subquery("page")
)
_AUTHORITY_PAGE = (
    select(
        _PAGE.c.code, _PAGE.c.name, _PAGE.c.tier_one,
        func.array(select(AuthorityNeighbour.neighbour).where(AuthorityNeighbour.code == _PAGE.c.code)
                   .order_by(AuthorityNeighbour.neighbour).scalar_subquery()),
        _PAGE.c.total,
    )
    .order_by(_PAGE.c.code)
)
_AUTHORITY_COUNT = select(func.count()).select_from(Authority)


async def authority_page(executor: db.Executor, limit: int, offset: int) -> tuple[list[Sequence[Any]], int]:
    """A page of councils by code, each (code, name, tier_one, neighbour codes, total), and how many there
    are: one query (two for a page past the end)."""
    rows = await db.fetch(executor, _AUTHORITY_PAGE, {"page_limit": limit, "page_offset": offset})
    if rows:
        return rows, int(rows[0][-1])
    return rows, int((await db.fetch(executor, _AUTHORITY_COUNT))[0][0]) if offset else 0


async def list_authorities(session: AsyncSession) -> list[tuple[Authority, list[str]]]:
    """Every council with the codes of its neighbours."""
    neighbours: dict[str, list[str]] = defaultdict(list)
    for code, neighbour in await session.execute(
        select(AuthorityNeighbour.code, AuthorityNeighbour.neighbour).order_by(AuthorityNeighbour.neighbour)
    ):
        neighbours[code].append(neighbour)
    authorities = await session.scalars(select(Authority).order_by(Authority.code))
    return [(authority, neighbours[authority.code]) for authority in authorities]
