"""Capacity planning: which extra scheme would have placed most of a period's unplaced households.

The matcher is re-run on those households once per candidate scheme (a small scheme of one kind
of unit, in the authority or a neighbour), and the candidates are ranked by households placed.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from msgspec import structs
from sqlalchemy.ext.asyncio import AsyncSession

from service.matching import service as matching
from service.referrals import service as referrals
from service.referrals.service import Referral
from service.reports import queries
from service.reports.publication import protected
from service.reports.schemas import Candidate, CapacityPlan, Period, RankedCandidate
from service.reports.suppression import Table, cell

SCHEME_SIZE = 10  # a candidate is a small scheme of this many units of one kind
BEDSPACES = 4  # each candidate unit's bed spaces
KINDS = ("refuge", "dispersed", "move_on")  # the kinds of scheme a council commissions as new capacity
SHOWN = 20  # the best candidates shown


async def capacity_plan(session: AsyncSession, authority: str | None, start: date, end: date,
                        time_limit: float = 30.0) -> CapacityPlan:
    """Which extra scheme would have placed most of the period's unplaced households (the matcher re-run).

    The re-runs share `time_limit` seconds (the deployment's solve limit); past it the rest are counted greedily.
    """
    names = await queries.authority_names(session)
    unplaced = [r for r in await queries.referrals_made(session, authority, start, end) if _is_unplaced(r)]
    if authority:
        areas = [authority, *await queries.neighbours(session, authority)]
    else:
        areas = [code for code, _ in Counter(r.authority_code for r in unplaced).most_common(5)]
    centres = _centres(await queries.postcode_districts(session, areas))
    candidates = [
        Candidate(type=kind, authority=code, district=centres[code][0], wheelchair_accessible=wheelchair,
                  accepts_nrpf=nrpf)
        for code in areas if code in centres for kind in KINDS
        for wheelchair in (False, True) for nrpf in (False, True)
    ]
    problem_referrals = [await referrals.problem_referral(session, r) for r in unplaced]
    problems = [
        {"as_of": end.isoformat(), "referrals": problem_referrals,
         "units": [_candidate_unit(f"c{i}", c, *centres[c.authority][1:]) for i in range(SCHEME_SIZE)]}
        for c in candidates
    ]
    limits = matching.SolveLimits(time_limit, time_limit)
    counts = await matching.placed_counts(problems, limits) if problem_referrals else [(0, 0)] * len(candidates)
    # Most households placed first; among equals, the kind of unit that suits the most households.
    ranked = sorted(zip(counts, candidates, strict=True), key=lambda pair: (-pair[0][0], -pair[0][1]))
    _, shown = await protected(_unplaced_builder(session, authority), start, end)
    return CapacityPlan(
        period=Period(start, end), authority=authority, unplaced_households=shown[("unplaced",)],
        scheme_size=SCHEME_SIZE,
        candidates=[RankedCandidate(**structs.asdict(c), authority_name=names.get(c.authority, c.authority),
                                    bedspaces=BEDSPACES, households_placed=cell(placed),
                                    households_suited=cell(suited))
                    for (placed, suited), c in ranked[:SHOWN] if placed > 0],
    )


def _centres(districts: list[tuple[str, str, float, float]]) -> dict[str, tuple[str, float, float]]:
    """A representative postcode district of each authority: the one nearest its districts' mean."""
    by_code: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    for code, district, lat, lon in districts:
        by_code[code].append((district, lat, lon))
    centres = {}
    for code, rows in by_code.items():
        mean_lat = statistics.fmean(d[1] for d in rows)
        mean_lon = statistics.fmean(d[2] for d in rows)
        centres[code] = min(rows, key=lambda d: (d[1] - mean_lat) ** 2 + (d[2] - mean_lon) ** 2)
    return centres


def _candidate_unit(ident: str, candidate: Candidate, lat: float, lon: float) -> dict[str, Any]:
    """One unit of a candidate scheme as a match-problem unit (CONTRACT section 3)."""
    refuge = candidate.type == "refuge"
    return {
        "id": ident, "scheme": "candidate", "type": candidate.type, "authority": candidate.authority,
        "district": candidate.district, "lat": lat, "lon": lon, "bedspaces": BEDSPACES,
        "genders": ["female"] if refuge else ["female", "male", "non_binary"],
        "accepts_children": True, "max_children": None, "max_boy_age": None,
        "wheelchair_accessible": candidate.wheelchair_accessible, "step_free": candidate.wheelchair_accessible,
        "pets": not refuge, "accepts_nrpf": candidate.accepts_nrpf, "communal": refuge, "languages": [],
        "specialisms": [], "specialist_only": False, "available_from": "2000-01-01",
    }


def _is_unplaced(referral: Referral) -> bool:
    return queries.outcome(referral) in ("unmet", "open") and referral.pseudonymised_at is None


def _unplaced_builder(session: AsyncSession, authority: str | None) -> Callable[[date, date], Awaitable[Table]]:
    """The period's unplaced households (a count of referrals made in it: a year's is its quarters' sum)."""

    async def build(start: date, end: date) -> Table:
        table = Table()
        table.add(("unplaced",), sum(map(_is_unplaced, await queries.referrals_made(session, authority, start, end))))
        return table

    return build
