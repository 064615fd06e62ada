"""Small numbers: primary and secondary suppression."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from service.reports.suppression import PROTECTING, SUPPRESSED, cell, group


def test_counts_from_one_to_four_are_hidden() -> None:
    assert [cell(n) for n in range(7)] == [0, SUPPRESSED, SUPPRESSED, SUPPRESSED, SUPPRESSED, 5, 6]


def test_a_lone_hidden_cell_takes_the_next_smallest_with_it() -> None:
    assert group([6, 7, 2]) == [PROTECTING, 7, SUPPRESSED]
    assert group([12, 3, 0, 9]) == [12, SUPPRESSED, 0, PROTECTING]
    assert group([3, 2, 40]) == [SUPPRESSED, SUPPRESSED, 40]  # two hidden already: the total does not reveal them
    assert group([0, 0, 8]) == [0, 0, 8]


@given(st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=8))
def test_no_hidden_cell_can_be_worked_out_from_the_total(values: list[int]) -> None:
    shown = group(values)
    hidden = [i for i, v in enumerate(shown) if v in (SUPPRESSED, PROTECTING)]
    assert all(shown[i] == SUPPRESSED for i, v in enumerate(values) if 1 <= v <= 4)
    assert all(values[i] >= 5 for i, v in enumerate(shown) if v == PROTECTING)  # "x" never hides a small one
    if len(hidden) == 1:  # then the others are all zero, so the total is 1 to 4 and hidden as well
        assert all(v == 0 for i, v in enumerate(values) if i not in hidden) and cell(sum(values)) == SUPPRESSED
    assert all(shown[i] == values[i] for i in range(len(values)) if i not in hidden)
