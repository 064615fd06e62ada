"""An attacker's view of a published table, independent of the service's own check: scipy's MILP.

For every hidden cell, the smallest and largest whole number it can take in any non-negative
integer table that agrees with the shown cells, the labels ("<5" is 0 to 4, "x" at least 5) and the
stated relations. A cell whose smallest and largest values meet is disclosed.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from service.reports.suppression import PROTECTING, SUPPRESSED, Relation


def feasible_ranges(shown: Mapping[Hashable, object], relations: Sequence[Relation]
                    ) -> dict[Hashable, tuple[float, float]]:
    """Each hidden cell's range over every table a reader could build: (min, max), max may be inf."""
    hidden = [k for k, v in shown.items() if v in (SUPPRESSED, PROTECTING)]
    index = {k: i for i, k in enumerate(hidden)}
    lower = np.array([0.0 if shown[k] == SUPPRESSED else 5.0 for k in hidden])
    upper = np.array([4.0 if shown[k] == SUPPRESSED else np.inf for k in hidden])
    rows, lo, hi = [], [], []
    for relation in relations:
        row = np.zeros(len(hidden))
        constant = 0.0
        for key, coefficient in relation.terms:
            if key in index:
                row[index[key]] += coefficient
            else:
                value = shown[key]
                assert isinstance(value, int), (key, value)
                constant += coefficient * value
        if not row.any():
            continue
        rows.append(row)
        lo.append(-constant if relation.equal else -np.inf)
        hi.append(-constant)
    constraints = [LinearConstraint(np.array(rows), lo, hi)] if rows else []
    ranges = {}
    for key, i in index.items():
        ends = []
        for sign in (1.0, -1.0):
            objective = np.zeros(len(hidden))
            objective[i] = sign
            result = milp(objective, constraints=constraints, integrality=np.ones(len(hidden)),
                          bounds=Bounds(lower, upper))
            if result.status == 0:
                ends.append(sign * result.fun)
            else:
                assert sign < 0, f"no table fits the shown cells for {key!r}: {result.message}"
                ends.append(np.inf)
        ranges[key] = (ends[0], ends[1])
    return ranges


def assert_nothing_disclosed(values: Mapping[Hashable, int], shown: Mapping[Hashable, object],
                             relations: Sequence[Relation]) -> None:
    """No count from 1 to 4 shown, shown cells true, and no hidden cell pinned to one value."""
    for key, value in values.items():
        if 1 <= value <= 4:
            assert shown[key] == SUPPRESSED, f"{key!r} = {value} shown as {shown[key]!r}"
        if shown[key] == PROTECTING:
            assert value >= 5, f"{key!r} = {value} hidden as x"
        elif shown[key] == SUPPRESSED:
            assert value <= 4, f"{key!r} = {value} hidden as <5"
        else:
            assert shown[key] == value, f"{key!r} shown as {shown[key]!r}, is {value}"
    for key, (low, high) in feasible_ranges(shown, relations).items():
        assert low <= values[key] <= high
        assert low < high, f"{key!r} is pinned to {low} by the shown cells"
