"""Small numbers: primary suppression, and secondary suppression that arithmetic cannot undo."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.reports.suppression import PROTECTING, SUPPRESSED, Table, cell, column
from tests.disclosure import assert_nothing_disclosed, feasible_ranges

X, S = PROTECTING, SUPPRESSED


def test_counts_from_one_to_four_are_hidden() -> None:
    assert [cell(n) for n in range(7)] == [0, S, S, S, S, 5, 6]


def test_a_lone_hidden_cell_takes_the_next_smallest_with_it() -> None:
    # 2 hidden; 15 - 7 would give it away, so 6 goes too: 6 + 2 = 8 splits as 5+3, 6+2 or 7+1.
    assert column([6, 7, 2]) == ([X, 7, S], 15)
    assert column([12, 3, 0, 9]) == ([12, S, S, 9], 24)  # the zero reads <5: 3 + 0 could be 1 + 2 ...
    assert column([3, 2, 40]) == ([S, S, 40], 45)  # 3+2, 4+1, 2+3, 1+4: two hidden already protect each other
    assert column([0, 0, 8]) == ([0, 0, 8], 8)


def test_three_cells_of_four_next_to_a_total_are_not_left_at_four_each() -> None:
    """The issue's age bands: <5 <5 <5 beside 8 and 6 and a total of 26 leave 12, so each is 4."""
    values = [4, 4, 4, 8, 6]
    shown, total = column(values)
    # The 6 is hidden as well: 18 for three cells of 1-4 and one of at least 5 has many solutions.
    assert shown == [S, S, S, 8, X] and total == 26


def test_three_fours_would_be_pinned_without_the_second_cell() -> None:
    table = Table()
    for i, v in enumerate([4, 4, 4, 8, 6]):
        table.add(i, v)
    table.add("total", 26)
    table.add_sum("total", range(5))
    naive = {0: S, 1: S, 2: S, 3: 8, 4: 6, "total": 26}
    assert feasible_ranges(naive, table.relations) == {0: (4, 4), 1: (4, 4), 2: (4, 4)}


def test_one_and_five_beside_their_total() -> None:
    """1 and 5 with a total of 6: with the 5 hidden too, 6 is 0 + 6 or 1 + 5 ("<5" means 0 to 4)."""
    assert column([1, 5]) == ([S, X], 6)


def test_a_zero_is_hidden_as_fewer_than_five_when_that_protects_a_cell() -> None:
    """Two small cells and a zero: 2 + 3 + 0 = 5 with a shown total; hiding the zero costs least."""
    shown, total = column([4, 4, 0, 9])
    assert total == 17 and shown[3] == 9 and shown[:3] == [S, S, S]


def test_a_row_and_a_column_each_protected_in_a_table_with_margins() -> None:
    # households by type (rows) from own area / elsewhere (columns), with row and column totals.
    table = Table()
    cells = {("refuge", "own"): 9, ("refuge", "elsewhere"): 2, ("dispersed", "own"): 6, ("dispersed", "elsewhere"): 7}
    for key, value in cells.items():
        table.add(key, value)
    for row in ("refuge", "dispersed"):
        table.add((row, "all"), cells[(row, "own")] + cells[(row, "elsewhere")])
        table.add_sum((row, "all"), [(row, "own"), (row, "elsewhere")])
    for col in ("own", "elsewhere"):
        table.add(("all", col), cells[("refuge", col)] + cells[("dispersed", col)])
        table.add_sum(("all", col), [("refuge", col), ("dispersed", col)])
    table.add(("all", "all"), 24)
    table.add_sum(("all", "all"), [("refuge", "all"), ("dispersed", "all")])
    table.add_sum(("all", "all"), [("all", "own"), ("all", "elsewhere")])
    shown = table.protect()
    # The 2 needs a partner in its row and in its column, and those a fourth: the classic rectangle.
    assert shown[("refuge", "elsewhere")] == S
    assert {k for k, v in shown.items() if v == X} == {("refuge", "own"), ("dispersed", "elsewhere"),
                                                        ("dispersed", "own")}
    assert_nothing_disclosed(table.values, shown, table.relations)


def test_at_least_one_cannot_be_read_off_the_characteristics() -> None:
    # 3 people with a characteristic, 3 of them with at least one: at least one <= sum, each <= at least one.
    table = Table()
    table.add("a", 3)
    table.add("b", 0)
    table.add("any", 3)
    table.add_at_most(["a"], "any")
    table.add_at_most(["any"], "a")  # with b = 0, any <= a + b = a
    shown = table.protect()
    assert shown == {"a": S, "b": 0, "any": S}  # equal, but 1 to 4 either way
    assert_nothing_disclosed(table.values, shown, table.relations)


def test_published_cells_are_never_rehidden() -> None:
    """A financial year beside its four quarters: the year's cell goes, not the quarter already out."""
    table = Table()
    for quarter, value in enumerate([6, 7, 8, 3]):
        table.add_published(("q", quarter), value, cell(value))
    table.add("year", 24)
    table.add_sum("year", [("q", q) for q in range(4)])
    shown = table.protect()
    assert shown["year"] == X and shown[("q", 3)] == S and shown[("q", 0)] == 6


counts = st.one_of(st.just(0), st.integers(1, 4), st.integers(5, 30))


@st.composite
def tables(draw: st.DrawFn) -> Table:
    """A random report: a grid with row, column and grand totals, and a second breakdown of the grand total."""
    rows, cols = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    grid = [[draw(counts) for _ in range(cols)] for _ in range(rows)]
    table = Table()
    for r in range(rows):
        for c in range(cols):
            table.add((r, c), grid[r][c])
    for r in range(rows):
        table.add((r, "all"), sum(grid[r]))
        table.add_sum((r, "all"), [(r, c) for c in range(cols)])
    for c in range(cols):
        table.add(("all", c), sum(row[c] for row in grid))
        table.add_sum(("all", c), [(r, c) for r in range(rows)])
    grand = sum(map(sum, grid))
    table.add("grand", grand)
    table.add_sum("grand", [(r, "all") for r in range(rows)])
    table.add_sum("grand", [("all", c) for c in range(cols)])
    if draw(st.booleans()):  # the same people split another way (as the return's sections are)
        split = sorted(draw(st.lists(st.integers(0, grand), min_size=1, max_size=3)))
        parts = [b - a for a, b in zip([0, *split], [*split, grand], strict=True)]
        for i, part in enumerate(parts):
            table.add(("other", i), part)
        table.add_sum("grand", [("other", i) for i in range(len(parts))])
    if draw(st.booleans()) and rows > 1:  # people counted under several headings, and at least one
        table.add("any", draw(st.integers(max(grid[0][0], grid[1][0]), grid[0][0] + grid[1][0])))
        table.add_at_most([(0, 0)], "any")
        table.add_at_most([(1, 0)], "any")
        if rows == 2:
            table.add_at_most(["any"], ("all", 0))
    return table


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_no_hidden_cell_is_determined_in_random_tables(table: Table) -> None:
    shown = table.protect()
    assert_nothing_disclosed(table.values, shown, table.relations)
