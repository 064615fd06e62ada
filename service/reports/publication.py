"""Cells as they may be published: one report's system of counts, protected with what readers already hold."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from datetime import date

from service.reports import periods
from service.reports.suppression import Count, Table

TableBuilder = Callable[[date, date], Awaitable[Table]]


async def protected(build: TableBuilder, start: date, end: date) -> tuple[Table, dict[Hashable, Count]]:
    """A report's cells as they may be shown; a financial year's together with its four quarters'.

    Every cell built here counts events dated inside the period, so a year's cell is the sum of its
    quarters' cells: a reader holding the four quarterly reports and the year's could subtract.
    The quarters are protected as they would be published on their own and enter the year's
    system as already published; the year then hides whatever that subtraction would give away.
    """
    table = await build(start, end)
    year = periods.financial_year_of(start)
    if (start, end) != (year.start, year.end):
        return table, table.protect()
    quarters = []
    for index, quarter in enumerate(periods.quarters_in(year)):
        part = await build(quarter.start, quarter.end)
        quarters.append((index, part, part.protect()))
    for key in list(table.values):
        parts = []
        for index, part, shown in quarters:
            table.add_published(("quarter", index, key), part.values.get(key, 0), shown.get(key, 0))
            parts.append(("quarter", index, key))
        if sum(table.values[p] for p in parts) == table.values[key]:
            table.add_sum(key, parts)
            if all(isinstance(table.published[p], int) for p in parts):
                # Its quarters are all shown, so the year's figure is public already (and, being the sum
                # of shown counts, 0 or at least 5): shown as it is, never hidden to protect another.
                table.published[key] = table.values[key]
    return table, table.protect()


