"""Inventory use cases: providers, schemes, units, availability and the vacancy search."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from datetime import date, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import (
    Boolean,
    ColumnElement,
    ColumnExpressionArgument,
    Integer,
    Select,
    and_,
    bindparam,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from service import db
from service.audit import service as audit
from service.caller import Caller, Role
from service.changes import service as changes
from service.db import get_or_404, utcnow
from service.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, PreconditionFailed
from service.inventory.models import Provider, Scheme, SchemeType, Unit, UnitStatus
from service.inventory.schemas import (
    AvailabilityIn,
    AvailabilityOut,
    SchemeIn,
    SchemePatch,
    UnitIn,
    UnitPatch,
    VacancyFilter,
    VacancyOut,
)
from service.reference import service as reference


async def create_provider(session: AsyncSession, caller: Caller, name: str, authority: str) -> Provider:
    """Register a provider organisation (admin)."""
    await reference.require_authority(session, authority, field="authority")
    provider = Provider(name=name.strip(), authority_code=authority)
    session.add(provider)
    await session.flush()
    audit.record(session, caller, "create", "provider", provider.id)
    return provider


async def get_provider(session: AsyncSession, provider_id: int) -> Provider:
    """The provider, or 422 naming the provider field."""
    provider = await session.get(Provider, provider_id)
    if provider is None:
        raise Invalid("provider_id", f"no provider {provider_id}")
    return provider


# Who a scheme's units accept (CONTRACT section 3): the fields a scheme holds for all its units.
ELIGIBILITY = (
    "genders", "accepts_children", "max_children", "max_boy_age", "pets", "accepts_nrpf", "communal", "languages",
    "specialisms", "specialist_only", "no_assistance_dog_reason",
)


def eligibility(scheme: Scheme) -> dict[str, Any]:
    """The scheme's eligibility fields by name."""
    return {name: getattr(scheme, name) for name in ELIGIBILITY}


def _require_owner(caller: Caller, provider_id: int) -> None:
    if caller.role is Role.ADMIN:
        return
    if caller.role is Role.PROVIDER and caller.provider_id == provider_id:
        return
    raise Forbidden("this belongs to another provider")


async def create_scheme(session: AsyncSession, caller: Caller, data: SchemeIn) -> Scheme:
    """Register a scheme: the provider's own, or any for admin.

    The scheme is placed at its postcode district's centroid, never at precise coordinates: the
    matcher's distances and reasons could otherwise let a caller triangulate a refuge.
    """
    _require_owner(caller, data.provider_id)
    await get_provider(session, data.provider_id)
    await reference.require_authority(session, data.authority, field="authority")
    district = await reference.require_district(session, data.district, field="district")
    if district.authority_code != data.authority:
        raise Invalid("district", f"postcode district {district.district} is not in authority {data.authority}")
    if data.max_children is not None and not data.accepts_children:
        raise Invalid("max_children", "set only when the scheme accepts children")
    if data.specialist_only and not data.specialisms:
        raise Invalid("specialisms", "a specialist-only scheme names at least one specialism")
    fields = msgspec.structs.asdict(data)
    fields.update(
        authority_code=fields.pop("authority"),
        district=district.district,
        type=SchemeType(data.type),
        lat=district.lat,
        lon=district.lon,
        genders=sorted(set(data.genders)),
        languages=sorted(set(data.languages)),
        specialisms=sorted(set(data.specialisms)),
    )
    scheme = Scheme(**fields)
    session.add(scheme)
    await session.flush()
    audit.record(session, caller, "create", "scheme", scheme.id)
    return scheme


async def create_unit(session: AsyncSession, caller: Caller, scheme_id: int, data: UnitIn) -> Unit:
    """Add a unit to a scheme (its provider, or admin)."""
    scheme = await get_or_404(session, Scheme, scheme_id)
    _require_owner(caller, scheme.provider_id)
    unit = Unit(
        scheme_id=scheme.id, label=data.label.strip(), bedspaces=data.bedspaces,
        wheelchair_accessible=data.wheelchair_accessible, step_free=data.step_free,
        status=UnitStatus(data.status),
        available_from=_available_from(data.status, data.available_from),
        confirmed_at=utcnow(), version=1,
    )
    session.add(unit)
    await session.flush()
    if unit.status is UnitStatus.AVAILABLE:
        await changes.note(session, unit_ids=[unit.id])
    audit.record(session, caller, "create", "unit", unit.id)
    return unit


def _available_from(status: str, given: date | None) -> date | None:
    today = utcnow().date()
    if given is not None and not today - timedelta(days=366) <= given <= today + timedelta(days=2 * 366):
        raise Invalid("available_from", "must be within a year before and two years after today")
    if status == UnitStatus.AVAILABLE:
        return given or today
    return given


async def get_unit(session: AsyncSession, caller: Caller, unit_id: int) -> Unit:
    """A unit, for its provider or admin."""
    unit, scheme = await unit_with_scheme(session, unit_id)
    _require_owner(caller, scheme.provider_id)
    return unit


async def _unit_to_change(session: AsyncSession, caller: Caller, unit_id: int, expected_version: int | None) -> Unit:
    """The caller's own unit, row-locked; 412 when If-Match names another version than the unit's."""
    found = (  # one round trip: the unit, locked, and who owns it
        await session.execute(
            select(Unit, Scheme.provider_id).join(Scheme, Unit.scheme_id == Scheme.id)
            .where(Unit.id == unit_id).with_for_update(of=Unit)
        )
    ).first()
    if found is None:
        raise NotFound("unit", unit_id)
    unit, provider_id = found
    _require_owner(caller, provider_id)
    if expected_version is not None and expected_version != unit.version:
        raise PreconditionFailed(
            f"unit {unit_id} is at version {unit.version}, not {expected_version}; read it again",
            headers={"ETag": f'"{unit.version}"'},
        )
    return unit


async def set_availability(
    executor: db.Executor, caller: Caller, unit_id: int, change: AvailabilityIn, expected_version: int | None,
    *, lived_in: Callable[[ColumnExpressionArgument[int]], ColumnElement[bool]],
) -> AvailabilityOut:
    """Record a provider's confirmation of a unit's status, in one statement (one round trip).

    The statement locks the unit, changes it only if every rule below holds, and in the same
    statement writes the audit event and, when the unit becomes available, queues it for the
    suitability re-check. Racing writers queue on the row lock; with If-Match the second one sees
    the first one's version and gets 412 instead of silently overwriting it. When nothing changed,
    the row it read says which rule refused, in the order `_availability_refusal` checks them.
    Placements belong to the offers feature, which is built on this one: its `lived_in` SQL test is
    passed in, not imported.

    One change is never made by that one statement: taking a unit out of `occupied`. A statement
    that waited for the unit's lock sees the unit as its holder left it, but other tables as they
    were when it began: a household that moved in meanwhile (an offer accepted) would be invisible.
    So that change is made carefully (`_set_availability_under_lock`): the unit locked first, then
    the same statement, which then sees every placement committed before the lock was granted.
    """
    status = UnitStatus(change.status)
    params = {
        "unit_id": unit_id, "status": status.value, "available_from": _available_from(status, change.available_from),
        "confirmed_at": utcnow(), "expected": expected_version, "admin": caller.role is Role.ADMIN,
        "provider_id": caller.provider_id if caller.role is Role.PROVIDER else None, "careful": False,
        **audit.caller_params(caller),
    }
    if status is UnitStatus.OCCUPIED and change.available_from is not None \
            and change.available_from <= utcnow().date():
        await _require_unit_of(executor, caller, unit_id)  # 404 and 403 come before a bad date, as elsewhere
        raise Invalid("available_from", "for an occupied unit, the future date it is expected to be free")
    statement = _availability_statement(lived_in)
    row = await _run_availability(executor, statement, unit_id, params)
    if row["version"] is None:
        refusal = _availability_refusal(caller, unit_id, row, status, expected_version, careful=False)
        if refusal is not None:
            raise refusal
        row = await _set_availability_under_lock(executor, statement, unit_id, params)
        if row["version"] is None:
            raise _availability_refusal(caller, unit_id, row, status, expected_version, careful=True) or \
                AssertionError("the availability statement refused a change its rules allow")
    return AvailabilityOut(id=unit_id, status=row["status"], available_from=row["available_from"],
                           version=row["version"], confirmed_at=row["confirmed_at"])


async def _run_availability(executor: db.Executor, statement: Select[Any], unit_id: int,
                            params: dict[str, Any]) -> Any:
    found = await db.fetch(executor, statement, params)
    if not found:
        raise NotFound("unit", unit_id)
    return found[0]


async def _set_availability_under_lock(executor: db.Executor, statement: Select[Any], unit_id: int,
                                       params: dict[str, Any]) -> Any:
    """The availability statement in a transaction that has locked the unit first (see set_availability)."""
    lock = select(Unit.id).where(Unit.id == bindparam("unit_id")).with_for_update()

    async def locked_then_changed(on: db.Executor) -> Any:
        if isinstance(on, db.LaneConnection):  # (its transaction has begun)
            await db.fetch(on, lock, {"unit_id": unit_id})
        else:
            await on.execute(lock, {"unit_id": unit_id})  # through SQLAlchemy: it sends BEGIN first
        return await _run_availability(on, statement, unit_id, {**params, "careful": True})

    if isinstance(executor, db.LaneConnection):
        async with executor.transaction():
            return await locked_then_changed(executor)
    if isinstance(executor, AsyncSession) or executor.in_transaction():
        return await locked_then_changed(executor)  # the caller's transaction commits it
    async with executor.begin():
        return await locked_then_changed(executor)


async def _require_unit_of(executor: db.Executor, caller: Caller, unit_id: int) -> None:
    """NotFound when there is no such unit, Forbidden when it is another provider's."""
    found = await db.fetch(executor, _UNIT_OWNER, {"unit_id": unit_id})
    if not found:
        raise NotFound("unit", unit_id)
    _require_owner(caller, found[0][0])


_UNIT_OWNER = (
    select(Scheme.provider_id).join(Unit, Unit.scheme_id == Scheme.id).where(Unit.id == bindparam("unit_id"))
)


def _availability_refusal(
    caller: Caller, unit_id: int, row: Any, status: UnitStatus, expected_version: int | None, *, careful: bool
) -> DomainError | None:
    """Why `_availability_statement` changed nothing: its rules, in order, against the row it read.
    None: only because the unit leaves `occupied`, which is done under the lock (`careful`)."""
    try:
        _require_owner(caller, row["provider_id"])
    except Forbidden as refused:
        return refused
    if expected_version is not None and expected_version != row["was_version"]:
        return PreconditionFailed(
            f"unit {unit_id} is at version {row['was_version']}, not {expected_version}; read it again",
            headers={"ETag": f'"{row["was_version"]}"'},
        )
    if row["was_status"] == UnitStatus.HELD:
        return Conflict(f"unit {unit_id} is held by a pending offer; the offer must be answered first")
    if row["was_status"] == UnitStatus.OCCUPIED and status is not UnitStatus.OCCUPIED:
        if not careful:
            return None
        if row["lived_in"]:
            return Conflict(f"a household lives in unit {unit_id}; end its placement to free the unit")
    return None


@functools.cache
def _availability_statement(lived_in: Callable[[ColumnExpressionArgument[int]], ColumnElement[bool]]) -> Select[Any]:
    """PUT /units/{id}/availability as one statement, built once, values as bound parameters.

    `target` reads and locks the unit (FOR UPDATE: a racing writer waits, then sees this one's
    version); `changed` updates it when the caller owns it, If-Match names its version, no pending
    offer holds it and no household lives in it (unless it stays occupied); `audited` and `noted`
    write the audit event and the re-check note for what changed. The answer is the row read and
    the row written (NULLs when refused), or no row when there is no such unit.
    """
    target = (
        select(Unit.id, Unit.status, Unit.version, Scheme.provider_id,
               ((Unit.status == UnitStatus.OCCUPIED) & lived_in(Unit.id)).label("lived_in"))
        .join(Scheme, Unit.scheme_id == Scheme.id)
        .where(Unit.id == bindparam("unit_id"))
        .with_for_update(of=Unit)
        .cte("target")
    )
    new_status = bindparam("status", type_=Unit.status.type)
    expected = bindparam("expected", type_=Unit.version.type)
    changed = (
        update(Unit)
        .where(
            Unit.id == target.c.id,
            or_(bindparam("admin", type_=Boolean), target.c.provider_id == bindparam("provider_id", type_=Integer)),
            or_(expected.is_(None), target.c.version == expected),
            target.c.status != UnitStatus.HELD,
            # Out of `occupied` only under a lock taken first, when no household lives there (see set_availability).
            or_(new_status == UnitStatus.OCCUPIED, target.c.status != UnitStatus.OCCUPIED,
                and_(bindparam("careful", type_=Boolean), ~target.c.lived_in)),
        )
        .values(status=new_status, available_from=bindparam("available_from", type_=Unit.available_from.type),
                confirmed_at=bindparam("confirmed_at", type_=Unit.confirmed_at.type), stale_flagged_at=None,
                version=Unit.version + 1)
        .returning(Unit.id, Unit.status, Unit.available_from, Unit.confirmed_at, Unit.version,
                   target.c.status.label("was_status"))
        .cte("changed")
    )
    audited = audit.recorded("availability", "unit", select(changed.c.id)).cte("audited")
    noted = changes.noting_units(
        select(changed.c.id).where(changed.c.status == UnitStatus.AVAILABLE,
                                   changed.c.was_status != UnitStatus.AVAILABLE)
    ).cte("noted")
    return (
        select(target.c.provider_id, target.c.status.label("was_status"), target.c.version.label("was_version"),
               target.c.lived_in, changed.c.status, changed.c.available_from, changed.c.confirmed_at,
               changed.c.version)
        .select_from(target.outerjoin(changed, true()))
        .add_cte(audited, noted)
    )


# The vacancy search is built once per combination of filters in use, with bound parameters for
# their values: building and keying a statement costs more than running it, on every request.
_EQUAL_FILTERS = {
    "type": Scheme.type, "authority": Scheme.authority_code, "accepts_children": Scheme.accepts_children,
    "pets": Scheme.pets, "accepts_nrpf": Scheme.accepts_nrpf, "communal": Scheme.communal,
    "wheelchair_accessible": Unit.wheelchair_accessible,
}
_ARRAY_FILTERS = {"gender": Scheme.genders, "language": Scheme.languages, "specialism": Scheme.specialisms}


def _vacancy_params(filters: VacancyFilter, stale_before: datetime) -> dict[str, Any]:
    """The values of the filters in use, by bound-parameter name (the statement's shape is their keys)."""
    given = {name: getattr(filters, name) for name in (*_EQUAL_FILTERS, *_ARRAY_FILTERS)}
    params: dict[str, Any] = {name: value for name, value in given.items() if value is not None}
    params.update({name: [params[name]] for name in _ARRAY_FILTERS if name in params})
    if filters.include_expected:  # occupied units whose provider knows the day they will be free
        params["expected_after"] = utcnow().date()
    if filters.district is not None:
        params["district"] = filters.district.upper()
    if filters.step_free is not None:
        params["step_free_yes" if filters.step_free else "step_free_no"] = True
    if filters.min_bedspaces is not None:
        params["min_bedspaces"] = filters.min_bedspaces
    if filters.available_by is not None:
        params["available_by"] = filters.available_by
    if not filters.include_stale:
        params["fresh_since"] = stale_before
    return params


@functools.cache
def _vacancy_conditions(names: frozenset[str]) -> tuple[ColumnElement[bool], ...]:
    """The WHERE of the vacancy search for these filter names, values left as bound parameters."""
    available = Unit.status == UnitStatus.AVAILABLE
    if "expected_after" in names:
        available = or_(available, and_(Unit.status == UnitStatus.OCCUPIED,
                                        Unit.available_from > bindparam("expected_after")))
    # Sanctuary schemes support households in their own homes: never a vacancy, never matched.
    conditions: list[ColumnElement[bool]] = [available, Scheme.type != SchemeType.SANCTUARY]
    conditions += [column == bindparam(name) for name, column in _EQUAL_FILTERS.items() if name in names]
    conditions += [column.contains(bindparam(name, type_=column.type)) for name, column in _ARRAY_FILTERS.items()
                   if name in names]
    if "district" in names:
        conditions.append(Scheme.district == bindparam("district"))
    if "step_free_yes" in names:  # a wheelchair-accessible unit is step-free too
        conditions.append(Unit.step_free | Unit.wheelchair_accessible)
    if "step_free_no" in names:
        conditions.append(~Unit.step_free)
    if "min_bedspaces" in names:
        conditions.append(Unit.bedspaces >= bindparam("min_bedspaces"))
    if "available_by" in names:
        conditions.append(Unit.available_from <= bindparam("available_by"))
    if "fresh_since" in names:
        conditions.append(Unit.confirmed_at >= bindparam("fresh_since"))
    return tuple(conditions)


def _vacancy_query(filters: VacancyFilter, stale_before: datetime) -> tuple[Select[Unit, Scheme], dict[str, Any]]:
    params = _vacancy_params(filters, stale_before)
    conditions = _vacancy_conditions(frozenset(params))
    query = select(Unit, Scheme).join(Scheme, Unit.scheme_id == Scheme.id).where(*conditions)
    return query, params


@functools.cache
def _vacancy_search(names: frozenset[str]) -> Select[*tuple[Any, ...]]:
    """The search for these filter names: the columns a vacancy shows as plain rows (no ORM objects), in
    VacancyOut's order, `stale` worked out by the database."""
    return (
        select(
            Unit.id, Scheme.id, Scheme.name, Scheme.provider_id, Scheme.type, Scheme.authority_code,
            Scheme.district, Unit.label, Unit.bedspaces, Unit.wheelchair_accessible, Unit.step_free, Scheme.genders,
            Scheme.accepts_children, Scheme.max_children, Scheme.max_boy_age, Scheme.pets, Scheme.accepts_nrpf,
            Scheme.communal, Scheme.languages, Scheme.specialisms, Scheme.specialist_only, Unit.available_from,
            Unit.confirmed_at, Unit.confirmed_at < bindparam("stale_before"), Unit.status == UnitStatus.OCCUPIED,
            Scheme.no_assistance_dog_reason,
        )
        .join(Scheme, Unit.scheme_id == Scheme.id)
        .where(*_vacancy_conditions(names))
        .order_by(Unit.available_from, Unit.confirmed_at.desc(), Unit.id)
    )


async def search_vacancies(
    executor: db.Executor, filters: VacancyFilter, stale_after: timedelta, limit: int, offset: int
) -> tuple[list[VacancyOut], int]:
    """Available units across every authority, most recently confirmed first; never an address.

    One round trip: the page and the total come from one query.
    """
    stale_before = utcnow() - stale_after
    params = _vacancy_params(filters, stale_before)
    query = _vacancy_search(frozenset(params))
    rows, total = await db.page(executor, query, limit, offset, {**params, "stale_before": stale_before})
    return [VacancyOut(*row[:-1]) for row in rows], total


def is_sanctuary(scheme: Scheme) -> bool:
    """Support in the household's own home: recorded, never offered or matched."""
    return scheme.type is SchemeType.SANCTUARY


def owns(caller: Caller, scheme: Scheme) -> bool:
    """The provider that runs the scheme (admin is not the provider)."""
    return caller.role is Role.PROVIDER and caller.provider_id == scheme.provider_id


async def unit_with_scheme(session: AsyncSession, unit_id: int, *, lock: bool = False) -> tuple[Unit, Scheme]:
    """The unit and its scheme; with `lock`, the unit is row-locked for the rest of the transaction."""
    unit = await get_or_404(session, Unit, unit_id, lock=lock)
    scheme = await session.get(Scheme, unit.scheme_id)
    assert scheme is not None
    return unit, scheme


async def lock_unit(session: AsyncSession, unit_id: int) -> tuple[Unit, Scheme]:
    """The unit, row-locked for the rest of the transaction, with its scheme."""
    return await unit_with_scheme(session, unit_id, lock=True)


async def scheme_address(session: AsyncSession, scheme_id: int) -> str:
    """The confidential address: only for a placement's officer, its provider and admin."""
    address = await session.scalar(select(Scheme.address).where(Scheme.id == scheme_id))
    assert address is not None
    return address


def _set_status(unit: Unit, status: UnitStatus, available_from: date | None = None) -> None:
    unit.status = status
    unit.available_from = available_from
    unit.confirmed_at = utcnow()
    unit.stale_flagged_at = None
    unit.version += 1


def hold(unit: Unit) -> None:
    """A pending offer holds the unit."""
    _set_status(unit, UnitStatus.HELD, unit.available_from)


def occupy(unit: Unit) -> None:
    """A household has moved in."""
    _set_status(unit, UnitStatus.OCCUPIED)


def release(unit: Unit, available_from: date | None = None) -> None:
    """The unit is free again (offer declined, withdrawn, expired; placement ended)."""
    _set_status(unit, UnitStatus.AVAILABLE, max(available_from or utcnow().date(), utcnow().date()))


def problem_unit(unit: Unit, scheme: Scheme) -> dict[str, Any]:
    """The unit as CONTRACT section 3 describes it."""
    return {
        "id": str(unit.id), "scheme": str(scheme.id), "type": scheme.type.value, "authority": scheme.authority_code,
        "district": scheme.district, "lat": scheme.lat, "lon": scheme.lon, "bedspaces": unit.bedspaces,
        "wheelchair_accessible": unit.wheelchair_accessible, "step_free": unit.step_free, **eligibility(scheme),
        "available_from": (unit.available_from or utcnow().date()).isoformat(),
    }


async def matchable_units(
    session: AsyncSession, stale_after: timedelta, unit_ids: Collection[int] | None = None
) -> list[tuple[Unit, Scheme]]:
    """Available units confirmed within the staleness threshold, of every authority (or of these ids)."""
    query, params = _vacancy_query(VacancyFilter(include_stale=False), utcnow() - stale_after)
    if unit_ids is not None:
        query = query.where(Unit.id.in_(unit_ids))
    return [(unit, scheme) for unit, scheme in await session.execute(query.order_by(Unit.id), params)]


async def flag_stale(session: AsyncSession, stale_after: timedelta) -> list[tuple[int, int]]:
    """Scheduled: available units not confirmed within the threshold, not flagged yet, are flagged now.

    They already drop out of match runs (matchable_units reads confirmed_at); the flag makes sure
    each provider is asked once to reconfirm. Returns (unit id, provider id) of the newly flagged.
    """
    query = (
        select(Unit, Scheme.provider_id).join(Scheme, Unit.scheme_id == Scheme.id)
        .where(Unit.status == UnitStatus.AVAILABLE, Unit.confirmed_at < utcnow() - stale_after,
               Unit.stale_flagged_at.is_(None))
        .with_for_update(of=Unit, skip_locked=True)
    )
    flagged = []
    for unit, provider_id in await session.execute(query):
        unit.stale_flagged_at = utcnow()
        flagged.append((unit.id, provider_id))
    return flagged


# --- the provider's desk ----------------------------------------------------------------------


def _provider_scope(caller: Caller) -> int | None:
    """The provider whose records the caller works on; None for admin (all of them)."""
    if caller.role is Role.ADMIN:
        return None
    if caller.role is Role.PROVIDER and caller.provider_id is not None:
        return caller.provider_id
    raise Forbidden(f"the {caller.role.value} role has no provider's desk")


async def list_schemes(
    session: AsyncSession, caller: Caller, stale_after: timedelta
) -> list[tuple[Scheme, dict[str, int]]]:
    """The caller's schemes (admin: all), each with its units counted by status and how many are stale."""
    provider_id = _provider_scope(caller)
    query = select(Scheme).order_by(Scheme.name, Scheme.id)
    if provider_id is not None:
        query = query.where(Scheme.provider_id == provider_id)
    schemes = list(await session.scalars(query))
    counts: dict[int, dict[str, int]] = {s.id: {} for s in schemes}
    stale = and_(Unit.status == UnitStatus.AVAILABLE, Unit.confirmed_at < utcnow() - stale_after)
    rows = await session.execute(
        select(Unit.scheme_id, Unit.status, func.count(), func.count().filter(stale))
        .where(Unit.scheme_id.in_(counts)).group_by(Unit.scheme_id, Unit.status)
    )
    for scheme_id, status, n, n_stale in rows:
        counts[scheme_id][status.value] = n
        counts[scheme_id]["stale"] = counts[scheme_id].get("stale", 0) + n_stale
    return [(scheme, counts[scheme.id]) for scheme in schemes]


async def get_scheme(session: AsyncSession, caller: Caller, scheme_id: int, *, lock: bool = False) -> Scheme:
    """A scheme of the caller's own provider (admin: any); 404 when there is none, 403 when another's."""
    scheme = await get_or_404(session, Scheme, scheme_id, lock=lock)
    _require_owner(caller, scheme.provider_id)
    return scheme


async def scheme_units(session: AsyncSession, scheme_id: int) -> list[Unit]:
    """The scheme's units, by label."""
    return list(await session.scalars(select(Unit).where(Unit.scheme_id == scheme_id).order_by(Unit.label, Unit.id)))


def is_stale(unit: Unit, stale_after: timedelta) -> bool:
    """An available unit whose availability has not been confirmed within the threshold."""
    return unit.status is UnitStatus.AVAILABLE and unit.confirmed_at < utcnow() - stale_after


async def update_scheme(
    session: AsyncSession, caller: Caller, scheme_id: int, data: SchemePatch
) -> tuple[Scheme, list[str]]:
    """Change a scheme's name, eligibility fields or address; returns it and the names of the fields changed."""
    scheme = await get_scheme(session, caller, scheme_id, lock=True)
    given = {name: getattr(data, name) for name in data.__struct_fields__ if getattr(data, name) is not msgspec.UNSET}
    for name in ("genders", "languages", "specialisms"):
        if name in given:
            given[name] = sorted(set(given[name]))
    if "name" in given:
        given["name"] = given["name"].strip()
    after = {name: given.get(name, getattr(scheme, name)) for name in ("accepts_children", "max_children",
                                                                       "specialist_only", "specialisms")}
    if after["max_children"] is not None and not after["accepts_children"]:
        raise Invalid("max_children", "set only when the scheme accepts children")
    if after["specialist_only"] and not after["specialisms"]:
        raise Invalid("specialisms", "a specialist-only scheme names at least one specialism")
    changed = []
    address = given.pop("address", None)
    if address is not None and address != await scheme_address(session, scheme.id):
        scheme.address = address
        changed.append("address")
    for name, value in given.items():
        if getattr(scheme, name) != value:
            setattr(scheme, name, value)
            changed.append(name)
    await session.flush()
    if set(changed) & set(ELIGIBILITY):
        await changes.note(session, unit_ids=[u.id for u in await scheme_units(session, scheme.id)])
    audit.record(session, caller, "update", "scheme", scheme.id, fields=changed)
    return scheme, changed


async def update_unit(
    session: AsyncSession, caller: Caller, unit_id: int, data: UnitPatch, expected_version: int | None
) -> tuple[Unit, list[str]]:
    """Change a unit's label, bed spaces or access; If-Match honoured (412 when stale). Returns the fields changed."""
    unit = await _unit_to_change(session, caller, unit_id, expected_version)
    changed = []
    for name in data.__struct_fields__:
        value = getattr(data, name)
        if value is msgspec.UNSET:
            continue
        if name == "label":
            value = value.strip()
        if getattr(unit, name) != value:
            setattr(unit, name, value)
            changed.append(name)
    if changed:
        unit.version += 1
        await session.flush()
        if set(changed) - {"label"}:
            await changes.note(session, unit_ids=[unit.id])
    audit.record(session, caller, "update", "unit", unit.id, fields=changed)
    return unit, changed


async def confirm_availability(session: AsyncSession, caller: Caller, unit_ids: list[int] | None) -> int:
    """Mark units' availability as checked now (nothing else changes); another provider's unit: 403, none confirmed."""
    provider_id = _provider_scope(caller)
    owned = select(Unit.id, Scheme.provider_id).join(Scheme, Unit.scheme_id == Scheme.id)
    if unit_ids is None:
        if provider_id is None:
            raise Invalid("unit_ids", "admin names the units to confirm")
        owned = owned.where(Scheme.provider_id == provider_id)
    else:
        owned = owned.where(Unit.id.in_(unit_ids))
    found = dict((await session.execute(owned)).all())
    if unit_ids is not None:
        missing = sorted(set(unit_ids) - set(found))
        if missing:
            raise NotFound("unit", missing[0])
        if provider_id is not None and any(p != provider_id for p in found.values()):
            raise Forbidden("a unit listed belongs to another provider; nothing was confirmed")
    if not found:
        return 0
    available = list(await session.scalars(
        select(Unit.id).where(Unit.id.in_(found), Unit.status == UnitStatus.AVAILABLE)
    ))
    result = await session.execute(
        update(Unit).where(Unit.id.in_(found)).values(confirmed_at=func.now(), stale_flagged_at=None)
        .execution_options(synchronize_session=False)
    )
    # A stale unit left the match runs; confirmed, it is back: re-check who it suits.
    await changes.note(session, unit_ids=available)
    for unit_id in sorted(found):
        audit.record(session, caller, "confirm", "unit", unit_id)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def describe_units(session: AsyncSession, unit_ids: list[int]) -> dict[int, dict[str, Any]]:
    """What a list shows of these units (one query): label, size, scheme name, type, authority, district.

    Never the address: officers see these before any placement exists.
    """
    if not unit_ids:
        return {}
    rows = await session.execute(
        select(Unit.id, Unit.label, Unit.bedspaces, Unit.wheelchair_accessible, Unit.step_free, Scheme.id,
               Scheme.name, Scheme.type, Scheme.authority_code, Scheme.district)
        .join(Scheme, Unit.scheme_id == Scheme.id).where(Unit.id.in_(unit_ids))
    )
    return {
        row[0]: {"unit_id": row[0], "label": row[1], "bedspaces": row[2], "wheelchair_accessible": row[3],
                 "step_free": row[4], "scheme_id": row[5], "scheme_name": row[6], "type": row[7].value,
                 "authority": row[8], "district": row[9]}
        for row in rows
    }


async def desk_units(session: AsyncSession, caller: Caller, stale_after: timedelta) -> list[dict[str, Any]]:
    """The provider's desk (admin: every provider's): schemes by name, each with its units by label and their
    status, available_from, confirmed_at, stale flag and version. One query; never the address."""
    if caller.role is Role.PROVIDER:
        scope = Scheme.provider_id == caller.provider_id
    elif caller.role is Role.ADMIN:
        scope = Scheme.id.is_not(None)
    else:
        raise Forbidden(f"the {caller.role.value} role has no provider's desk")
    stale_before = utcnow() - stale_after
    rows = await session.execute(
        select(Scheme.id, Scheme.name, Scheme.type, Scheme.district, Unit)
        .outerjoin(Unit, Unit.scheme_id == Scheme.id).where(scope)
        .order_by(Scheme.name, Scheme.id, Unit.label, Unit.id)
    )
    schemes: dict[int, dict[str, Any]] = {}
    for scheme_id, name, kind, district, unit in rows:
        scheme = schemes.setdefault(scheme_id, {"id": scheme_id, "name": name, "type": kind.value,
                                                "district": district, "units": []})
        if unit is not None:
            scheme["units"].append({
                "id": unit.id, "label": unit.label, "bedspaces": unit.bedspaces, "status": unit.status.value,
                "available_from": unit.available_from, "confirmed_at": unit.confirmed_at, "version": unit.version,
                "stale": unit.status is UnitStatus.AVAILABLE and unit.confirmed_at < stale_before,
            })
    return list(schemes.values())


async def stale_counts(session: AsyncSession, stale_after: timedelta) -> dict[int, int]:
    """Available units not confirmed within the threshold, by provider id (for the metrics)."""
    rows = await session.execute(
        select(Scheme.provider_id, func.count()).join(Unit, Unit.scheme_id == Scheme.id)
        .where(Unit.status == UnitStatus.AVAILABLE, Unit.confirmed_at < utcnow() - stale_after)
        .group_by(Scheme.provider_id)
    )
    return {int(provider_id): int(count) for provider_id, count in rows}
