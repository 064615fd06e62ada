"""Response types of the day's work that span features: the officer's caseload."""

from __future__ import annotations

from datetime import date

from msgspec import Struct


class CaseloadItem(Struct):
    """One household of an officer's caseload."""

    id: int
    status: str
    risk: str
    referred_on: date
    needed_by: date | None
    waiting_days: int
    household_size: int
    version: int
    pending_offer_id: int | None
    placement_id: int | None
    suitable_now: int
