"""Fixed report periods: quarters and financial years that never overlap."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.errors import Invalid
from service.reports import periods


def test_quarters_and_years_by_name() -> None:
    assert periods.parse("2026-Q4") == periods.ReportPeriod("quarter", "2026-Q4", date(2026, 10, 1), date(2026, 12, 31))
    assert periods.parse("2025-26") == periods.ReportPeriod("financial_year", "2025-26", date(2025, 4, 1),
                                                            date(2026, 3, 31))
    for bad in ("2025-27", "2026-Q5", "2026", "last year"):
        with pytest.raises(Invalid):
            periods.parse(bad)


def test_the_issues_overlapping_windows_become_one_period_or_are_refused() -> None:
    """December 2025 to November 2026 and December 2025 to October 2026 cannot be asked for."""
    with pytest.raises(Invalid):
        periods.resolve(None, date(2025, 12, 1), date(2026, 11, 30), date(2026, 11, 30))
    with pytest.raises(Invalid):
        periods.resolve(None, date(2025, 12, 1), date(2026, 10, 31), date(2026, 11, 30))
    assert periods.resolve(None, date(2026, 4, 2), date(2026, 11, 3), date(2026, 11, 30)).label == "2026-27"
    assert periods.resolve(None, date(2026, 10, 2), date(2026, 11, 3), date(2026, 11, 30)).label == "2026-Q4"
    assert periods.resolve(None, None, None, date(2026, 11, 30)).label == "2026-Q4"


def test_a_financial_year_is_exactly_its_four_quarters() -> None:
    year = periods.financial_year(2026)
    quarters = periods.quarters_in(year)
    assert [q.label for q in quarters] == ["2026-Q2", "2026-Q3", "2026-Q4", "2027-Q1"]
    assert quarters[0].start == year.start and quarters[-1].end == year.end
    assert all(a.end + timedelta(days=1) == b.start for a, b in itertools.pairwise(quarters))


@given(st.dates(date(2001, 1, 1), date(2099, 12, 31)), st.dates(date(2001, 1, 1), date(2099, 12, 31)))
def test_any_two_periods_of_one_kind_are_equal_or_disjoint(a: date, b: date) -> None:
    for of in (periods.quarter_of, periods.financial_year_of):
        first, second = of(a), of(b)
        assert first == second or first.end < second.start or second.end < first.start
        assert a in first and b in second
