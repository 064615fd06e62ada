"""HTTP for the inventory: providers, schemes, units, availability, vacancies."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post, put
from litestar.datastructures import State
from litestar.pagination import OffsetPagination
from litestar.params import FromQuery, HeaderParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from service import db
from service.auth import IfMatch, Offset, PathId, allow, caller_of, etag, parse_if_match
from service.caller import Caller, Role
from service.casework import service as casework
from service.db import response
from service.idempotency import service as idempotency
from service.inventory import service
from service.inventory.schemas import (
    AvailabilityIn,
    AvailabilityOut,
    ConfirmIn,
    ConfirmOut,
    DeskUnit,
    Gender,
    ProviderIn,
    ProviderOut,
    SchemeDetail,
    SchemeIn,
    SchemeList,
    SchemeOut,
    SchemePatch,
    SchemeSummary,
    Specialism,
    UnitCounts,
    UnitIn,
    UnitOut,
    UnitPatch,
    VacancyFilter,
    VacancyOut,
)
from service.offers import service as offers
from service.vocabulary import SchemeTypeName

ADMIN, OFFICER, PROVIDER, COMMISSIONER = Role.ADMIN, Role.OFFICER, Role.PROVIDER, Role.COMMISSIONER


class InventoryController(Controller):
    path = "/api/v1"
    tags = ["inventory"]

    @post("/providers", guards=[allow(ADMIN)], status_code=201)
    async def create_provider(self, session: AsyncSession, caller: Caller, data: ProviderIn) -> ProviderOut:
        """Register a refuge provider organisation."""
        return response(ProviderOut, await service.create_provider(session, caller, data.name, data.authority))

    @post("/schemes", guards=[allow(ADMIN, PROVIDER)], status_code=201)
    async def create_scheme(self, session: AsyncSession, caller: Caller, data: SchemeIn) -> SchemeOut:
        """Register a scheme. The address is stored and never returned here."""
        return response(SchemeOut, await service.create_scheme(session, caller, data))

    @post("/schemes/{scheme_id:int}/units", guards=[allow(ADMIN, PROVIDER)], status_code=201)
    async def create_unit(
        self, session: AsyncSession, caller: Caller, scheme_id: PathId, data: UnitIn
    ) -> Response[UnitOut]:
        """Add a unit to a scheme."""
        unit = await service.create_unit(session, caller, scheme_id, data)
        return Response(response(UnitOut, unit), status_code=201, headers=etag(unit.version))

    @get("/units/{unit_id:int}", guards=[allow(ADMIN, PROVIDER)])
    async def get_unit(self, session: AsyncSession, caller: Caller, unit_id: PathId) -> Response[UnitOut]:
        """A unit of the caller's own, with its version (also as ETag)."""
        unit = await service.get_unit(session, caller, unit_id)
        return Response(response(UnitOut, unit), headers=etag(unit.version))

    @put("/units/{unit_id:int}/availability", guards=[allow(ADMIN, PROVIDER)])
    async def set_availability(
        self,
        request: Request[Any, Any, Any],
        state: State,
        unit_id: PathId,
        data: AvailabilityIn,
        if_match: IfMatch = None,
        idempotency_key: Annotated[
            str | None, HeaderParameter(name="Idempotency-Key", required=False, min_length=1, max_length=200)
        ] = None,
    ) -> Response[AvailabilityOut]:
        """Confirm a unit's status. If-Match: 412 when stale. Idempotency-Key: a retry gets the first answer."""
        # The caller straight from authentication: the `caller` dependency would open the request's session.
        caller = caller_of(request)
        expected = parse_if_match(if_match)
        if idempotency_key is None:  # the change is one statement, its own transaction: no session needed
            async with db.single_statements(request) as executor:
                answer = await service.set_availability(executor, caller, unit_id, data, expected,
                                                        lived_in=offers.lived_in)
            return Response(answer, headers=etag(answer.version))
        # The key is claimed, the change made and its answer remembered in one transaction.
        async with db.request_transaction(request.scope, state.session_maker) as session:
            print_ = idempotency.fingerprint("PUT", request.url.path, msgspec.json.encode(data))
            earlier = await idempotency.claim(session, caller.key_id, idempotency_key, print_)
            if earlier is not None and earlier.body is not None and earlier.status_code is not None:
                replay = msgspec.convert(earlier.body, AvailabilityOut)
                return Response(replay, status_code=earlier.status_code,
                                headers={**etag(replay.version), "Idempotent-Replayed": "true"})
            answer = await service.set_availability(session, caller, unit_id, data, expected, lived_in=offers.lived_in)
            await idempotency.remember(session, caller.key_id, idempotency_key, 200, msgspec.to_builtins(answer))
        return Response(answer, headers=etag(answer.version))

    @get("/schemes", guards=[allow(ADMIN, PROVIDER)])
    async def list_schemes(self, session: AsyncSession, caller: Caller, state: State) -> SchemeList:
        """The provider's own schemes (admin: all), without addresses, with their units counted by status."""
        found = await service.list_schemes(session, caller, state.settings.stale_after)
        return SchemeList(items=[
            response(SchemeSummary, scheme, units=UnitCounts(**counts)) for scheme, counts in found
        ])

    @get("/schemes/{scheme_id:int}", guards=[allow(ADMIN, PROVIDER)])
    async def get_scheme(self, session: AsyncSession, caller: Caller, state: State, scheme_id: PathId) -> SchemeDetail:
        """A scheme of the provider's own (admin: any), without its address, and its units."""
        scheme = await service.get_scheme(session, caller, scheme_id)
        units = await service.scheme_units(session, scheme.id)
        stale_after = state.settings.stale_after
        return response(SchemeDetail, scheme, units=[
            response(DeskUnit, u, stale=service.is_stale(u, stale_after)) for u in units
        ])

    @patch("/schemes/{scheme_id:int}", guards=[allow(ADMIN, PROVIDER)])
    async def update_scheme(
        self, session: AsyncSession, caller: Caller, scheme_id: PathId, data: SchemePatch
    ) -> SchemeOut:
        """Change a scheme's name, eligibility or address (never echoed); infeasible pending offers are withdrawn."""
        return response(SchemeOut, await casework.update_scheme(session, caller, scheme_id, data))

    @patch("/units/{unit_id:int}", guards=[allow(ADMIN, PROVIDER)])
    async def update_unit(
        self,
        session: AsyncSession,
        caller: Caller,
        unit_id: PathId,
        data: UnitPatch,
        if_match: IfMatch = None,
    ) -> Response[UnitOut]:
        """Change a unit's label, bed spaces or access. If-Match: 412 when stale."""
        unit = await casework.update_unit(session, caller, unit_id, data, parse_if_match(if_match))
        return Response(response(UnitOut, unit), headers=etag(unit.version))

    @post("/availability/confirm", guards=[allow(ADMIN, PROVIDER)], status_code=200)
    async def confirm(self, session: AsyncSession, caller: Caller, data: ConfirmIn) -> ConfirmOut:
        """Mark units' availability as checked now (default: every unit of the caller's provider)."""
        return ConfirmOut(confirmed=await service.confirm_availability(session, caller, data.unit_ids))

    @get("/vacancies", guards=[allow(ADMIN, OFFICER, COMMISSIONER)])
    async def vacancies(
        self,
        request: Request[Any, Any, Any],
        state: State,
        type: FromQuery[SchemeTypeName | None] = None,
        authority: Annotated[str | None, QueryParameter(pattern=r"^[EWSN]\d{8}$")] = None,
        district: Annotated[str | None, QueryParameter(pattern=r"^(?i:[A-Z]{1,2}[0-9][0-9A-Z]?)$")] = None,
        min_bedspaces: Annotated[int | None, QueryParameter(ge=1, le=20)] = None,
        gender: FromQuery[Gender | None] = None,
        wheelchair_accessible: FromQuery[bool | None] = None,
        step_free: FromQuery[bool | None] = None,
        accepts_children: FromQuery[bool | None] = None,
        pets: FromQuery[bool | None] = None,
        accepts_nrpf: FromQuery[bool | None] = None,
        communal: FromQuery[bool | None] = None,
        language: Annotated[str | None, QueryParameter(pattern=r"^[a-z]{2,3}$", description="ISO 639 code")] = None,
        specialism: FromQuery[Specialism | None] = None,
        available_by: FromQuery[date | None] = None,
        include_stale: FromQuery[bool] = True,
        include_expected: FromQuery[bool] = False,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Offset = 0,
    ) -> OffsetPagination[VacancyOut]:
        """Available units in every authority, with what they accept; `stale` when not confirmed lately.

        `include_expected=true` adds occupied units with a known future `available_from` (`expected: true`):
        they are listed for planning, never offered or matched until they are available.
        """
        filters = VacancyFilter(
            type=type, authority=authority, district=district, min_bedspaces=min_bedspaces, gender=gender,
            wheelchair_accessible=wheelchair_accessible, step_free=step_free, accepts_children=accepts_children,
            pets=pets, accepts_nrpf=accepts_nrpf, communal=communal, language=language, specialism=specialism,
            available_by=available_by, include_stale=include_stale, include_expected=include_expected,
        )
        async with db.single_statements(request) as reader:  # no session: one read
            items, total = await service.search_vacancies(reader, filters, state.settings.stale_after, limit, offset)
        return OffsetPagination(items=items, limit=limit, offset=offset, total=total)
