"""The service's vocabulary: defined once, and every word of it has what the pages need."""

from __future__ import annotations

from optimiser.vocabulary import REASON_CODES
from service.dashboard.service import REASON_NAMES
from service.vocabulary import ADULT_BANDS, CHILD_BANDS, UNMET_REASONS, adult_age_band, child_age_band


def test_every_reason_a_household_is_left_out_or_closed_unmet_has_a_name_on_the_dashboard() -> None:
    assert set(REASON_CODES) | UNMET_REASONS <= set(REASON_NAMES)


def test_age_bands_cover_every_age_once_at_their_edges() -> None:
    assert [adult_age_band(age) for age in (16, 17, 18, 24, 25, 34, 35, 64, 65, 120)] == [
        "16-17", "16-17", "18-24", "18-24", "25-34", "25-34", "35-44", "55-64", "65+", "65+"]
    assert [child_age_band(age) for age in (0, 4, 5, 10, 11, 15, 16, 17)] == [
        "0-4", "0-4", "5-10", "5-10", "11-15", "11-15", "16-17", "16-17"]
    assert {adult_age_band(age) for age in range(16, 121)} == set(ADULT_BANDS)
    assert {child_age_band(age) for age in range(18)} == set(CHILD_BANDS)
