"""Commissioners' reports: occupancy, unmet need, the statutory annual return, capacity planning.

Every count about people passes through `suppression` (1 to 4 reads "<5", with secondary
suppression inside groups whose total is shown). Counts of units and bed spaces are not about
people and are shown as they are.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, or_, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.access.service import Caller, Role
from service.errors import Forbidden, Invalid
from service.inventory.service import Scheme, Unit, UnitStatus
from service.matching import service as matching
from service.offers.service import Offer, OfferStatus, Placement
from service.reference.service import Authority, AuthorityNeighbour, PostcodeDistrict
from service.referrals import service as referrals
from service.referrals.service import Referral, ReferralStatus
from service.reports.models import OccupancySnapshot
from service.reports.suppression import Count, cell, group

TYPES = ("refuge", "specialist_refuge", "dispersed", "move_on", "other_safe")
STATUSES = ("available", "held", "occupied", "unavailable")
CHARACTERISTICS = ("sex", "gender_identity", "age_band", "ethnicity", "disability", "sexual_orientation", "religion",
                   "immigration_status")
NOT_RECORDED = "not_recorded"
MIN_FOR_STATISTICS = 5  # averages and percentiles of fewer people could single someone out


async def record_snapshot(session: AsyncSession, on: date) -> int:
    """Count units and bed spaces by authority, type and status for `on`; a second run that day replaces it."""
    counts = select(
        Scheme.authority_code, Scheme.type, Unit.status, func.count(Unit.id), func.sum(Unit.bedspaces)
    ).join(Scheme, Unit.scheme_id == Scheme.id).group_by(Scheme.authority_code, Scheme.type, Unit.status)
    rows = [
        {"snapshot_on": on, "authority_code": authority, "type": kind.value, "status": status.value,
         "units": units, "bedspaces": bedspaces}
        for authority, kind, status, units, bedspaces in await session.execute(counts)
    ]
    if rows:
        statement = insert(OccupancySnapshot).values(rows)
        await session.execute(statement.on_conflict_do_update(
            index_elements=["snapshot_on", "authority_code", "type", "status"],
            set_={"units": statement.excluded.units, "bedspaces": statement.excluded.bedspaces},
        ))
    return len(rows)


async def _names(session: AsyncSession) -> dict[str, str]:
    return {code: name for code, name in await session.execute(select(Authority.code, Authority.name))}


def _stats(days: list[int]) -> tuple[float | None, float | None, float | None]:
    """Mean, median and 90th percentile, or nothing when too few people to show them."""
    if len(days) < MIN_FOR_STATISTICS:
        return None, None, None
    ordered = sorted(days)
    p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]  # nearest rank
    return round(statistics.fmean(ordered), 1), float(statistics.median(ordered)), float(p90)


# --- occupancy ---------------------------------------------------------------------------------


async def occupancy(session: AsyncSession, authority: str | None, start: date, end: date) -> dict[str, Any]:
    """Occupancy over the period by authority and accommodation type, from daily snapshots and placements."""
    names = await _names(session)
    in_scope = (OccupancySnapshot.authority_code == authority) if authority else true()
    snapshot_rows = await session.execute(
        select(OccupancySnapshot.snapshot_on, OccupancySnapshot.authority_code, OccupancySnapshot.type,
               OccupancySnapshot.status, OccupancySnapshot.bedspaces)
        .where(OccupancySnapshot.snapshot_on.between(start, end), in_scope)
    )
    series: dict[tuple[date, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
    bedspace_days: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
    for on, code, kind, status, bedspaces in snapshot_rows:
        series[(on, kind)][status] += bedspaces
        bedspace_days[(code, kind)][status] += bedspaces

    stock_query = (
        select(Scheme.authority_code, Scheme.type, Unit.status, func.count(Unit.id), func.sum(Unit.bedspaces))
        .join(Scheme, Unit.scheme_id == Scheme.id)
        .group_by(Scheme.authority_code, Scheme.type, Unit.status)
    )
    if authority:
        stock_query = stock_query.where(Scheme.authority_code == authority)
    stock: dict[tuple[str, str], dict[str, dict[str, int]]] = defaultdict(
        lambda: {"units": dict.fromkeys(STATUSES, 0), "bedspaces": dict.fromkeys(STATUSES, 0)}
    )
    for code, kind, status, units, bedspaces in await session.execute(stock_query):
        stock[(code, kind.value)]["units"][status.value] = units
        stock[(code, kind.value)]["bedspaces"][status.value] = int(bedspaces)

    placement_query = (
        select(Scheme.authority_code, Scheme.type, Placement.started_on, Placement.ended_on)
        .join(Unit, Placement.unit_id == Unit.id).join(Scheme, Unit.scheme_id == Scheme.id)
        .where(Placement.started_on <= end, or_(Placement.ended_on.is_(None), Placement.ended_on >= start))
    )
    if authority:
        placement_query = placement_query.where(Scheme.authority_code == authority)
    started: Counter[tuple[str, str]] = Counter()
    ended: Counter[tuple[str, str]] = Counter()
    stays: dict[tuple[str, str], list[int]] = defaultdict(list)
    for code, kind, started_on, ended_on in await session.execute(placement_query):
        key = (code, kind.value)
        if start <= started_on <= end:
            started[key] += 1
        if ended_on is not None and start <= ended_on <= end:
            ended[key] += 1
            stays[key].append((ended_on - started_on).days)

    rows = []
    for key in sorted(set(stock) | set(bedspace_days) | set(started) | set(ended)):
        code, kind = key
        days = bedspace_days.get(key)
        if days:
            usable = days["available"] + days["held"] + days["occupied"]
            rate = round(days["occupied"] / usable, 3) if usable else None
        else:  # no snapshots in the period yet: today's stock
            now = stock[key]["bedspaces"]
            usable = now["available"] + now["held"] + now["occupied"]
            rate = round(now["occupied"] / usable, 3) if usable else None
        mean, median, _ = _stats(stays.get(key, []))
        units_total = sum(stock[key]["units"].values())
        ended_count = cell(ended[key])
        rows.append({
            "authority": code, "authority_name": names.get(code, code), "type": kind,
            # Occupied and held units are households (placed, or offered a room): counts about people.
            "units": {status: cell(n) if status in ("occupied", "held") else n
                      for status, n in stock[key]["units"].items()},
            "bedspaces": stock[key]["bedspaces"], "occupancy_rate": rate,
            "placements_started": cell(started[key]), "placements_ended": ended_count,
            "average_stay_days": mean, "median_stay_days": median,
            "turnover": round(ended[key] / units_total, 2) if units_total and isinstance(ended_count, int) else None,
        })
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat()}, "authority": authority,
        "series": [{"date": on.isoformat(), "type": kind, **{f"{s}_bedspaces": v[s] for s in STATUSES}}
                   for (on, kind), v in sorted(series.items())],
        "by_authority_and_type": rows,
    }


async def vacancies_today(session: AsyncSession, authority: str | None) -> list[dict[str, Any]]:
    """Available units and bed spaces by authority and type, now."""
    names = await _names(session)
    query = (
        select(Scheme.authority_code, Scheme.type, func.count(Unit.id), func.sum(Unit.bedspaces))
        .join(Scheme, Unit.scheme_id == Scheme.id).where(Unit.status == UnitStatus.AVAILABLE)
        .group_by(Scheme.authority_code, Scheme.type).order_by(Scheme.authority_code, Scheme.type)
    )
    if authority:
        query = query.where(Scheme.authority_code == authority)
    return [{"authority": code, "authority_name": names.get(code, code), "type": kind.value, "units": units,
             "bedspaces": int(bedspaces)} for code, kind, units, bedspaces in await session.execute(query)]


# --- unmet need ----------------------------------------------------------------------------------


async def _referrals(session: AsyncSession, authority: str | None, start: date, end: date) -> list[Referral]:
    query = select(Referral).where(Referral.referred_on.between(start, end))
    if authority:
        query = query.where(Referral.authority_code == authority)
    return list(await session.scalars(query))


def _outcome(referral: Referral) -> str:
    if referral.status is ReferralStatus.PLACED or referral.outcome == "placed":
        return "placed"
    if referral.outcome == "unmet":
        return "unmet"
    return "withdrawn" if referral.outcome == "withdrawn" else "open"


def _breakdown(referral_list: Iterable[Referral], value_of: Any) -> list[dict[str, Count]]:
    """Referrals, placed and unmet by one attribute's values; each column suppressed as a group."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for referral in referral_list:
        outcome = _outcome(referral)
        for value in value_of(referral):
            counts[value]["referrals"] += 1
            counts[value][outcome] += 1
    values = sorted(counts)
    columns = {name: group([counts[v][name] for v in values]) for name in ("referrals", "placed", "unmet")}
    return [{"value": v, **{name: columns[name][i] for name in columns}} for i, v in enumerate(values)]


def _needs_flags(referral: Referral) -> list[str]:
    needs = referral.needs
    flags = [flag for flag in ("wheelchair", "step_free", "pets", "nrpf", "communal_unsuitable") if needs.get(flag)]
    flags += [f"specialism:{s}" for s in needs.get("specialisms", [])]
    if needs.get("languages"):
        flags.append("language_other_than_english")
    if referral.household.get("children"):
        flags.append("with_children")
    return flags or ["none"]


async def _declined(session: AsyncSession, authority: str | None, start: date, end: date) -> dict[str, int]:
    """Offers declined in the period, by reason code, for referrals of the authority."""
    query = (
        select(Offer.decline_reason, func.count(Offer.id)).join(Referral, Offer.referral_id == Referral.id)
        .where(Offer.status == OfferStatus.DECLINED, func.date(Offer.answered_at).between(start, end))
        .group_by(Offer.decline_reason)
    )
    if authority:
        query = query.where(Referral.authority_code == authority)
    return {reason or "other": n for reason, n in await session.execute(query)}


async def unmet_need(session: AsyncSession, authority: str | None, start: date, end: date) -> dict[str, Any]:
    """Households not placed or closed unmet, offers declined, by reason, risk and characteristic."""
    referral_list = await _referrals(session, authority, start, end)
    outcomes = Counter(_outcome(r) for r in referral_list)
    reasons = Counter(r.close_reason or "other" for r in referral_list if _outcome(r) == "unmet")
    reason_names = sorted(reasons)

    declined = await _declined(session, authority, start, end)
    declined_names = sorted(declined)

    placements = list(await session.execute(
        select(Placement.started_on, Referral.referred_on, Referral.authority_code, Scheme.authority_code)
        .join(Referral, Placement.referral_id == Referral.id).join(Unit, Placement.unit_id == Unit.id)
        .join(Scheme, Unit.scheme_id == Scheme.id)
        .where(Placement.started_on.between(start, end),
               (Referral.authority_code == authority) if authority else true())
    ))
    waits = [(started_on - referred_on).days for started_on, referred_on, _, _ in placements]
    _, median, p90 = _stats(waits)
    risks = ("high", "medium", "standard")
    by_risk = _breakdown(referral_list, lambda r: [r.risk.value])
    present = {row["value"] for row in by_risk}
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat()}, "authority": authority,
        "referrals": cell(len(referral_list)),
        **dict(zip(("placed", "unmet", "withdrawn", "open"),
                   group([outcomes["placed"], outcomes["unmet"], outcomes["withdrawn"], outcomes["open"]]),
                   strict=True)),
        "by_reason": [{"reason": name, "households": n}
                      for name, n in zip(reason_names, group([reasons[n] for n in reason_names]), strict=True)],
        "declined_offers_by_reason": [
            {"reason": name, "offers": n}
            for name, n in zip(declined_names, group([declined[n] for n in declined_names]), strict=True)
        ],
        "by_risk": [{"risk": row["value"], **{k: v for k, v in row.items() if k != "value"}}
                    for risk in risks for row in by_risk if row["value"] == risk and risk in present],
        "by_characteristic": {
            **{name: _breakdown(referral_list, lambda r, n=name: [r.equality.get(n, NOT_RECORDED)])
               for name in CHARACTERISTICS},
            "needs": _breakdown(referral_list, _needs_flags),
        },
        "out_of_area_placements": cell(sum(1 for *_, home, host in placements if home != host)),
        "time_to_placement_days": {"placements": cell(len(placements)), "median": median, "p90": p90},
    }


# --- the annual return -----------------------------------------------------------------------------


def financial_year(year: int) -> tuple[date, date]:
    """April `year` to March `year + 1`."""
    return date(year, 4, 1), date(year + 1, 3, 31)


def _age_band(person: dict[str, Any], child: bool) -> str:
    if "age_band" in person:
        return str(person["age_band"])
    age = int(person["age"])
    if child:
        return "0-4" if age <= 4 else "5-10" if age <= 10 else "11-15" if age <= 15 else "16-17"
    for upper, band in ((17, "16-17"), (24, "18-24"), (34, "25-34"), (44, "35-44"), (54, "45-54"), (64, "55-64")):
        if age <= upper:
            return band
    return "65+"


def _table(section: str, title: str, columns: list[str], labels: list[str], values: list[list[int]]
           ) -> dict[str, Any]:
    """A section whose numeric columns are each suppressed as a group (their totals are in the return)."""
    suppressed = [group([row[c] for row in values]) for c in range(len(columns) - 1)]
    rows = [[label, *(suppressed[c][i] for c in range(len(columns) - 1))] for i, label in enumerate(labels)]
    return {"id": section, "title": title, "columns": columns, "rows": rows}


async def annual_return(session: AsyncSession, authority: str | None, year: int) -> dict[str, Any]:
    """The figures a council returns for its safe accommodation duty, for one financial year."""
    start, end = financial_year(year)
    names = await _names(session)
    supported = list(await session.execute(
        select(Referral, Scheme.type, Scheme.authority_code)
        .join(Placement, Placement.referral_id == Referral.id).join(Unit, Placement.unit_id == Unit.id)
        .join(Scheme, Unit.scheme_id == Scheme.id)
        .where(Placement.started_on <= end, or_(Placement.ended_on.is_(None), Placement.ended_on >= start),
               (Referral.authority_code == authority) if authority else true())
    ))
    households: dict[int, tuple[Referral, str, str]] = {r.id: (r, kind.value, host) for r, kind, host in supported}
    by_type: dict[str, list[int]] = {t: [0, 0, 0] for t in TYPES}
    for referral, kind, _ in households.values():
        by_type[kind][0] += 1
        by_type[kind][1] += len(referral.household.get("adults", []))
        by_type[kind][2] += len(referral.household.get("children", []))

    sections = [_table("households_by_type", "Households supported in safe accommodation, by type",
                       ["accommodation type", "households", "adults", "children"], list(TYPES),
                       [by_type[t] for t in TYPES])]
    for name in CHARACTERISTICS:
        counts = Counter(r.equality.get(name, NOT_RECORDED) for r, _, _ in households.values())
        labels = sorted(counts)
        sections.append(_table(f"characteristic_{name}", f"Households supported, by {name.replace('_', ' ')}",
                               [name.replace("_", " "), "households"], labels, [[counts[v]] for v in labels]))
    adult_bands = Counter(_age_band(a, False) for r, _, _ in households.values() for a in r.household.get("adults", []))
    child_bands = Counter(_age_band(c, True) for r, _, _ in households.values()
                          for c in r.household.get("children", []))
    sections.append(_table("adults_by_age", "Adults supported, by age group", ["age group", "adults"],
                           sorted(adult_bands), [[adult_bands[b]] for b in sorted(adult_bands)]))
    sections.append(_table("children_by_age", "Children supported, by age group", ["age group", "children"],
                           sorted(child_bands), [[child_bands[b]] for b in sorted(child_bands)]))
    risk_counts = Counter((r.risk.value, r.marac) for r, _, _ in households.values())
    risk_keys = [(risk, marac) for risk in ("high", "medium", "standard") for marac in (True, False)]
    sections.append(_table("risk", "Households supported, by risk level and MARAC", ["risk", "households"],
                           [f"{risk}, {'at' if marac else 'not at'} MARAC" for risk, marac in risk_keys],
                           [[risk_counts[key]] for key in risk_keys]))
    referred = await _referrals(session, authority, start, end)
    outcomes = Counter(_outcome(r) for r in referred)
    sections.append(_table("referrals", "Referrals received in the year, by outcome", ["outcome", "referrals"],
                           ["placed", "unmet", "withdrawn", "open"],
                           [[outcomes[o]] for o in ("placed", "unmet", "withdrawn", "open")]))
    unmet = Counter(r.close_reason or "other" for r in referred if _outcome(r) == "unmet")
    sections.append(_table("not_supported", "Referrals not supported, by reason", ["reason", "households"],
                           sorted(unmet), [[unmet[k]] for k in sorted(unmet)]))
    declined = await _declined(session, authority, start, end)
    sections.append(_table("offers_declined", "Offers declined, by reason", ["reason", "offers"],
                           sorted(declined), [[declined[k]] for k in sorted(declined)]))
    out_of_area = sum(1 for r, _, host in households.values() if host != r.authority_code)
    sections.append(_table("out_of_area", "Households supported outside their own authority's area",
                           ["placement", "households"], ["in own area", "out of area"],
                           [[len(households) - out_of_area], [out_of_area]]))
    return {
        "authority": authority, "authority_name": names.get(authority, "All authorities") if authority
        else "All authorities",
        "financial_year": f"{year}-{str(year + 1)[-2:]}",
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "households_supported": cell(len(households)),
        "sections": sections,
        "note": "Counts from 1 to 4 read <5. Where a total would give such a cell away, another cell is "
                "hidden as well and reads x.",
    }


def annual_return_csv(report: dict[str, Any]) -> str:
    """The return as CSV: a heading line, then each section with its title, header and rows."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f"Safe accommodation annual return {report['financial_year']}", report["authority_name"]])
    writer.writerow([report["note"]])
    for section in report["sections"]:
        writer.writerow([])
        writer.writerow([section["title"]])
        writer.writerow(section["columns"])
        writer.writerows(section["rows"])
    return out.getvalue()


def annual_return_xlsx(report: dict[str, Any]) -> bytes:
    """The return as an XLSX workbook laid out for a person: one sheet, each section a titled table."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Annual return"
    sheet.append([f"Safe accommodation annual return {report['financial_year']}"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([report["authority_name"], f"{report['period']['start']} to {report['period']['end']}"])
    sheet.append([report["note"]])
    for section in report["sections"]:
        sheet.append([])
        sheet.append([section["title"]])
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
        sheet.append(section["columns"])
        for column in range(1, len(section["columns"]) + 1):
            sheet.cell(row=sheet.max_row, column=column).font = Font(italic=True)
        for row in section["rows"]:
            sheet.append(row)
    sheet.column_dimensions["A"].width = 48
    for letter in "BCD":
        sheet.column_dimensions[letter].width = 16
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- capacity planning --------------------------------------------------------------------------

SCHEME_SIZE = 10  # a candidate is a small scheme of this many units of one kind


async def capacity_plan(session: AsyncSession, authority: str | None, start: date, end: date) -> dict[str, Any]:
    """Which extra scheme would have placed most of the period's unplaced households (the matcher re-run)."""
    names = await _names(session)
    unplaced = [r for r in await _referrals(session, authority, start, end)
                if _outcome(r) in ("unmet", "open") and r.pseudonymised_at is None]
    if authority:
        areas = [authority, *await session.scalars(
            select(AuthorityNeighbour.neighbour).where(AuthorityNeighbour.code == authority))]
    else:
        areas = [code for code, _ in Counter(r.authority_code for r in unplaced).most_common(5)]
    centres = await _centres(session, areas)
    problem_referrals = [await referrals.problem_referral(session, r) for r in unplaced]
    candidates = [
        {"type": kind, "authority": code, "district": centres[code][0], "wheelchair_accessible": wheelchair,
         "accepts_nrpf": nrpf}
        for code in areas if code in centres for kind in ("refuge", "dispersed", "move_on")
        for wheelchair in (False, True) for nrpf in (False, True)
    ]

    problems = [
        {"as_of": end.isoformat(), "referrals": problem_referrals,
         "units": [_candidate_unit(f"c{i}", c, *centres[c["authority"]][1:]) for i in range(SCHEME_SIZE)]}
        for c in candidates
    ]
    counts = await matching.placed_counts(problems) if problem_referrals else [(0, 0)] * len(candidates)
    # Most households placed first; among equals, the kind of unit that suits the most households.
    ranked = sorted(zip(counts, candidates, strict=True), key=lambda pair: (-pair[0][0], -pair[0][1]))
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat()}, "authority": authority,
        "unplaced_households": cell(len(unplaced)), "scheme_size": SCHEME_SIZE,
        "candidates": [{**c, "authority_name": names.get(c["authority"], c["authority"]), "bedspaces": 4,
                        "households_placed": cell(placed), "households_suited": cell(suited)}
                       for (placed, suited), c in ranked[:20] if placed > 0],
    }


async def _centres(session: AsyncSession, codes: list[str]) -> dict[str, tuple[str, float, float]]:
    """A representative postcode district of each authority: the one nearest its districts' mean."""
    rows = await session.execute(
        select(PostcodeDistrict.authority_code, PostcodeDistrict.district, PostcodeDistrict.lat, PostcodeDistrict.lon)
        .where(PostcodeDistrict.authority_code.in_(codes))
    )
    by_code: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    for code, district, lat, lon in rows:
        if code is not None:
            by_code[code].append((district, lat, lon))
    centres = {}
    for code, districts in by_code.items():
        mean_lat = statistics.fmean(d[1] for d in districts)
        mean_lon = statistics.fmean(d[2] for d in districts)
        centres[code] = min(districts, key=lambda d: (d[1] - mean_lat) ** 2 + (d[2] - mean_lon) ** 2)
    return centres


def _candidate_unit(ident: str, candidate: dict[str, Any], lat: float, lon: float) -> dict[str, Any]:
    refuge = candidate["type"] == "refuge"
    return {
        "id": ident, "scheme": "candidate", "type": candidate["type"], "authority": candidate["authority"],
        "district": candidate["district"], "lat": lat, "lon": lon, "bedspaces": 4,
        "genders": ["female"] if refuge else ["female", "male", "non_binary"],
        "accepts_children": True, "max_children": None, "max_boy_age": None,
        "wheelchair_accessible": candidate["wheelchair_accessible"], "step_free": candidate["wheelchair_accessible"],
        "pets": not refuge, "accepts_nrpf": candidate["accepts_nrpf"], "communal": refuge, "languages": [],
        "specialisms": [], "specialist_only": False, "available_from": "2000-01-01",
    }


def period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The period asked for, widened to whole calendar months; by default the last twelve months.

    Whole months only: with day-by-day periods, two reports a day apart differ by the people
    referred on that one day, and a count hidden as "<5" could be read off the difference.
    """
    end = end or today
    start = start or end - timedelta(days=365)
    if start > end:
        raise Invalid("start", "must not be after end")
    start = start.replace(day=1)
    end = date(end.year + end.month // 12, end.month % 12 + 1, 1) - timedelta(days=1)
    if (end - start).days > 3 * 366:
        raise Invalid("end", "a period is at most three years")
    return start, end


def current_financial_year(today: date) -> int:
    """The year in which the financial year that contains `today` began."""
    return today.year if today.month >= 4 else today.year - 1


def scope_for(caller: Caller, authority: str | None) -> str | None:
    """The authority a report covers: a bound commissioner's own; admin and all-authority commissioners choose."""
    if caller.role is Role.COMMISSIONER and caller.authority is not None:
        if authority not in (None, caller.authority):
            raise Forbidden("this key reports on its own authority only")
        return caller.authority
    return authority
