"""LP dual values (prices) of a maximum-weight bipartite matching, shared by the pricing rounds of
`solve.py` and the reduced-cost fixing of `separation.py`."""

from __future__ import annotations

import numpy as np

from optimiser.feasibility import IntArray


def runs(pr: IntArray) -> tuple[IntArray, IntArray]:
    """First index and length of each run of one referral in referral-major pairs."""
    firsts = np.flatnonzero(np.diff(pr, prepend=-1))
    return firsts, np.diff(firsts, append=len(pr))


def prices(n_r: int, class_size: IntArray, pr: IntArray, pc: IntArray, w: IntArray,
           used: IntArray) -> tuple[IntArray, IntArray]:
    """Dual values (u per referral, v per class) of a maximum-weight matching over the pairs given
    (referral-major: pr ascending).

    The LP dual: minimise sum(u) + sum(size * v) with u, v >= 0 and u[r] + v[c] >= w for every pair.
    Complementary slackness: v = 0 on classes with a free room, and u[r] + v[c] = w on the pairs
    used. Starting from v[c] = the least weight placed in c and lowering v until those hold gives the
    largest optimal prices (a Bellman-Ford fixed point); large prices certify the most unseen pairs.
    """
    n_c = len(class_size)
    placed = pr[used]
    at = pc[used]
    has_room = np.bincount(at, minlength=n_c) < class_size
    starts, _ = runs(pr)
    owners = pr[starts]
    v = np.full(n_c, np.iinfo(np.int64).max // 4, dtype=np.int64)
    np.minimum.at(v, at, w[used])
    v[has_room] = 0
    u = np.zeros(n_r, dtype=np.int64)
    for _ in range(n_c + 1):
        u[owners] = np.maximum.reduceat(w - v[pc], starts) if len(starts) else 0
        np.maximum(u, 0, out=u)
        lower = np.full(n_c, np.iinfo(np.int64).max // 4, dtype=np.int64)
        np.minimum.at(lower, at, w[used] - u[placed])
        lower[has_room] = 0
        np.clip(lower, 0, v, out=lower)
        if np.array_equal(lower, v):
            break
        v = lower
    return u, v
