"""Fixed report periods: calendar quarters and financial years, never a window of the caller's choosing.

Two reports over overlapping windows (December to November against December to October) differ
by the people of one month, and a count hidden as "<5" could be read off the difference. Every
report and the dashboard therefore covers exactly one of these periods:

- a calendar quarter (January-March, April-June, July-September, October-December), named `2026-Q3`;
- a financial year (April to March), named `2026-27`.

Two quarters never overlap, nor do two financial years; the quarters nest exactly inside the
financial years (April-June is the first quarter of the year that begins in April), so a year's
figures are protected together with its four quarters' (see `suppression.Table.add_published`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from service.errors import Invalid

PERIOD_PATTERN = r"^\d{4}-(Q[1-4]|\d{2})$"
PERIOD_HELP = "a calendar quarter (2026-Q3) or a financial year (2026-27)"


@dataclass(frozen=True)
class ReportPeriod:
    """One fixed period."""

    kind: Literal["quarter", "financial_year"]
    label: str
    start: date
    end: date

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


def quarter(year: int, number: int) -> ReportPeriod:
    """Calendar quarter `number` (1-4) of `year`."""
    start = date(year, 3 * number - 2, 1)
    after = date(year + 1, 1, 1) if number == 4 else date(year, 3 * number + 1, 1)
    return ReportPeriod("quarter", f"{year}-Q{number}", start, after - timedelta(days=1))


def financial_year(year: int) -> ReportPeriod:
    """April `year` to March `year + 1`."""
    return ReportPeriod("financial_year", f"{year}-{str(year + 1)[-2:]}", date(year, 4, 1), date(year + 1, 3, 31))


def quarter_of(day: date) -> ReportPeriod:
    return quarter(day.year, (day.month - 1) // 3 + 1)


def financial_year_of(day: date) -> ReportPeriod:
    return financial_year(day.year if day.month >= 4 else day.year - 1)


def quarters_in(year: ReportPeriod) -> list[ReportPeriod]:
    """The four calendar quarters that make up a financial year."""
    assert year.kind == "financial_year"
    first = year.start.year
    return [quarter(first, 2), quarter(first, 3), quarter(first, 4), quarter(first + 1, 1)]


def parse(label: str) -> ReportPeriod:
    """`2026-Q3` or `2026-27`."""
    match = re.fullmatch(PERIOD_PATTERN, label)
    if match is None:
        raise Invalid("period", f"must be {PERIOD_HELP}")
    year = int(label[:4])
    if not 2000 <= year <= 2100:
        raise Invalid("period", "year out of range")
    if match.group(1).startswith("Q"):
        return quarter(year, int(label[-1]))
    if int(label[-2:]) != (year + 1) % 100:
        raise Invalid("period", f"a financial year runs April {year} to March {year + 1}: {year}-{str(year + 1)[-2:]}")
    return financial_year(year)


def resolve(label: str | None, start: date | None, end: date | None, today: date) -> ReportPeriod:
    """The period a report covers: named, or the smallest fixed period holding both dates; by default this quarter.

    Dates are accepted for callers that send a window, but only ever widen to one quarter or one
    financial year; a window that fits in neither is refused rather than cut.
    """
    if label is not None:
        return parse(label)
    if start is None and end is None:
        return quarter_of(today)
    first, last = start or end or today, end or start or today
    if first > last:
        raise Invalid("start", "must not be after end")
    if quarter_of(first) == quarter_of(last):
        return quarter_of(first)
    if financial_year_of(first) == financial_year_of(last):
        return financial_year_of(first)
    raise Invalid("start", f"a report covers one period: {PERIOD_HELP}; {first} to {last} spans more than one")
