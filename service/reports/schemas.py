"""What the commissioners' reports answer: typed, so the OpenAPI document describes every figure.

A `Count` is a count about people after suppression: a number, "<5" (1 to 4) or "x" (hidden to
protect another cell). Counts of units and bed spaces are plain integers.
"""

from __future__ import annotations

from datetime import date

from msgspec import Struct

from service.reports.suppression import Count


class Period(Struct):
    start: date
    end: date


# --- occupancy ------------------------------------------------------------------------------------


class UnitsByStatus(Struct):
    """Units by status; occupied and held units are households (placed, or offered a room), so suppressed."""

    available: int
    held: Count
    occupied: Count
    unavailable: int


class BedspacesByStatus(Struct):
    available: int
    held: int
    occupied: int
    unavailable: int


class OccupancyPoint(Struct):
    """Bed spaces of one accommodation type by status on one day (from the daily snapshot)."""

    date: date
    type: str
    available_bedspaces: int
    held_bedspaces: int
    occupied_bedspaces: int
    unavailable_bedspaces: int


class OccupancyRow(Struct):
    """One authority and accommodation type: stock now, occupancy rate, placements and stays over the period."""

    authority: str
    authority_name: str
    type: str
    type_name: str  # the accommodation type's name in SI 2021/991 reg. 2
    units: UnitsByStatus
    bedspaces: BedspacesByStatus
    occupancy_rate: float | None
    placements_started: Count
    placements_ended: Count
    average_stay_days: float | None
    median_stay_days: float | None
    turnover: float | None


class OccupancyReport(Struct):
    period: Period
    authority: str | None
    series: list[OccupancyPoint]
    by_authority_and_type: list[OccupancyRow]


class VacancyCount(Struct):
    """Available units and bed spaces of one authority and accommodation type, now."""

    authority: str
    authority_name: str
    type: str
    type_name: str  # the accommodation type's name in SI 2021/991 reg. 2
    units: int
    bedspaces: int


# --- unmet need -----------------------------------------------------------------------------------


class Outcomes(Struct):
    """Referrals, and how many of them were placed or closed unmet."""

    referrals: Count
    placed: Count
    unmet: Count


class Breakdown(Outcomes):
    """The referrals with one value of an attribute."""

    value: str


class RiskBreakdown(Outcomes):
    risk: str


class HouseholdsByReason(Struct):
    reason: str
    households: Count


class OffersByReason(Struct):
    reason: str
    offers: Count


class TimeToPlacement(Struct):
    """Days from referral to placement; the median and 90th percentile only for five placements or more."""

    placements: Count
    median: float | None
    p90: float | None


class UnmetNeedReport(Struct):
    period: Period
    authority: str | None
    referrals: Count
    placed: Count
    unmet: Count
    withdrawn: Count
    open: Count
    by_reason: list[HouseholdsByReason]
    declined_offers_by_reason: list[OffersByReason]
    by_risk: list[RiskBreakdown]
    by_characteristic: dict[str, list[Breakdown]]
    out_of_area_placements: Count
    time_to_placement_days: TimeToPlacement


# --- the annual return ----------------------------------------------------------------------------


class ReturnSection(Struct):
    """One table of the return: `rows` are `[label, value, ...]` under `columns`."""

    id: str
    title: str
    columns: list[str]
    rows: list[list[str | int | None]]
    keys: list[str] = []  # each row's code (accommodation type, reason ...), for machines


class AnnualReturn(Struct):
    authority: str | None
    authority_name: str
    financial_year: str
    period: Period
    purpose: str
    households_supported: Count
    sections: list[ReturnSection]
    note: str


# --- capacity planning ----------------------------------------------------------------------------


class Candidate(Struct):
    """A small scheme that could be commissioned: its kind of unit and where."""

    type: str
    authority: str
    district: str
    wheelchair_accessible: bool
    accepts_nrpf: bool


class RankedCandidate(Candidate):
    """A candidate scheme and how many of the period's unplaced households it would have placed or suited."""

    authority_name: str
    bedspaces: int
    households_placed: Count
    households_suited: Count


class CapacityPlan(Struct):
    period: Period
    authority: str | None
    unplaced_households: Count
    scheme_size: int
    candidates: list[RankedCandidate]
