"""Small numbers: counts about people from 1 to 4 read "<5", and no total gives a hidden cell away.

Primary suppression hides every count from 1 to 4: it reads "<5". Secondary suppression: in a
group of cells whose total is shown, a single hidden cell could be worked out as total minus the
others, so the smallest other non-zero cell is hidden too. That cell is not below five, so it reads
"x" (hidden to protect another cell), never "<5", which would be untrue.
"""

from __future__ import annotations

from collections.abc import Sequence

SUPPRESSED = "<5"
PROTECTING = "x"
Count = int | str


def cell(n: int) -> Count:
    """One count about people."""
    return SUPPRESSED if 1 <= n <= 4 else n


def group(values: Sequence[int]) -> list[Count]:
    """Cells that add up to a total that is shown elsewhere: primary, then secondary suppression."""
    shown: list[Count] = [cell(v) for v in values]
    hidden = [i for i, v in enumerate(shown) if v == SUPPRESSED]
    if len(hidden) == 1:
        others = sorted((values[i], i) for i, v in enumerate(shown) if isinstance(v, int) and v > 0)
        if others:
            shown[others[0][1]] = PROTECTING
    return shown


def is_hidden(value: Count) -> bool:
    """Whether a cell was suppressed (below five, or hidden to protect one that is)."""
    return value in (SUPPRESSED, PROTECTING)
