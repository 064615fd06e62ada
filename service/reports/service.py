"""Commissioners' reports: occupancy, unmet need, the statutory annual return, capacity planning.

Every count about people passes through `suppression` (1 to 4 reads "<5", with secondary
suppression inside groups whose total is shown). Counts of units and bed spaces are not about
people and are shown as they are. The reads are in `queries`, the return in `annual_return`, the
capacity plan in `capacity` and the files in `exports`; other features call them through here.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit import service as audit
from service.caller import Caller, Role
from service.errors import Forbidden
from service.referrals.service import Referral
from service.reports import periods, queries
from service.reports.annual_return import PURPOSES, Purpose, annual_return, current_financial_year
from service.reports.capacity import capacity_plan
from service.reports.exports import annual_return_csv, annual_return_xlsx
from service.reports.models import OccupancySnapshot
from service.reports.publication import TableBuilder, protected
from service.reports.schemas import (
    AnnualReturn,
    BedspacesByStatus,
    Breakdown,
    CapacityPlan,
    HouseholdsByReason,
    OccupancyPoint,
    OccupancyReport,
    OccupancyRow,
    OffersByReason,
    Period,
    RiskBreakdown,
    TimeToPlacement,
    UnitsByStatus,
    UnmetNeedReport,
    VacancyCount,
)
from service.reports.suppression import Count, Table, cell
from service.vocabulary import (
    CHARACTERISTICS,
    NOT_RECORDED,
    REGULATION_NAMES,
    RISKS_HIGHEST_FIRST,
    UNIT_STATUSES,
)

__all__ = [
    "PURPOSES",
    "AnnualReturn",
    "CapacityPlan",
    "OccupancyReport",
    "Purpose",
    "UnmetNeedReport",
    "VacancyCount",
    "annual_return",
    "annual_return_csv",
    "annual_return_xlsx",
    "capacity_plan",
    "current_financial_year",
    "occupancy",
    "period",
    "record_snapshot",
    "scope_for",
    "unmet_need",
    "vacancies_today",
]

MIN_FOR_STATISTICS = 5  # averages and percentiles of fewer people could single someone out


async def record_snapshot(session: AsyncSession, on: date) -> int:
    """Count units and bed spaces by authority, type and status for `on`; a second run that day replaces it."""
    rows = [
        {"snapshot_on": on, "authority_code": authority, "type": kind, "status": status,
         "units": units, "bedspaces": bedspaces}
        for authority, kind, status, units, bedspaces in await queries.stock(session, None)
    ]
    if rows:
        statement = insert(OccupancySnapshot).values(rows)
        await session.execute(statement.on_conflict_do_update(
            index_elements=["snapshot_on", "authority_code", "type", "status"],
            set_={"units": statement.excluded.units, "bedspaces": statement.excluded.bedspaces},
        ))
    return len(rows)


def _stats(days: list[int]) -> tuple[float | None, float | None, float | None]:
    """Mean, median and 90th percentile, or nothing when too few people to show them."""
    if len(days) < MIN_FOR_STATISTICS:
        return None, None, None
    ordered = sorted(days)
    p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]  # nearest rank
    return round(statistics.fmean(ordered), 1), float(statistics.median(ordered)), float(p90)


# --- occupancy ---------------------------------------------------------------------------------

Key = tuple[str, str]  # authority, accommodation type


def _by_status() -> dict[str, int]:
    return dict.fromkeys(UNIT_STATUSES, 0)


@dataclass
class _Stock:
    """Units and bed spaces of one authority and type now, by status."""

    units: dict[str, int] = field(default_factory=_by_status)
    bedspaces: dict[str, int] = field(default_factory=_by_status)


@dataclass
class _Flows:
    """Placements begun and ended in the period, and the lengths of the stays that ended, by authority and type."""

    started: Counter[Key] = field(default_factory=Counter)
    ended: Counter[Key] = field(default_factory=Counter)
    stays: defaultdict[Key, list[int]] = field(default_factory=lambda: defaultdict(list))


def _flows(placements: Iterable[tuple[str, str, date, date | None]], start: date, end: date) -> _Flows:
    flows = _Flows()
    for code, kind, started_on, ended_on in placements:
        key = (code, kind)
        if start <= started_on <= end:
            flows.started[key] += 1
        if ended_on is not None and start <= ended_on <= end:
            flows.ended[key] += 1
            flows.stays[key].append((ended_on - started_on).days)
    return flows


def _occupancy_rate(bedspaces: dict[str, int]) -> float | None:
    """Occupied bed spaces over usable ones (available, held or occupied)."""
    usable = bedspaces["available"] + bedspaces["held"] + bedspaces["occupied"]
    return round(bedspaces["occupied"] / usable, 3) if usable else None


def _occupancy_row(key: Key, name: str, stock: _Stock, bedspace_days: dict[str, int] | None, flows: _Flows,
                   shown: dict[Hashable, Count]) -> OccupancyRow:
    code, kind = key
    mean, median, _ = _stats(flows.stays.get(key, []))
    units_total = sum(stock.units.values())
    ended = shown.get(("ended", *key), 0)
    return OccupancyRow(
        authority=code, authority_name=name, type=kind, type_name=REGULATION_NAMES.get(kind, kind),
        # Occupied and held units are households (placed, or offered a room): counts about people.
        units=UnitsByStatus(available=stock.units["available"], held=cell(stock.units["held"]),
                            occupied=cell(stock.units["occupied"]), unavailable=stock.units["unavailable"]),
        bedspaces=BedspacesByStatus(**stock.bedspaces),
        # Over the period's snapshots; with none in the period yet, today's stock.
        occupancy_rate=_occupancy_rate(bedspace_days or stock.bedspaces),
        placements_started=shown.get(("started", *key), 0), placements_ended=ended,
        average_stay_days=mean, median_stay_days=median,
        turnover=round(flows.ended[key] / units_total, 2) if units_total and isinstance(ended, int) else None,
    )


async def occupancy(session: AsyncSession, authority: str | None, start: date, end: date) -> OccupancyReport:
    """Occupancy over the period by authority and accommodation type, from daily snapshots and placements."""
    names = await queries.authority_names(session)
    series: defaultdict[tuple[date, str], dict[str, int]] = defaultdict(_by_status)
    bedspace_days: defaultdict[Key, dict[str, int]] = defaultdict(_by_status)
    for on, code, kind, status, bedspaces in await queries.snapshots(session, authority, start, end):
        series[(on, kind)][status] += bedspaces
        bedspace_days[(code, kind)][status] += bedspaces
    stock: defaultdict[Key, _Stock] = defaultdict(_Stock)
    for code, kind, status, units, bedspaces in await queries.stock(session, authority):
        stock[(code, kind)].units[status] = units
        stock[(code, kind)].bedspaces[status] = bedspaces
    flows = _flows(await queries.placements_during(session, authority, start, end), start, end)
    _, shown = await protected(_flow_builder(session, authority), start, end)

    keys = sorted(set(stock) | set(bedspace_days) | set(flows.started) | set(flows.ended))
    return OccupancyReport(
        period=Period(start, end), authority=authority,
        series=[OccupancyPoint(date=on, type=kind, **{f"{s}_bedspaces": v[s] for s in UNIT_STATUSES})
                for (on, kind), v in sorted(series.items())],
        by_authority_and_type=[_occupancy_row(key, names.get(key[0], key[0]), stock[key], bedspace_days.get(key),
                                              flows, shown) for key in keys],
    )


def _flow_builder(session: AsyncSession, authority: str | None) -> TableBuilder:
    """Placements begun and ended in a period, by authority and type: counts of households."""

    async def build(start: date, end: date) -> Table:
        flows = _flows(await queries.placements_during(session, authority, start, end), start, end)
        table = Table()
        for key, n in flows.started.items():
            table.add(("started", *key), n)
        for key, n in flows.ended.items():
            table.add(("ended", *key), n)
        return table

    return build


async def vacancies_today(session: AsyncSession, authority: str | None) -> list[VacancyCount]:
    """Available units and bed spaces by authority and type, now."""
    names = await queries.authority_names(session)
    return [VacancyCount(authority=code, authority_name=names.get(code, code), type=kind,
                         type_name=REGULATION_NAMES.get(kind, kind), units=units,
                         bedspaces=bedspaces)
            for code, kind, units, bedspaces in await queries.available_now(session, authority)]


# --- unmet need ----------------------------------------------------------------------------------


def _needs_flags(referral: Referral) -> list[str]:
    needs = referral.needs
    flags = [flag for flag in ("wheelchair", "step_free", "pets", "nrpf", "communal_unsuitable") if needs.get(flag)]
    flags += [f"specialism:{s}" for s in needs.get("specialisms", [])]
    if needs.get("languages"):
        flags.append("language_other_than_english")
    if referral.children:
        flags.append("with_children")
    return flags or ["none"]


COLUMNS = ("referrals", "placed", "unmet")


def _equality(characteristic: str) -> Callable[[Referral], list[str]]:
    return lambda referral: [str(referral.equality.get(characteristic, NOT_RECORDED))]


def _unmet_builder(session: AsyncSession, authority: str | None) -> TableBuilder:
    """The unmet-need report's counts about people for a period, and the relations the report shows."""

    async def build(start: date, end: date) -> Table:
        referral_list = await queries.referrals_made(session, authority, start, end)
        t = Table()
        total = t.add(("referrals",), len(referral_list))
        outcomes = Counter(queries.outcome(r) for r in referral_list)
        t.add_sum(total, [t.add(("outcome", o), outcomes[o]) for o in queries.OUTCOMES])
        column_total = {"referrals": total, "placed": ("outcome", "placed"), "unmet": ("outcome", "unmet")}
        reasons = Counter(r.close_reason or "other" for r in referral_list if queries.outcome(r) == "unmet")
        t.add_sum(("outcome", "unmet"), [t.add(("reason", name), n) for name, n in sorted(reasons.items())])
        for name, n in (await queries.declined_by_reason(session, authority, start, end)).items():
            t.add(("declined", name), n)

        def breakdown(prefix: tuple[str, ...], labels: list[str], value_of: Callable[[Referral], Iterable[str]],
                      partition: bool) -> None:
            counts: dict[str, Counter[str]] = {label: Counter() for label in labels}
            for referral in referral_list:
                for value in value_of(referral):
                    counts.setdefault(value, Counter())
                    counts[value]["referrals"] += 1
                    counts[value][queries.outcome(referral)] += 1
            for value, c in counts.items():
                keys = {col: t.add((*prefix, value, col), c[col]) for col in COLUMNS}
                t.add_at_most([keys["placed"], keys["unmet"]], keys["referrals"])
                if not partition:
                    for col in COLUMNS:
                        t.add_at_most([keys[col]], column_total[col])
            if partition:
                for col in COLUMNS:
                    t.add_sum(column_total[col], [(*prefix, value, col) for value in counts])

        breakdown(("risk",), list(RISKS_HIGHEST_FIRST), lambda r: [r.risk.value], partition=True)
        for name in CHARACTERISTICS:
            breakdown(("char", name), [], _equality(name), partition=True)
        breakdown(("needs",), [], _needs_flags, partition=False)
        placements = await queries.placements_started(session, authority, start, end)
        started = t.add(("placements",), len(placements))
        t.add_at_most([t.add(("out_of_area",), sum(1 for *_, home, host in placements if home != host))], started)
        return t

    return build


def _rows(shown: dict[Hashable, Count], prefix: tuple[str, ...]) -> list[Breakdown]:
    values = sorted({key[len(prefix)] for key in shown if isinstance(key, tuple) and key[:len(prefix)] == prefix
                     and len(key) == len(prefix) + 2})
    return [Breakdown(value=v, **{col: shown[(*prefix, v, col)] for col in COLUMNS}) for v in values]


async def unmet_need(session: AsyncSession, authority: str | None, start: date, end: date) -> UnmetNeedReport:
    """Households not placed or closed unmet, offers declined, by reason, risk and characteristic."""
    _, shown = await protected(_unmet_builder(session, authority), start, end)
    placements = await queries.placements_started(session, authority, start, end)
    _, median, p90 = _stats([(started_on - referred_on).days for started_on, referred_on, _, _ in placements])
    by_risk = {row.value: row for row in _rows(shown, ("risk",))}
    named = sorted((key[1], value) for key, value in shown.items() if isinstance(key, tuple) and len(key) == 2
                   and key[0] in ("reason", "declined"))
    return UnmetNeedReport(
        period=Period(start, end), authority=authority, referrals=shown[("referrals",)],
        placed=shown[("outcome", "placed")], unmet=shown[("outcome", "unmet")],
        withdrawn=shown[("outcome", "withdrawn")], open=shown[("outcome", "open")],
        by_reason=[HouseholdsByReason(reason=name, households=shown[("reason", name)])
                   for name, _ in named if ("reason", name) in shown],
        declined_offers_by_reason=[OffersByReason(reason=name, offers=shown[("declined", name)])
                                   for name, _ in named if ("declined", name) in shown],
        by_risk=[RiskBreakdown(risk=risk, referrals=row.referrals, placed=row.placed, unmet=row.unmet)
                 for risk in RISKS_HIGHEST_FIRST if (row := by_risk.get(risk)) is not None],
        by_characteristic={
            **{name: _rows(shown, ("char", name)) for name in CHARACTERISTICS},
            "needs": _rows(shown, ("needs",)),
        },
        out_of_area_placements=shown[("out_of_area",)],
        time_to_placement_days=TimeToPlacement(placements=shown[("placements",)], median=median, p90=p90),
    )


# --- the period and scope of a report ------------------------------------------------------------


def period(start: date | None, end: date | None, today: date, label: str | None = None) -> tuple[date, date]:
    """The fixed period a report covers (`periods.resolve`): a calendar quarter or a financial year."""
    chosen = periods.resolve(label, start, end, today)
    return chosen.start, chosen.end


def require_filer(session: AsyncSession, caller: Caller, authority: str | None, year: int) -> None:
    """The exact return is for a commissioner of that authority, or admin; each download is an audit row."""
    if caller.role is Role.COMMISSIONER and (caller.authority is None or caller.authority != authority):
        raise Forbidden("the filing copy is for a commissioner of that authority, or admin")
    audit.record(session, caller, "annual_return.filing", "authority", f"{authority or 'all'}:{year}")


def scope_for(caller: Caller, authority: str | None) -> str | None:
    """The authority a report covers: a bound commissioner's own; admin and all-authority commissioners choose."""
    if caller.role is Role.COMMISSIONER and caller.authority is not None:
        if authority not in (None, caller.authority):
            raise Forbidden("this key reports on its own authority only")
        return caller.authority
    return authority
