"""The statutory annual return: the figures a council returns each financial year (April to March)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.reports import queries
from service.reports.schemas import AnnualReturn, Period, ReturnSection
from service.reports.suppression import cell, group
from service.vocabulary import CHARACTERISTICS, NOT_RECORDED, SCHEME_TYPES

NOTE = ("Counts from 1 to 4 read <5. Where a total would give such a cell away, another cell is "
        "hidden as well and reads x.")


def financial_year(year: int) -> tuple[date, date]:
    """April `year` to March `year + 1`."""
    return date(year, 4, 1), date(year + 1, 3, 31)


def current_financial_year(today: date) -> int:
    """The year in which the financial year that contains `today` began."""
    return today.year if today.month >= 4 else today.year - 1


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


def _table(section: str, title: str, columns: list[str], labels: list[str], values: list[list[int]]) -> ReturnSection:
    """A section whose numeric columns are each suppressed as a group (their totals are in the return)."""
    suppressed = [group([row[c] for row in values]) for c in range(len(columns) - 1)]
    rows: list[list[str | int]] = [[label, *(suppressed[c][i] for c in range(len(columns) - 1))]
                                   for i, label in enumerate(labels)]
    return ReturnSection(id=section, title=title, columns=columns, rows=rows)


def _counted(section: str, title: str, columns: list[str], counts: Counter[str], labels: list[str] | None = None
             ) -> ReturnSection:
    """A section of one count per label (by default every label counted, in order)."""
    shown = sorted(counts) if labels is None else labels
    return _table(section, title, columns, shown, [[counts[label]] for label in shown])


async def annual_return(session: AsyncSession, authority: str | None, year: int) -> AnnualReturn:
    """The figures a council returns for its safe accommodation duty, for one financial year."""
    start, end = financial_year(year)
    names = await queries.authority_names(session)
    households = await queries.households_supported(session, authority, start, end)
    supported = [referral for referral, _, _ in households.values()]
    by_type: dict[str, list[int]] = {t: [0, 0, 0] for t in SCHEME_TYPES}
    for referral, kind, _ in households.values():
        by_type[kind][0] += 1
        by_type[kind][1] += len(referral.adults)
        by_type[kind][2] += len(referral.children)

    sections = [_table("households_by_type", "Households supported in safe accommodation, by type",
                       ["accommodation type", "households", "adults", "children"], list(SCHEME_TYPES),
                       [by_type[t] for t in SCHEME_TYPES])]
    for name in CHARACTERISTICS:
        sections.append(_counted(f"characteristic_{name}", f"Households supported, by {name.replace('_', ' ')}",
                                 [name.replace("_", " "), "households"],
                                 Counter(r.equality.get(name, NOT_RECORDED) for r in supported)))
    sections.append(_counted("adults_by_age", "Adults supported, by age group", ["age group", "adults"],
                             Counter(_age_band(a, False) for r in supported for a in r.adults)))
    sections.append(_counted("children_by_age", "Children supported, by age group", ["age group", "children"],
                             Counter(_age_band(c, True) for r in supported for c in r.children)))
    risk_counts = Counter(f"{r.risk.value}, {'at' if r.marac else 'not at'} MARAC" for r in supported)
    sections.append(_counted("risk", "Households supported, by risk level and MARAC", ["risk", "households"],
                             risk_counts, [f"{risk}, {marac} MARAC" for risk in ("high", "medium", "standard")
                                           for marac in ("at", "not at")]))
    referred = await queries.referrals_made(session, authority, start, end)
    sections.append(_counted("referrals", "Referrals received in the year, by outcome", ["outcome", "referrals"],
                             Counter(queries.outcome(r) for r in referred), list(queries.OUTCOMES)))
    sections.append(_counted("not_supported", "Referrals not supported, by reason", ["reason", "households"],
                             Counter(r.close_reason or "other" for r in referred if queries.outcome(r) == "unmet")))
    sections.append(_counted("offers_declined", "Offers declined, by reason", ["reason", "offers"],
                             Counter(await queries.declined_by_reason(session, authority, start, end))))
    out_of_area = sum(1 for r, _, host in households.values() if host != r.authority_code)
    sections.append(_table("out_of_area", "Households supported outside their own authority's area",
                           ["placement", "households"], ["in own area", "out of area"],
                           [[len(households) - out_of_area], [out_of_area]]))
    return AnnualReturn(
        authority=authority,
        authority_name=names.get(authority, "All authorities") if authority else "All authorities",
        financial_year=f"{year}-{str(year + 1)[-2:]}", period=Period(start, end),
        households_supported=cell(len(households)), sections=sections, note=NOTE,
    )
