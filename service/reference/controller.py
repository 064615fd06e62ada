"""HTTP for the reference data."""

from __future__ import annotations

from litestar import Controller, get
from litestar.pagination import OffsetPagination
from msgspec import Struct
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import allow
from service.caller import Role
from service.reference import service


class AuthorityOut(Struct):
    code: str
    name: str
    tier_one: bool
    neighbours: list[str]


class ReferenceController(Controller):
    path = "/api/v1"
    tags = ["reference"]

    @get("/authorities", guards=[allow(*Role)])
    async def authorities(self, session: AsyncSession) -> OffsetPagination[AuthorityOut]:
        """English councils (GSS code, name) and the councils each borders."""
        items = [
            AuthorityOut(code=a.code, name=a.name, tier_one=a.tier_one, neighbours=n)
            for a, n in await service.list_authorities(session)
        ]
        return OffsetPagination(items=items, limit=len(items), offset=0, total=len(items))
