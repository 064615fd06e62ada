"""HTTP for the reference data."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.pagination import OffsetPagination
from litestar.params import QueryParameter
from msgspec import Struct

from service import db
from service.auth import Offset, allow
from service.caller import Role
from service.reference import service


class AuthorityOut(Struct):
    code: str
    name: str
    tier_one: bool
    neighbours: list[str]


# Every council in England fits on one page (there are about 350).
MAX_AUTHORITIES = 500


class ReferenceController(Controller):
    path = "/api/v1"
    tags = ["reference"]

    @get("/authorities", guards=[allow(*Role)])
    async def authorities(
        self, request: Request[Any, Any, Any], state: State,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_AUTHORITIES)] = MAX_AUTHORITIES, offset: Offset = 0,
    ) -> OffsetPagination[AuthorityOut]:
        """English councils (GSS code, name) and the councils each borders, by code (all of them unless
        `limit` says fewer)."""
        async with db.single_statements(request) as executor:  # no session: one read
            rows, total = await service.authority_page(executor, limit, offset)
        return OffsetPagination(items=[AuthorityOut(*row[:-1]) for row in rows], limit=limit, offset=offset,
                                total=total)
