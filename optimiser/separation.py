"""Separation: linked households never share a scheme, with CONTRACT section 3's tier guarantee kept.

The flow of `solve.py` ignores `separate_from`, so its answer is optimal for a *relaxation*. When it
keeps every linked pair out of a shared scheme it is optimal outright and nothing here runs. When it
does not, `separate` repairs it with a constraint model (OR-Tools CP-SAT) of only the part of the
problem that can change, read data -> variables -> constraints -> objective -> solve -> read.

What "optimal" means with links. Without links the feasible sets of households form a matroid and
one assignment places, for every tier T, the most households of tier T or higher. Links break the
matroid and the brackets can pull apart (a high-risk household linked to two standard ones who
could share its only refuge: placing it places one, leaving it out places two). The contract's
reading that keeps "high-risk households are never left out to place others" is lexicographic:
first the most high-risk households placed, then among those assignments the most of medium risk
or higher, then the most households, then the largest fit total. That is what is solved here, in
four stages; each stage's proven optimum becomes a constraint of the next (so a stage can never
trade away what an earlier stage won). Without links the lexicographic optimum is the matroid
one, so the guarantee for problems without clashes is unchanged.

Decomposition, and why it is exact. Take the graph whose nodes are referrals and unit classes, with
an edge for each feasible pair and one for each separation link, and split it into connected
components K_1..K_m. Every constraint lives inside one component: a referral's "at most one unit"
and its pairs, a class's room count and the pairs into it, and a link's "not in one scheme" (it
involves only pairs of the two linked households, which are joined by the link edge). So an
assignment obeys every rule exactly when its restriction to each component does, and the
components can be chosen independently. The objective is a sum over components of vectors
(high placed, medium-or-higher placed, placed, fit), compared lexicographically; the lexicographic
order on integer vectors is a total order compatible with addition (a <= b and c <= d imply
a + c <= b + d), so the sum is maximal when each component's vector is maximal. Hence:
* a component without a clash in the flow answer keeps that answer: the flow is optimal for the
  relaxation of the whole problem, so its restriction is optimal for the relaxation of the
  component (else swapping in a better one would improve the whole), and an answer that obeys
  every rule and is optimal for a relaxation is optimal (households of components without links
  therefore stay on the fast flow path, as do linked ones whose component has no clash);
* only components with a clash go to CP-SAT, each alone, holding only its own referrals, classes
  and pairs.
Within a component, two shortcuts keep CP-SAT's work small, both exact. A stage whose value in the
best separated answer known (at first the flow answer with the lower-priority household of each
clash left out) already equals its value in the relaxation is proven without a solve: adding a
rule can only lower the most households of tier T or higher that can be placed. And linked
households that must all be kept apart (a clique of links) get one "at most one of them in this
scheme" constraint per scheme instead of one per pair, which is also what the linear relaxation
needs to see that nine mutually separated households over three schemes place at most three.

When the deadline passes, the best separated answer found so far is returned (every stage's
incumbent obeys every rule) and the status is "feasible".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from optimiser.duals import prices
from optimiser.feasibility import Index, IntArray


@dataclass
class Separated:
    """A separated assignment: class of each referral (-1 when unassigned), whether it is proven optimal."""

    class_of: IntArray
    proven: bool
    stats: dict[str, float | int] = field(default_factory=dict)


def conflicts(ix: Index, class_of: IntArray) -> list[tuple[int, int, int]]:
    """Linked pairs placed in one scheme: (a, b, scheme)."""
    out = []
    for a, b in ix.links:
        ca, cb = class_of[a], class_of[b]
        if ca >= 0 and cb >= 0 and ix.c_scheme[ca] == ix.c_scheme[cb]:
            out.append((a, b, int(ix.c_scheme[ca])))
    return out


def repair(ix: Index, class_of: IntArray) -> IntArray:
    """Make a solution obey separation by leaving out the lower-priority household of each clash."""
    out = class_of.copy()
    for a, b, _ in conflicts(ix, out):
        key_a = (ix.r_tier[a], -ix.r_referred[a])
        key_b = (ix.r_tier[b], -ix.r_referred[b])
        out[b if key_a >= key_b else a] = -1
    return out


def components(n_nodes: int, tails: IntArray, heads: IntArray) -> IntArray:
    """Connected component label (its smallest node) of each node of an undirected graph given by edges."""
    label = np.arange(n_nodes, dtype=np.int64)
    while True:
        lt, lh = label[tails], label[heads]
        apart = lt != lh
        if not apart.any():
            return label
        lt, lh = lt[apart], lh[apart]
        # hook each root onto the smallest root it touches (labels are roots after the jumps below)
        np.minimum.at(label, np.maximum(lt, lh), np.minimum(lt, lh))
        while True:  # pointer jumping until every node points at its root
            jumped = label[label]
            if np.array_equal(jumped, label):
                break
            label = jumped


def _cliques(members: list[int], partners: dict[int, set[int]]) -> tuple[list[list[int]], list[tuple[int, int]]]:
    """Cover the links among `members`: maximal cliques (3 or more, grown greedily) and the pairs left."""
    inside = set(members)
    cliques: set[frozenset[int]] = set()
    for seed in members:
        clique = [seed]
        for other in sorted(partners[seed] & inside, key=lambda k: -len(partners[k] & inside)):
            if all(other in partners[k] for k in clique):
                clique.append(other)
        if len(clique) >= 3:
            cliques.add(frozenset(clique))
    covered = {(a, b) for c in cliques for a in c for b in c if a < b}
    pairs = [(a, b) for a in members for b in partners[a] & inside if a < b and (a, b) not in covered]
    return [sorted(c) for c in sorted(cliques, key=sorted)], pairs


def _pair_index(pair_key: IntArray, keys: IntArray) -> IntArray:
    """Index of each key among the sorted pair keys, -1 where it is not one of them."""
    at = np.searchsorted(pair_key, keys)
    found = at < len(pair_key)
    found[found] &= pair_key[at[found]] == keys[found]
    return np.where(found, at, -1)


def _value(tier: IntArray, fit_of: IntArray, class_of: IntArray) -> tuple[int, int, int, int]:
    placed = class_of >= 0
    t = tier[placed]
    return (int((t == 2).sum()), int((t >= 1).sum()), int(placed.sum()), int(fit_of[placed].sum()))


def _solve_component(ix: Index, refs: IntArray, pr: IntArray, pc: IntArray, fit: IntArray, relaxed: IntArray,
                     start: IntArray, forced: IntArray, full: IntArray, deadline: float | None,
                     stats: dict[str, float | int]) -> tuple[IntArray, bool]:
    """Lexicographic optimum of one component (its referrals `refs`, their pairs pr/pc/fit) by CP-SAT stages."""
    started = time.perf_counter()
    from ortools.sat.python import cp_model  # the first import in a process takes ~0.7 s (it loads pandas)

    stats["cp_sat_import_seconds"] = round(float(stats.get("cp_sat_import_seconds", 0.0))
                                           + time.perf_counter() - started, 4)

    # Data: the component's pairs, and the best separated answer known (the hint and first incumbent).
    n = len(pr)
    tier = ix.r_tier[pr]
    pair_key = pr * ix.n_classes + pc  # ascending: the pairs are referral-major, classes ascending
    best = start.copy()
    model = cp_model.CpModel()
    # Variables: one boolean per feasible (referral, class) pair.
    x = [model.new_bool_var(f"x{k}") for k in range(n)]
    # Each household gets at most one unit (exactly one where every optimum places it: `_fixings`).
    firsts = np.flatnonzero(np.diff(pr, prepend=-1))
    must = set(forced.tolist())
    for a, b in zip(firsts.tolist(), [*firsts[1:].tolist(), n], strict=True):
        (model.add_exactly_one if int(pr[a]) in must else model.add_at_most_one)(x[a:b])
    # Each class houses at most as many households as it has rooms (as many, where every optimum fills it).
    order = np.argsort(pc, kind="stable")
    bounds = np.flatnonzero(np.diff(pc[order], prepend=-1))
    filled = set(full.tolist())
    for a, b in zip(bounds.tolist(), [*bounds[1:].tolist(), n], strict=True):
        c = int(pc[order[a]])
        rooms = cp_model.LinearExpr.sum([x[k] for k in order[a:b].tolist()])
        if c in filled:
            model.add(rooms == int(ix.class_size[c]))
        elif b - a > ix.class_size[c]:
            model.add(rooms <= int(ix.class_size[c]))
    # Households linked to one another never share a scheme: for each scheme, at most one of a clique.
    partners: dict[int, set[int]] = {int(r): set() for r in refs.tolist()}
    for a, b in ix.links:
        if a in partners and b in partners:
            partners[a].add(b)
            partners[b].add(a)
    in_scheme: dict[int, dict[int, list[int]]] = {}  # scheme -> linked referral -> its pairs there
    scheme = ix.c_scheme[pc]
    for k in np.flatnonzero(np.isin(pr, [r for r, p in partners.items() if p])).tolist():
        in_scheme.setdefault(int(scheme[k]), {}).setdefault(int(pr[k]), []).append(k)
    n_cliques = 0
    covers: dict[tuple[int, ...], tuple[list[list[int]], list[tuple[int, int]]]] = {}
    for here in in_scheme.values():
        members = tuple(sorted(here))
        if members not in covers:  # households of one shape want the same schemes: one cover for all
            covers[members] = _cliques(list(members), partners)
        cliques, pairs = covers[members]
        n_cliques += len(cliques)
        for group in [*cliques, *pairs]:
            model.add_at_most_one([x[k] for r in group for k in here[r]])
    stats["separation_cliques"] = int(stats.get("separation_cliques", 0)) + n_cliques
    # Objective, in stages: high placed, medium or higher placed, then placed and fit together (one more
    # household outweighs any fit total); each proven stage is kept as a constraint of the next.
    fit_of = np.zeros(ix.n_referrals, dtype=np.int64)
    known = refs[best[refs] >= 0]
    fit_of[known] = fit[_pair_index(pair_key, known * ix.n_classes + best[known])]
    relaxed_value = _value(ix.r_tier[refs], fit_of[refs], relaxed[refs])
    stage_weights = [(tier == 2).astype(np.int64), (tier >= 1).astype(np.int64),
                     fit.astype(np.int64) + (1000 * len(refs) + 1)]
    proven = True
    for stage, coef in enumerate(stage_weights):
        if not coef.any():
            continue
        used = np.flatnonzero(coef)
        objective = cp_model.LinearExpr.weighted_sum([x[k] for k in used.tolist()], coef[used].tolist())
        current = _value(ix.r_tier[refs], fit_of[refs], best[refs])[stage]
        if stage < 2 and current == relaxed_value[stage]:
            # the relaxation's bound is reached: proven without a solve
            model.add(objective >= current)
            continue
        model.maximize(objective)
        # the hint: the pairs the best known answer uses (the rest default to unused)
        model.clear_hints()
        known = refs[best[refs] >= 0]
        for k in _pair_index(pair_key, known * ix.n_classes + best[known]).tolist():
            if k >= 0:
                model.add_hint(x[k], True)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.linearization_level = 2  # the matching's LP bound is what proves a stage
        solver.parameters.cp_model_probing_level = 0  # probing costs seconds on these models and finds little
        if deadline is not None:
            solver.parameters.max_time_in_seconds = max(0.0, deadline - time.perf_counter())
        status = solver.solve(model)
        stats["cp_sat_solves"] = int(stats.get("cp_sat_solves", 0)) + 1
        stats["cp_sat_seconds"] = round(float(stats.get("cp_sat_seconds", 0.0)) + solver.wall_time, 4)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return best, False  # out of time before any answer: the known one stands
        chosen = np.flatnonzero(np.fromiter(solver.response_proto.solution, dtype=np.int64, count=n))  # x[k]: var k
        best[refs] = -1
        best[pr[chosen]] = pc[chosen]
        # a stage's answer may leave out households of lower tiers that fit: the next stage's hint places them
        best = refill(ix, pr, pc, fit, best)
        placed = refs[best[refs] >= 0]
        fit_of[placed] = fit[_pair_index(pair_key, placed * ix.n_classes + best[placed])]
        if status != cp_model.OPTIMAL:
            proven = False
            break
        model.add(objective >= round(solver.objective_value))
    return best, proven


def refill(ix: Index, pr: IntArray, pc: IntArray, fit: IntArray, class_of: IntArray) -> IntArray:
    """Place households left out where a room is free and no linked household shares the scheme (a better start)."""
    out = class_of.copy()
    free = ix.class_size.astype(np.int64) - np.bincount(out[out >= 0], minlength=ix.n_classes)
    partners: dict[int, list[int]] = {}
    for a, b in ix.links:
        partners.setdefault(a, []).append(b)
        partners.setdefault(b, []).append(a)
    left = np.flatnonzero(out < 0)
    for r in left[np.lexsort((ix.r_referred[left], -ix.r_tier[left]))].tolist():
        lo, hi = np.searchsorted(pr, r), np.searchsorted(pr, r, side="right")
        taken = {int(ix.c_scheme[out[k]]) for k in partners.get(r, ()) if out[k] >= 0}
        for k in (lo + np.argsort(-fit[lo:hi], kind="stable")).tolist():
            c = int(pc[k])
            if free[c] > 0 and int(ix.c_scheme[c]) not in taken:
                out[r] = c
                free[c] -= 1
                break
    return out


def _lex_weights(tier: IntArray, fit: IntArray, n: int) -> IntArray | None:
    """Pair weights whose sums compare like (high, medium or higher, placed, fit), or None if int64 is too small.

    With B0 above any fit total and each next B above n times the previous plus all fit, one more
    household of a tier outweighs any change below it.
    """
    b0 = 1000 * n + 1
    b1 = (n + 1) * b0
    b2 = (n + 1) * b1
    if n * (b2 + 1000) >= 1 << 60:  # the dual total adds two such sums: far from int64's end
        return None
    return np.array([b0, b1, b2], dtype=np.int64)[tier] + fit


def _fixings(ix: Index, refs: IntArray, pr: IntArray, pc: IntArray, fit: IntArray, relaxed: IntArray,
             start: IntArray) -> tuple[npt.NDArray[np.bool_], IntArray, IntArray] | None:
    """Reduced-cost fixing on one component: (pairs that may be used, referrals that must be placed,
    classes that must be full) in every lexicographic optimum; None when no proof is available.

    With lexicographic weights W and the relaxation's optimal dual values u (referrals) and v (classes),
    every assignment x obeying the matching rules has
        W(x) = UB - sum over used pairs of (u_r + v_c - W_rc) - sum of u_r over referrals left out
               - sum of v_c over free rooms,
    every term >= 0, UB the relaxation's optimum. The optimum under all rules is >= W(start) (a
    separated answer), so a pair whose reduced cost exceeds UB - W(start) is used by no optimum, a
    referral with u_r above it is placed by every optimum, a class with v_c above it full in every one.
    """
    w = _lex_weights(ix.r_tier[pr], fit.astype(np.int64), len(refs))
    if w is None:
        return None
    pair_key = pr * ix.n_classes + pc
    placed = refs[relaxed[refs] >= 0]
    used = np.searchsorted(pair_key, placed * ix.n_classes + relaxed[placed])
    u, v = prices(ix.n_referrals, ix.class_size.astype(np.int64), pr, pc, w, used)
    upper = int(u[refs].sum()) + int((ix.class_size * v).sum())
    if upper != int(w[used].sum()):
        return None  # no proof from these prices (not expected)
    kept = refs[start[refs] >= 0]
    lower = int(w[np.searchsorted(pair_key, kept * ix.n_classes + start[kept])].sum())
    gap = upper - lower
    reduced = u[pr] + v[pc] - w
    return reduced <= gap, refs[u[refs] > gap], np.flatnonzero(v > gap)


def separate(ix: Index, pr: IntArray, pc: IntArray, fit: IntArray, relaxed: IntArray,
             deadline: float | None) -> Separated:
    """The lexicographic optimum under every rule, from the relaxation's answer `relaxed` (class per referral).

    pr/pc are the feasible (referral, class) pairs, referral-major; fit their integer fit scores;
    deadline a `time.perf_counter()` instant or None.
    """
    started = time.perf_counter()
    clashes = conflicts(ix, relaxed)
    stats: dict[str, float | int] = {"separation_clashes": len(clashes), "separation_components": 0,
                                     "separation_referrals": 0, "separation_pairs": 0, "cp_sat_solves": 0}
    if not clashes:
        return Separated(relaxed, True, stats)
    n_r = ix.n_referrals
    links = np.array(ix.links, dtype=np.int64).reshape(-1, 2)
    best = refill(ix, pr, pc, fit, repair(ix, relaxed))
    proven = True
    for refs in _clashing_parts(n_r + ix.n_classes, links, pr, pc, relaxed, clashes):
        mine = np.flatnonzero(np.isin(pr, refs))
        forced_r = np.zeros(0, dtype=np.int64)
        full_c = np.zeros(0, dtype=np.int64)
        fixed = _fixings(ix, refs, pr[mine], pc[mine], fit[mine], relaxed, best)
        pieces = [(refs, mine)]
        if fixed is not None:
            keep, forced_r, full_c = fixed
            mine = mine[keep]
            stats["separation_pairs_fixed"] = int(stats.get("separation_pairs_fixed", 0)) + int((~keep).sum())
            # what is left may fall apart: only the pieces where the relaxation clashes need the model
            inside = set(refs.tolist())
            own = [clash for clash in clashes if clash[0] in inside]
            pieces = [(sub, mine[np.isin(pr[mine], sub)])
                      for sub in _clashing_parts(n_r + ix.n_classes, links, pr[mine], pc[mine], relaxed, own)]
        for sub_refs, sub_pairs in pieces:
            stats["separation_components"] = int(stats["separation_components"]) + 1
            stats["separation_referrals"] = int(stats["separation_referrals"]) + len(sub_refs)
            stats["separation_pairs"] = int(stats["separation_pairs"]) + len(sub_pairs)
            if not proven or (deadline is not None and time.perf_counter() > deadline):
                proven = False
                continue
            best, done = _solve_component(ix, sub_refs, pr[sub_pairs], pc[sub_pairs], fit[sub_pairs], relaxed, best,
                                          forced_r, full_c, deadline, stats)
            proven = proven and done
    stats["separation_seconds"] = round(time.perf_counter() - started, 4)
    return Separated(best, proven, stats)


def _clashing_parts(n_nodes: int, links: IntArray, pr: IntArray, pc: IntArray, relaxed: IntArray,
                    clashes: list[tuple[int, int, int]]) -> list[IntArray]:
    """Referrals of each connected component (pairs and links) that holds a clash of the relaxation."""
    n_r = len(relaxed)
    label = components(n_nodes, np.concatenate([pr, links[:, 0]]), np.concatenate([pc + n_r, links[:, 1]]))[:n_r]
    return [np.flatnonzero(label == comp) for comp in sorted({int(label[a]) for a, _, _ in clashes})]
