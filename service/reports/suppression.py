"""Small numbers: counts about people from 1 to 4 read "<5", and no arithmetic gives a hidden cell away.

Primary suppression hides every count about people from 1 to 4: it reads "<5", which means what it
says, fewer than five (0 to 4): a zero may read "<5" too when it has to be hidden to protect
another cell. A cell hidden as "x" is at least 5 (it is hidden only to protect another cell). A
reader is assumed to know all of this, and every relation
the report states or implies: a column adds up to its shown total, the households of a type are
the households from the own area plus those from elsewhere, nobody counted "with at least one
characteristic" is missing from the counts of each characteristic ...

Secondary suppression works on the whole report at once, as a system of such relations. A hidden
cell is *determined* when every non-negative whole-number table that agrees with the shown cells,
the labels and the relations gives it the same value (the three "<5" cells beside a shown total
that leaves 12 for them are each 4). While some hidden cell is determined, the smallest shown
cell that shares a relation with it is hidden as well (a zero reads "<5", anything else "x");
zeros go first, as hiding them costs least. The test is exact (CP-SAT over
integers, not a linear relaxation), so what is shown never pins a hidden cell down.

Cells of an earlier publication that a reader already has (the quarters inside a financial year)
can be given as `published`: they constrain the reader, but are never re-hidden.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

SUPPRESSED = "<5"
PROTECTING = "x"
Count = int | str
Key = Hashable
SMALL = range(1, 5)
# With this many cells pinned at once, each gets its partner in the same round (more may be hidden
# than the least needed; far fewer rounds of solving on large reports).
BATCH_AFTER = 8
SOLVE_SECONDS = 0.25  # a question with no answer in this time counts as "pinned down": more is hidden, never less


def cell(n: int) -> Count:
    """One count about people that takes part in no relation."""
    return SUPPRESSED if 1 <= n <= 4 else n


def is_hidden(value: object) -> bool:
    """Whether a cell was suppressed (below five, or hidden to protect one that is)."""
    return value in (SUPPRESSED, PROTECTING)


@dataclass(frozen=True)
class Relation:
    """sum(coefficient * cell) == 0 (`equal`) or <= 0 (not `equal`)."""

    terms: tuple[tuple[Key, int], ...]
    equal: bool = True


@dataclass
class Table:
    """Every count about people in one report and the relations between them, to be protected together."""

    values: dict[Key, int] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)
    published: dict[Key, Count] = field(default_factory=dict)

    def add(self, key: Key, value: int) -> Key:
        """A count about people; keys are any hashable naming the cell (section, row, column)."""
        if value < 0:
            raise ValueError(f"negative count {value} for {key!r}")
        self.values[key] = value
        return key

    def add_sum(self, total: Key, parts: Iterable[Key]) -> None:
        """The parts add up to the total (both cells of this table)."""
        parts = list(parts)
        assert sum(self.values[p] for p in parts) == self.values[total], (total, parts)
        self.relations.append(Relation(((total, -1), *((p, 1) for p in parts))))

    def add_at_most(self, parts: Iterable[Key], whole: Key) -> None:
        """The parts add up to no more than the whole (people counted under several headings)."""
        parts = list(parts)
        assert sum(self.values[p] for p in parts) <= self.values[whole], (whole, parts)
        self.relations.append(Relation(((whole, -1), *((p, 1) for p in parts)), equal=False))

    def add_published(self, key: Key, value: int, shown: Count) -> None:
        """A cell a reader already has from another publication: it stays as it was shown there."""
        self.values[key] = value
        self.published[key] = shown

    def protect(self) -> dict[Key, Count]:
        """Each cell as it may be shown: the number, "<5" or "x"."""
        return protect(self)


def column(values: Sequence[int]) -> tuple[list[Count], Count]:
    """Cells and their total, protected together: the cells as shown, and the total as shown."""
    table = Table()
    for index, value in enumerate(values):
        table.add(index, value)
    table.add("total", sum(values))
    table.add_sum("total", range(len(values)))
    shown = table.protect()
    return [shown[index] for index in range(len(values))], shown["total"]


def protect(table: Table) -> dict[Key, Count]:
    """Primary suppression, then secondary suppression until no hidden cell is determined."""
    shown: dict[Key, Count] = {k: table.published[k] if k in table.published else cell(v)
                               for k, v in table.values.items()}
    related: dict[Key, list[Relation]] = defaultdict(list)
    for relation in table.relations:
        for key, _ in relation.terms:
            related[key].append(relation)
    ceiling = max(10, 2 * sum(table.values.values()))
    answers: dict[frozenset[tuple[Key, Count]], list[Key]] = {}  # a component, as shown, and its pinned cells
    while True:
        pinned: list[Key] = []
        for relations, keys in _components(shown, table.relations):
            signature = frozenset((k, shown[k]) for relation in relations for k, _ in relation.terms)
            if signature not in answers:
                answers[signature] = _determined_in(table.values, shown, relations, keys, ceiling)
            pinned += answers[signature]
        if not pinned:
            return shown
        # A partner for each pinned cell whose relations nothing hidden this round touches: hiding
        # one partner may free other cells of the same relations, so those wait for the next round.
        chosen = 0
        touched: set[Key] = set()
        for key in pinned:
            near = {other for relation in related[key] for other, _ in relation.terms}
            if near & touched and len(pinned) < BATCH_AFTER:
                continue
            choice = _partner(key, shown, table, related)
            if choice is not None and _hideable(choice, shown, table):
                shown[choice] = SUPPRESSED if table.values[choice] == 0 else PROTECTING
                touched |= near | {other for relation in related[choice] for other, _ in relation.terms}
                chosen += 1
        if not chosen:
            raise RuntimeError(f"cannot protect {pinned[0]!r}: nothing left to hide")


def _components(shown: dict[Key, Count], relations: Sequence[Relation]) -> list[tuple[list[Relation], list[Key]]]:
    """The hidden cells joined by the relations they share (shown cells are constants): relations and cells."""
    parent: dict[Key, Key] = {}

    def root(key: Key) -> Key:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    live = []
    for relation in relations:
        hidden = [k for k, _ in relation.terms if is_hidden(shown[k])]
        if hidden:
            live.append((relation, hidden[0]))
            for other in hidden[1:]:
                parent[root(other)] = root(hidden[0])
    by_root: dict[Key, tuple[list[Relation], dict[Key, None]]] = {}
    for relation, first in live:
        members = by_root.setdefault(root(first), ([], {}))
        members[0].append(relation)
        for key, _ in relation.terms:
            if is_hidden(shown[key]):
                members[1][key] = None
    return [(rels, list(keys)) for rels, keys in by_root.values()]


def _hideable(key: Key, shown: dict[Key, Count], table: Table) -> bool:
    return isinstance(shown[key], int) and key not in table.published


def _partner(key: Key, shown: dict[Key, Count], table: Table, related: dict[Key, list[Relation]]) -> Key | None:
    """The cell to hide next: the smallest shown one sharing a relation with `key`, else further out."""
    seen = {key}
    frontier = [key]
    while frontier:
        candidates = []
        next_frontier = []
        for current in frontier:
            for relation in related[current]:
                for other, _ in relation.terms:
                    if other in seen:
                        continue
                    seen.add(other)
                    next_frontier.append(other)
                    if _hideable(other, shown, table):
                        # Inner cells before totals (a total is a coefficient -1 term): less is lost.
                        is_total = any(c < 0 for k, c in relation.terms if k == other)
                        candidates.append((shown[other], is_total, repr(other), other))
        if candidates:
            return min(candidates, key=lambda c: (c[0], c[1], c[2]))[3]
        frontier = next_frontier
    return None


def determined_cells(values: dict[Key, int], shown: dict[Key, Count], relations: Sequence[Relation],
                     candidates: Iterable[Key]) -> list[Key]:
    """Which of the hidden `candidates` take one value only, in every whole-number table a reader can build."""
    wanted = set(candidates)
    ceiling = max(10, 2 * sum(values.values()))
    found: list[Key] = []
    for members, keys in _components(shown, relations):
        chosen = [k for k in keys if k in wanted]
        if chosen:
            found += _determined_in(values, shown, members, chosen, ceiling)
    return found


def _determined_in(values: dict[Key, int], shown: dict[Key, Count], relations: list[Relation], keys: list[Key],
                   ceiling: int) -> list[Key]:
    model = cp_model.CpModel()
    variables: dict[Key, cp_model.IntVar | int] = {}

    def term(key: Key) -> cp_model.IntVar | int:
        if key not in variables:
            label = shown[key]
            if label == SUPPRESSED:
                variables[key] = model.new_int_var(0, 4, f"c{len(variables)}")
            elif label == PROTECTING:
                variables[key] = model.new_int_var(5, ceiling, f"c{len(variables)}")
            else:
                assert isinstance(label, int)
                variables[key] = label
        return variables[key]

    for relation in relations:
        expression = sum(coefficient * term(key) for key, coefficient in relation.terms)
        if relation.equal:
            model.add(expression == 0)
        else:
            model.add(expression <= 0)
    # Find readers' tables in which hidden cells differ from the truth; every cell that differs in
    # one is free. Ask again for the rest until none can differ: those are pinned down. Hints point
    # each cell away from its true value, so one solve usually frees most of them.
    differs = {}
    for index, key in enumerate(keys):
        variable = term(key)
        assert not isinstance(variable, int)
        true = values[key]
        differs[key] = model.new_bool_var(f"differs{index}")
        model.add(variable != true).only_enforce_if(differs[key])
        model.add_hint(variable, true + 1 if shown[key] == PROTECTING or true < 4 else true - 1)
    remaining = list(keys)
    for attempt in range(len(keys) + 1):
        some = model.new_bool_var(f"some{attempt}")
        model.add_bool_or([differs[k] for k in remaining]).only_enforce_if(some)
        model.clear_assumptions()
        model.add_assumptions([some])
        model.maximize(sum(differs[k] for k in remaining))  # as many freed by one answer as it can find
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        # A deterministic budget, not wall-clock time: the same figures are always protected the same
        # way, whatever the machine's load (two different patterns of the same table could be combined).
        solver.parameters.max_deterministic_time = SOLVE_SECONDS
        status = solver.solve(model)
        # Infeasible: the rest are pinned down. Undecided in the time allowed: treated as pinned (more is hidden).
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return remaining
        remaining = [k for k in remaining if solver.value(term(k)) == values[k]]
        if not remaining:
            return []
    return remaining


def group(values: Sequence[int]) -> list[Count]:
    """Cells protected together with their total, where the total is shown elsewhere as `cell(total)`."""
    return column(values)[0]
