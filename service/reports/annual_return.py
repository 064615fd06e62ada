"""The statutory annual return of CONTRACT section 6: Part 4 of the Domestic Abuse Act 2021.

Who is counted: households and people supported in safe accommodation *located in* the authority
(the scheme's authority), wherever they came from; the referring authority is a dimension (from
the own area, from elsewhere). A household supported in more than one accommodation type in the
year is counted once, under the type it was last supported in, so every table adds up.

Two copies come from one set of figures:

- `filing`: exact integers (or null for a question left blank), what the council files with the
  Ministry of Housing, Communities and Local Government, which applies its own rounding;
- `publication`: every count about people passes `suppression.Table.protect` as one system, with
  each relation between cells that the return states (rows and columns add up to their totals,
  the same households split by type, by source, by each characteristic ...).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from service.reports import periods, queries
from service.reports.schemas import AnnualReturn, Period, ReturnSection
from service.reports.suppression import Count, Relation, Table
from service.vocabulary import (
    ACCOMMODATION_TYPES,
    ADULT_BANDS,
    CHARACTERISTICS,
    CHILD_BANDS,
    END_REASONS,
    NOT_RECORDED,
    REGULATION_NAMES,
    RISKS_HIGHEST_FIRST,
    SOURCES,
    SPECIALIST_CHARACTERISTICS,
    UNABLE_REASONS,
    adult_age_band,
    child_age_band,
)

Purpose = Literal["filing", "publication"]
PURPOSES: tuple[str, ...] = ("filing", "publication")
TOTAL = "Total"
SOURCE_NAMES = {
    "officer": "Referred by a council's housing officer", "helpline": "National Domestic Abuse Helpline",
    "agency": "Another agency", "self": "Self-referral", "other_council": "Another council, by phone",
}
CHARACTERISTIC_NAMES = {
    "black_and_minoritised": "Black and minoritised survivors", "mental_health": "Survivors with mental health needs",
    "disabled": "Disabled survivors", "lgbt_plus": "LGBT+ survivors",
    "substance_use": "Survivors with drug or alcohol needs", "nrpf": "Survivors with no recourse to public funds",
    "young_person": "Young survivors (16 to 25)", "older_person": "Older survivors (60 and over)",
    "deaf_or_hearing_impaired": "Deaf or hard of hearing survivors",
    "gypsy_roma_traveller": "Gypsy, Roma and Traveller survivors",
}
# Why an officer's referral closed unmet, as the return's reasons for not supporting a household.
UNMET_TO_UNABLE = {
    "capacity": "capacity", "not_available": "capacity", "nrpf": "nrpf", "household_size": "household_size",
    "children": "household_size", "boy_age": "household_size", "offers_declined": "declined_support",
    "other": "other",
}
PEOPLE = ("women", "men", "trans adults", "other adults", "children")
STOP_COLUMNS = ("sanctuary scheme", "other safe accommodation", "all")
NOTE_FILING = ("Exact figures for filing with the Ministry of Housing, Communities and Local Government. "
               "Not for publication: counts of 1 to 4 can identify a survivor.")
NOTE_PUBLICATION = ("Counts from 1 to 4 read <5. Where the other figures would give such a count away, "
                    "another is hidden as well and reads x.")


@dataclass
class _Draft:
    """The return's cells before they are shown: counts about people in `table`, the rest as they are."""

    table: Table = field(default_factory=Table)
    sections: list[tuple[str, str, list[str], list[tuple[str, str, list[Hashable | int | None]]]]] = field(
        default_factory=list)

    def count(self, key: Hashable, value: int) -> Hashable:
        return self.table.add(key, value)

    def partition(self, section: str, column: str, labels: Sequence[str], counts: Counter[str] | dict[str, int],
                  total: Hashable) -> list[Hashable]:
        """One cell per label, which add up to `total` (a cell already in the table)."""
        keys = [self.count((section, label, column), counts.get(label, 0)) for label in labels]
        self.table.add_sum(total, keys)
        return keys


def _adult_kind(adult: dict[str, Any], monitoring: dict[str, Any]) -> str:
    """Women, men, trans adults, or other adults (non-binary, or gender not stated)."""
    if monitoring.get("trans") == "yes":
        return "trans adults"
    gender = monitoring.get("gender") or {"female": "woman", "male": "man"}.get(adult.get("gender", ""), "")
    return {"woman": "women", "man": "men"}.get(gender, "other adults")


def _people(referral: Any) -> list[tuple[str, list[str]]]:
    """Each person of the household: (kind, specialist characteristics)."""
    equality = referral.equality or {}
    adult_answers = equality.get("adults", [])
    child_answers = equality.get("children", [])
    people = []
    for index, adult in enumerate(referral.household.get("adults", [])):
        answers = adult_answers[index] if index < len(adult_answers) else {}
        people.append((_adult_kind(adult, answers), list(answers.get("characteristics", []))))
    for index, _ in enumerate(referral.household.get("children", [])):
        answers = child_answers[index] if index < len(child_answers) else {}
        people.append(("children", list(answers.get("characteristics", []))))
    return people


def _age_band(person: dict[str, Any], child: bool) -> str:
    if "age_band" in person:  # pseudonymised households keep the band, not the age
        return str(person["age_band"])
    return (child_age_band if child else adult_age_band)(int(person["age"]))


async def draft(session: AsyncSession, authority: str | None, year: periods.ReportPeriod) -> _Draft:
    """Every figure of the return for one authority (None: all) and financial year, exact."""
    start, end = year.start, year.end
    episodes = await queries.supported_in_area(session, authority, start, end)
    d = _Draft()
    t = d.table

    # Households, typed by the last placement in the year, with where they came from.
    last: dict[int, queries.Episode] = {}
    for episode in episodes:
        current = last.get(episode.referral.id)
        if current is None or (episode.started_on, episode.placement_id) > (current.started_on, current.placement_id):
            last[episode.referral.id] = episode
    households = list(last.values())
    # From the own area: referred by (or, for an arrival, coming from) the authority where the scheme is.
    home = {e.referral.id: e.referral.authority_code == e.host for e in households}
    by_type: dict[str, Counter[str]] = {kind: Counter() for kind in ACCOMMODATION_TYPES}
    for e in households:
        by_type[e.kind]["own" if home[e.referral.id] else "elsewhere"] += 1
    rows: list[tuple[str, str, list[Hashable | int | None]]] = []
    for kind in ACCOMMODATION_TYPES:
        own = d.count(("hh", kind, "own"), by_type[kind]["own"])
        away = d.count(("hh", kind, "elsewhere"), by_type[kind]["elsewhere"])
        both = d.count(("hh", kind, "all"), by_type[kind]["own"] + by_type[kind]["elsewhere"])
        t.add_sum(both, [own, away])
        rows.append((kind, REGULATION_NAMES[kind], [both, own, away]))
    total_keys = []
    for column in ("all", "own", "elsewhere"):
        key = d.count(("hh", TOTAL, column), sum(t.values[("hh", k, column)] for k in ACCOMMODATION_TYPES))
        t.add_sum(key, [("hh", k, column) for k in ACCOMMODATION_TYPES])
        total_keys.append(key)
    t.add_sum(total_keys[0], total_keys[1:])
    rows.append(("total", TOTAL, list(total_keys)))
    households_total = total_keys[0]
    d.sections.append(("households_by_type", "Households supported in safe accommodation in the area, by type "
                       "(SI 2021/991 reg. 2) and where they came from",
                       ["accommodation type", "households", "from own area", "from elsewhere"], rows))

    sources = Counter(e.referral.source for e in households)
    keys = d.partition("source", "households", SOURCES, sources, households_total)
    d.sections.append(("households_by_source", "Households supported, by how they reached support",
                       ["source", "households"],
                       [(s, SOURCE_NAMES[s], [k]) for s, k in zip(SOURCES, keys, strict=True)]
                       + [("total", TOTAL, [households_total])]))

    # People: women, men, trans adults, other adults and children, by type.
    people_by_type: dict[str, Counter[str]] = {kind: Counter() for kind in ACCOMMODATION_TYPES}
    characteristic_counts: Counter[str] = Counter()
    with_any = 0
    recorded = False
    for e in households:
        equality = e.referral.equality or {}
        recorded = recorded or bool(equality.get("adults") or equality.get("children"))
        for kind, characteristics in _people(e.referral):
            people_by_type[e.kind][kind] += 1
            characteristic_counts.update(set(characteristics))
            with_any += bool(characteristics)
    rows = []
    for kind in ACCOMMODATION_TYPES:
        parts = [d.count(("ind", kind, p), people_by_type[kind][p]) for p in PEOPLE]
        all_key = d.count(("ind", kind, "all"), sum(people_by_type[kind].values()))
        t.add_sum(all_key, parts)
        # Every household has an adult: a reader knows households <= adults, type by type.
        t.relations.append(Relation((((("hh", kind, "all")), 1), *((p, -1) for p in parts[:-1])), equal=False))
        rows.append((kind, REGULATION_NAMES[kind], [*parts, all_key]))
    total_people = []
    for column in (*PEOPLE, "all"):
        key = d.count(("ind", TOTAL, column), sum(t.values[("ind", k, column)] for k in ACCOMMODATION_TYPES))
        t.add_sum(key, [("ind", k, column) for k in ACCOMMODATION_TYPES])
        total_people.append(key)
    t.add_sum(total_people[-1], total_people[:-1])
    rows.append(("total", TOTAL, list(total_people)))
    individuals_total = total_people[-1]
    d.sections.append(("individuals_by_type", "Individuals supported, by accommodation type",
                       ["accommodation type", *PEOPLE, "individuals"], rows))

    # Specialist characteristics: individuals with each, and with at least one. Blank when none recorded.
    if recorded:
        each = [d.count(("spec", c), characteristic_counts[c]) for c in SPECIALIST_CHARACTERISTICS]
        any_key = d.count(("spec", "any"), with_any)
        for key in each:
            t.add_at_most([key], any_key)
        t.add_at_most([any_key], individuals_total)
        t.relations.append(Relation(((any_key, 1), *((k, -1) for k in each)), equal=False))  # any <= sum
        values: list[list[Hashable | int | None]] = [[k] for k in each] + [[any_key]]
    else:
        values = [[None] for _ in (*SPECIALIST_CHARACTERISTICS, "any")]
    d.sections.append(("specialist_characteristics", "Individuals supported with specialist characteristics",
                       ["characteristic", "individuals"],
                       [(c, CHARACTERISTIC_NAMES[c], v)
                        for c, v in zip(SPECIALIST_CHARACTERISTICS, values, strict=False)]
                       + [("at_least_one", "At least one specialist characteristic", values[-1])]))

    # New households: support began in the year (no earlier placement). Stopped: support ended in it.
    firsts = await queries.first_and_last_support(session, [e.referral.id for e in households])
    rows = []
    new_by_type = Counter(e.kind for e in households if firsts[e.referral.id][0] >= start)
    new_keys = []
    for kind in ACCOMMODATION_TYPES:
        key = d.count(("new", kind), new_by_type[kind])
        t.add_at_most([key], ("hh", kind, "all"))
        new_keys.append(key)
        rows.append((kind, REGULATION_NAMES[kind], [key]))
    new_total = d.count(("new", TOTAL), sum(new_by_type.values()))
    t.add_sum(new_total, new_keys)
    rows.append(("total", TOTAL, [new_total]))
    d.sections.append(("households_new", "Households whose support began in the year, by type",
                       ["accommodation type", "households"], rows))

    def ended_in_year(e: queries.Episode) -> bool:
        last_end = firsts[e.referral.id][1]
        return last_end is not None and start <= last_end <= end and e.ended_on is not None

    stopped = [e for e in households if ended_in_year(e)]
    reasons: dict[str, Counter[str]] = defaultdict(Counter)
    for e in stopped:
        reasons[e.end_reason or NOT_RECORDED]["sanctuary scheme" if e.kind == "sanctuary"
                                               else "other safe accommodation"] += 1
    labels = [*END_REASONS, NOT_RECORDED]
    rows = []
    for label in labels:
        parts = [d.count(("stop", label, c), reasons[label][c]) for c in STOP_COLUMNS[:2]]
        both = d.count(("stop", label, "all"), sum(reasons[label].values()))
        t.add_sum(both, parts)
        rows.append((label, label.replace("_", " "), [*parts, both]))
    stop_totals = []
    for column in STOP_COLUMNS:
        key = d.count(("stop", TOTAL, column), sum(t.values[("stop", label, column)] for label in labels))
        t.add_sum(key, [("stop", label, column) for label in labels])
        stop_totals.append(key)
    t.add_sum(stop_totals[-1], stop_totals[:-1])
    rows.append(("total", TOTAL, stop_totals))
    d.sections.append(("households_stopped_by_reason", "Households whose support ended in the year, by reason",
                       ["reason", *STOP_COLUMNS], rows))

    destinations = Counter(e.destination or "unknown" for e in stopped)
    labels = sorted(set(destinations) | {"unknown"})
    keys = d.partition("dest", "households", labels, destinations, stop_totals[-1])
    d.sections.append(("destinations", "Households whose support ended in the year, by destination",
                       ["destination", "households"],
                       [(label, label.replace("_", " "), [k]) for label, k in zip(labels, keys, strict=True)]
                       + [("total", TOTAL, [stop_totals[-1]])]))

    # Households that asked for support here and could not be supported, capacity first.
    unable = Counter(await queries.unmet_requests_in_area(session, authority, start, end))
    for reason in await queries.referrals_closed_unmet(session, authority, start, end):
        unable[UNMET_TO_UNABLE.get(reason, "needs_not_met")] += 1
    keys = [d.count(("unable", r), unable[r]) for r in UNABLE_REASONS]
    unable_total = d.count(("unable", TOTAL), sum(unable.values()))
    t.add_sum(unable_total, keys)
    d.sections.append(("unable_to_support_by_reason",
                       "Households that asked for support in the area and could not be supported, by reason",
                       ["reason", "households"],
                       [(r, r.replace("_", " "), [k]) for r, k in zip(UNABLE_REASONS, keys, strict=True)]
                       + [("total", TOTAL, [unable_total])]))

    # Commissioned stock at the year's end: not about people, shown as it is.
    stock = await queries.commissioned_stock(session, authority, end)
    rows = []
    for kind in ACCOMMODATION_TYPES:
        units, bedspaces = stock.get(kind, (0, 0))
        rows.append((kind, REGULATION_NAMES[kind], [None if kind == "sanctuary" else bedspaces, units]))
    d.sections.append(("commissioned_by_type",
                       "Accommodation commissioned under Part 4 at the year's end: bed spaces, and units of "
                       "sanctuary schemes", ["accommodation type", "bedspaces", "units"], rows))

    # The lead adult's protected characteristics (Equality Act 2010), risk, and ages.
    for name in CHARACTERISTICS:
        counts = Counter(str(e.referral.equality.get(name, NOT_RECORDED)) for e in households)
        labels = sorted(counts)
        keys = d.partition(f"eq_{name}", "households", labels, counts, households_total)
        d.sections.append((f"characteristic_{name}", f"Households supported, by the lead adult's "
                           f"{name.replace('_', ' ')}", [name.replace("_", " "), "households"],
                           [(label, label.replace("_", " "), [k]) for label, k in zip(labels, keys, strict=True)]))
    risk = Counter(f"{e.referral.risk.value}, {'at' if e.referral.marac else 'not at'} MARAC" for e in households)
    labels = [f"{r}, {m} MARAC" for r in RISKS_HIGHEST_FIRST for m in ("at", "not at")]
    keys = d.partition("risk", "households", labels, risk, households_total)
    d.sections.append(("risk", "Households supported, by risk level and MARAC", ["risk", "households"],
                       [(label, label, [k]) for label, k in zip(labels, keys, strict=True)]))
    adults = d.count(("ind", "adults"), sum(t.values[("ind", TOTAL, p)] for p in PEOPLE[:-1]))
    t.add_sum(adults, [("ind", TOTAL, p) for p in PEOPLE[:-1]])
    bands = Counter(_age_band(a, False) for e in households for a in e.referral.household.get("adults", []))
    keys = d.partition("adult_age", "adults", ADULT_BANDS, bands, adults)
    d.sections.append(("adults_by_age", "Adults supported, by age group", ["age group", "adults"],
                       [(b, b, [k]) for b, k in zip(ADULT_BANDS, keys, strict=True)] + [("total", TOTAL, [adults])]))
    bands = Counter(_age_band(c, True) for e in households for c in e.referral.household.get("children", []))
    keys = d.partition("child_age", "children", CHILD_BANDS, bands, ("ind", TOTAL, "children"))
    d.sections.append(("children_by_age", "Children supported, by age group", ["age group", "children"],
                       [(b, b, [k]) for b, k in zip(CHILD_BANDS, keys, strict=True)]
                       + [("total", TOTAL, [("ind", TOTAL, "children")])]))
    return d


def render(d: _Draft, purpose: Purpose) -> list[ReturnSection]:
    """The sections as filed (exact) or as published (protected as one system)."""
    shown: dict[Hashable, Count] = dict(d.table.values) if purpose == "filing" else d.table.protect()
    sections = []
    for ident, title, columns, rows in d.sections:
        out_rows: list[list[str | int | None]] = []
        for _, label, cells in rows:
            out_rows.append([label, *(c if c is None or isinstance(c, int) else shown[c] for c in cells)])
        sections.append(ReturnSection(id=ident, title=title, columns=columns, rows=out_rows,
                                      keys=[key for key, _, _ in rows]))
    return sections


async def annual_return(session: AsyncSession, authority: str | None, year: int, purpose: Purpose = "publication"
                        ) -> AnnualReturn:
    """The return for one authority (None: all) and financial year, as filed or as published."""
    fy = periods.financial_year(year)
    names = await queries.authority_names(session)
    d = await draft(session, authority, fy)
    sections = render(d, purpose)
    households = next(s for s in sections if s.id == "households_by_type").rows[-1][1]
    return AnnualReturn(
        authority=authority,
        authority_name=names.get(authority, "All authorities") if authority else "All authorities",
        financial_year=fy.label, period=Period(fy.start, fy.end), purpose=purpose,
        households_supported=households if households is not None else 0, sections=sections,
        note=NOTE_FILING if purpose == "filing" else NOTE_PUBLICATION,
    )


def current_financial_year(today: date) -> int:
    """The year in which the financial year that contains `today` began."""
    return periods.financial_year_of(today).start.year
