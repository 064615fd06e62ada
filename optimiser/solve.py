"""The optimal and greedy strategies (CONTRACT section 3).

Optimal, data -> variables -> constraints -> objective -> solve -> read:

* Data: feasible (referral, unit class) pairs from `feasibility`; a class is a set of identical rooms.
* Variables: the flow on each arc of an OR-Tools min-cost flow network
  source -> referral (capacity 1) -> class (capacity 1 per pair) -> sink (capacity = rooms in the class),
  plus a source -> sink bypass so that nobody has to be placed.
* Objective: each pair arc earns (tier + 1) * M + fit, with tier 0 standard, 1 medium, 2 high,
  fit the integer fit score (0..1000) and M larger than any total of fit scores.

Why this gives the guarantee. The sets of referrals that can be placed together form a transversal
matroid. For any independent set with k_h high, k_m medium, k_s standard households, the tier part
of the weight is 3k_h + 2k_m + k_s = (k_h+k_m+k_s) + (k_h+k_m) + k_h, and each bracket is at most
the rank of the referrals of that tier or higher; the matroid greedy algorithm reaches all three
ranks at once. So an assignment maximises the tier part exactly when it places, for every tier T,
the largest possible number of households of tier T or higher. M makes the tier part dominate the
fit, so among those the fit total is maximal. Costs stay below about 4e7 per arc: no overflow.

Large problems (over SPARSE_FROM pairs) are solved by pricing rounds (`_lex_match`): the flow runs
on a small set of promising pairs, the LP dual of its solution is checked against every pair, and
pairs that price out are added until the dual proves the matching optimal over all pairs. On the
benchmark problems 3-4 rounds of 45,000-72,000 arcs replace one flow over 2.7-4.1 million.

Separation links break the matroid structure. The flow problem is then a relaxation: if its
solution keeps every linked pair out of a shared scheme it is optimal outright. Otherwise
`optimiser/separation.py` solves the connected components of the problem that hold a clash with a
CP-SAT model, lexicographically (placed high, placed medium or higher, placed, fit); its docstring
proves why the rest keeps the flow's answer. At the time limit the best separated answer found is
returned with status "feasible".
Schemes a referral's `safety.exclude_schemes` names are ruled out pair by pair in `feasibility`,
like every single-pair rule, so they leave the matroid (and the guarantee) intact.

The fit score of each pair is `optimiser/fit.py`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from optimiser.duals import prices, runs
from optimiser.feasibility import Index, IntArray
from optimiser.fit import FIT_SCALE, fit_scores
from optimiser.separation import separate


@dataclass
class Matching:
    """A solution: for each referral, its class (-1 when unassigned)."""

    class_of: IntArray
    status: str
    stats: dict[str, float | int] = field(default_factory=dict)
    unit_of: IntArray | None = None  # set when the strategy chose the exact room


# Pricing rounds (see _lex_match). Below SPARSE_FROM pairs one flow over every pair is quicker.
SPARSE_FROM = 100_000
FIRST_PER_REFERRAL = 2  # each referral's best pairs in the first set; three times as many for high risk
FIRST_PER_ROOM = 5  # each class's best pairs per room in the first set
GREEDY_FIRST = True  # the first set holds a priority-greedy matching, so its tier counts start close
ADDED_PER_REFERRAL = 10  # each referral's best priced-out pairs added after a round
MAX_ROUNDS = 12
GIVE_UP_SHARE = 0.5  # a set holding this share of all pairs is no longer worth a round


def _flow(n_r: int, class_size: IntArray, pr: IntArray, pc: IntArray, w: IntArray) -> tuple[IntArray, IntArray]:
    """Maximum-weight matching over the given pairs (referral-major: pr ascending):
    (class of each referral or -1, indices of the pairs used).

    Only referrals with a pair become nodes: the flow's work grows with its nodes as well as its arcs.
    """
    from ortools.graph.python import min_cost_flow

    firsts, lengths = runs(pr)
    owners = pr[firsts]  # the referral of each node
    n_nodes = len(firsts)
    local = np.repeat(np.arange(n_nodes, dtype=np.int32), lengths)
    n_c, n_pairs = len(class_size), len(pr)
    source, sink = n_nodes + n_c, n_nodes + n_c + 1
    n_arcs = n_pairs + n_nodes + n_c + 1
    # arrays built in place, in the dtypes OR-Tools takes, to keep the peak memory down
    tails = np.empty(n_arcs, dtype=np.int32)
    heads = np.empty(n_arcs, dtype=np.int32)
    tails[:n_pairs] = local
    heads[:n_pairs] = pc
    heads[:n_pairs] += n_nodes
    tails[n_pairs:n_pairs + n_nodes] = source
    heads[n_pairs:n_pairs + n_nodes] = np.arange(n_nodes)
    tails[n_pairs + n_nodes:-1] = np.arange(n_nodes, n_nodes + n_c)
    heads[n_pairs + n_nodes:-1] = sink
    tails[-1], heads[-1] = source, sink  # the bypass: nobody has to be placed
    caps = np.ones(n_arcs, dtype=np.int64)
    caps[n_pairs + n_nodes:-1] = class_size
    caps[-1] = n_nodes
    costs = np.zeros(n_arcs, dtype=np.int64)
    np.negative(w, out=costs[:n_pairs])
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    del tails, heads, caps, costs
    # arcs are numbered in the order added: the pair arcs are 0..n_pairs-1
    if len(arcs) != n_arcs or arcs[0] != 0 or arcs[-1] != n_arcs - 1:
        raise RuntimeError("unexpected arc numbering from OR-Tools")
    del arcs
    flow.set_nodes_supplies(np.array([source, sink], dtype=np.int32), np.array([n_nodes, -n_nodes], dtype=np.int64))
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    used = np.flatnonzero(flow.flows(np.arange(n_pairs, dtype=np.int64)) > 0)
    class_of = np.full(n_r, -1, dtype=np.int64)
    class_of[owners[local[used]]] = pc[used]
    return class_of, used


def _top(group: IntArray, n_groups: int, key: IntArray, n_keys: int, quota: IntArray,
         rng: np.random.Generator) -> npt.NDArray[np.bool_]:
    """About quota[g] pairs of each group g with the highest key (0 <= key < n_keys), ties at random."""
    counts = np.bincount(group * n_keys + key, minlength=n_groups * n_keys).reshape(n_groups, n_keys)
    at_least = np.cumsum(counts[:, ::-1], axis=1)[:, ::-1]  # pairs with key >= k
    enough = at_least >= quota[:, None]
    threshold = np.where(enough.any(axis=1), n_keys - 1 - np.argmax(enough[:, ::-1], axis=1), 0)
    above = np.where(threshold + 1 < n_keys, at_least[np.arange(n_groups), np.minimum(threshold + 1, n_keys - 1)], 0)
    share = (quota - above) / np.maximum(1, counts[np.arange(n_groups), threshold])
    mine = threshold[group]
    keep = key > mine
    tied = np.flatnonzero(key == mine)
    keep[tied] = rng.random(len(tied)) < share[group[tied]]
    return keep


def _priority_greedy(n_r: int, class_size: IntArray, tier: IntArray, pr: IntArray, pc: IntArray,
                     w: IntArray) -> IntArray:
    """Pairs of a quick matching: highest tier first, fewest options first, each to its best free class."""
    starts = np.searchsorted(pr, np.arange(n_r + 1))
    degree = np.diff(starts)
    rooms = class_size.copy()
    picked = []
    for i in np.lexsort((degree, -tier)).tolist():
        a, b = starts[i], starts[i + 1]
        gain = np.where(rooms[pc[a:b]] > 0, w[a:b], -1)
        k = int(np.argmax(gain)) if b > a else 0
        if b > a and gain[k] > 0:
            rooms[pc[a + k]] -= 1
            picked.append(a + k)
    return np.array(picked, dtype=np.int64)


def _lex_match(n_r: int, class_size: IntArray, tier: IntArray, pr: IntArray, pc: IntArray, w: IntArray,
               fit: IntArray, big_m: int, stats: dict[str, int]) -> IntArray:
    """Maximum-weight matching (class of each referral) over the pairs, by pricing rounds when large.

    A flow over millions of pairs is slow, yet few pairs matter. So: solve over a small set of pairs
    (each referral's best few, each class's best few, a quick priority-greedy matching), take the
    LP dual values of that solution, and check every pair against them. When no pair has a positive
    reduced weight (w > u + v) and the dual total equals the matching's weight, the dual proves the
    matching optimal over all pairs (weak duality; the bipartite matching LP has integral optima).
    Otherwise each referral's best priced-out pairs are added and the round repeats; after
    MAX_ROUNDS, or when the set grows past GIVE_UP_SHARE of the pairs, one flow over every pair
    settles it. Ties in the first set are broken at random (seeded): by index, every referral
    would pick the same few classes and the rounds would crawl.
    """
    n_pairs = len(pr)
    if n_pairs == 0:
        return np.full(n_r, -1, dtype=np.int64)
    if n_pairs <= SPARSE_FROM:
        stats["flows_solved"] += 1
        stats["full_flows"] += 1
        stats["flow_arcs"] = n_pairs
        return _flow(n_r, class_size, pr, pc, w)[0]
    n_c = len(class_size)
    rng = np.random.default_rng(0)
    q = fit >> 3  # fit (0-1000) in 126 steps
    chosen = _top(pr, n_r, q, 126, np.where(tier == 2, 3, 1) * FIRST_PER_REFERRAL, rng)
    chosen |= _top(pc, n_c, tier[pr] * 126 + q, 378, FIRST_PER_ROOM * class_size, rng)
    del q
    if GREEDY_FIRST:
        chosen[_priority_greedy(n_r, class_size, tier, pr, pc, w)] = True
    for _ in range(MAX_ROUNDS):
        sel = np.flatnonzero(chosen)
        if len(sel) > GIVE_UP_SHARE * n_pairs:
            break
        sp, sc, sw = pr[sel], pc[sel], w[sel]
        class_of, used = _flow(n_r, class_size, sp, sc, sw)
        stats["flows_solved"] += 1
        stats["pricing_rounds"] += 1
        stats["flow_arcs"] = len(sel)
        u, v = prices(n_r, class_size, sp, sc, sw, used)
        reduced = w - u[pr]
        reduced -= v[pc]
        priced_out = np.flatnonzero(reduced > 0)
        if len(priced_out) == 0:
            if int(u.sum()) + int((class_size * v).sum()) == int(sw[used].sum()):
                return class_of
            break  # these prices prove nothing (not expected): settle it with every pair
        # households left out whose every pair in the set is a whole tier below its price leave the
        # set (fewer flow nodes; the proof covers every pair, in the set or not), then each
        # referral's best few priced-out pairs join it
        firsts, lengths = runs(sp)
        hopeless = np.maximum.reduceat(reduced[sel], firsts) < -(big_m // 2)
        hopeless &= class_of[sp[firsts]] < 0
        chosen[sel[np.repeat(hopeless, lengths)]] = False
        best = priced_out[np.lexsort((-reduced[priced_out], pr[priced_out]))]
        first = np.searchsorted(pr[best], pr[best], side="left")
        chosen[best[np.arange(len(best)) - first < ADDED_PER_REFERRAL]] = True
    stats["flows_solved"] += 1
    stats["full_flows"] += 1
    stats["flow_arcs"] = n_pairs
    return _flow(n_r, class_size, pr, pc, w)[0]


def solve_optimal(ix: Index, pr: IntArray, pc: IntArray, time_limit: float | None) -> Matching:
    """Tier-lexicographic maximum matching, then maximum fit; separation by `separation.separate`.

    Three steps: weigh every feasible pair, match without separation (the flow's relaxation), then
    separate linked households where that answer puts them under one roof.
    """
    started = time.perf_counter()
    fit, weight, big_m = _weigh(ix, pr, pc)
    build_seconds = time.perf_counter() - started
    stats = {"flows_solved": 0, "pricing_rounds": 0, "full_flows": 0, "flow_arcs": 0}
    class_of = _lex_match(ix.n_referrals, ix.class_size.astype(np.int64), ix.r_tier, pr, pc, weight, fit, big_m,
                          stats)
    # Separation, which the flow ignores: only the components of the problem where the flow's answer
    # puts linked households under one roof go to a constraint model (optimiser/separation.py).
    deadline = None if time_limit is None else started + time_limit
    separated = separate(ix, pr, pc, fit, class_of, deadline)
    return Matching(separated.class_of, "optimal" if separated.proven else "feasible",
                    {"flow_build_seconds": round(build_seconds, 4), "flows_solved": stats["flows_solved"],
                     "pricing_rounds": stats["pricing_rounds"], "full_flows": stats["full_flows"],
                     "flow_arcs": stats["flow_arcs"], **separated.stats})


def _weigh(ix: Index, pr: IntArray, pc: IntArray) -> tuple[IntArray, IntArray, int]:
    """Each pair's integer fit (0..1000) and lexicographic weight (tier + 1) * M + fit, and M."""
    scores = fit_scores(ix, pr, pc)
    scores *= FIT_SCALE
    fit = np.rint(scores, out=scores).astype(np.int32)
    del scores
    big_m = 100 * FIT_SCALE * max(1, min(ix.n_referrals, int(ix.class_size.sum()))) + 1
    weight = (ix.r_tier[pr] + 1).astype(np.int64)
    weight *= big_m
    weight += fit
    return fit, weight, big_m


def solve_greedy(ix: Index, pr: IntArray, pc: IntArray) -> Matching:
    """First come, first served by referred_on (ties by id): the first free feasible unit in input order."""
    refs = ix.problem.referrals
    n_r = ix.n_referrals
    starts = np.searchsorted(pr, np.arange(n_r + 1))
    head = np.array([units[0] for units in ix.class_units], dtype=np.int64)
    taken = np.zeros(ix.n_classes, dtype=np.int64)
    big = np.iinfo(np.int64).max
    class_of = np.full(n_r, -1, dtype=np.int64)
    unit_of = np.full(n_r, -1, dtype=np.int64)
    blocked: dict[int, set[int]] = {}
    partners: dict[int, list[int]] = {}
    for a, b in ix.links:
        partners.setdefault(a, []).append(b)
        partners.setdefault(b, []).append(a)
    order = sorted(range(n_r), key=lambda i: (refs[i].referred_on, refs[i].id))
    for i in order:
        cand = pc[starts[i]:starts[i + 1]]
        if len(cand) == 0:
            continue
        heads = head[cand]
        if i in blocked:
            heads = np.where(np.isin(ix.c_scheme[cand], list(blocked[i])), big, heads)
        k = int(np.argmin(heads))
        if heads[k] == big:
            continue
        c = int(cand[k])
        class_of[i] = c
        unit_of[i] = head[c]
        taken[c] += 1
        units = ix.class_units[c]
        head[c] = units[taken[c]] if taken[c] < len(units) else big
        for j in partners.get(i, ()):
            blocked.setdefault(j, set()).add(int(ix.c_scheme[c]))
    return Matching(class_of, "feasible", unit_of=unit_of)


def units_for(ix: Index, class_of: IntArray) -> IntArray:
    """The unit (index) of each referral: rooms of a class go in input order to referrals in input order."""
    unit_of = np.full(len(class_of), -1, dtype=np.int64)
    taken = np.zeros(ix.n_classes, dtype=np.int64)
    for i in np.flatnonzero(class_of >= 0):
        c = class_of[i]
        unit_of[i] = ix.class_units[c][taken[c]]
        taken[c] += 1
    return unit_of
