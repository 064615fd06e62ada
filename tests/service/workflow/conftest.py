"""Helpers for the referral-to-placement tests."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from httpx import AsyncClient

from tests.service.conftest import World

TODAY = date.today()


def referral_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "risk": "high", "marac": True, "referred_on": (TODAY - timedelta(days=3)).isoformat(),
        "adults": [{"gender": "female", "age": 31}],
        "children": [{"age": 6, "sex": "male"}],
        "needs": {"languages": ["ur"], "interpreter_ok": True},
        "safety": {"perpetrator_locations": [{"district": "BD1"}], "min_distance_km": 10},
        "equality": {"sex": "female", "ethnicity": "asian", "age_band": "25-34", "religion": "prefer_not_to_say"},
    }
    body.update(overrides)
    return body


async def make_referral(client: AsyncClient, world: World, who: str = "officer", **overrides: Any) -> int:
    response = await client.post("/api/v1/referrals", json=referral_body(**overrides), headers=world.auth(who))
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "open"
    return int(response.json()["id"])


async def offer(client: AsyncClient, world: World, referral_id: int, unit_id: int, who: str = "officer") -> Any:
    return await client.post("/api/v1/offers", json={"referral_id": referral_id, "unit_id": unit_id},
                             headers=world.auth(who))
