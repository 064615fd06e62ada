"""Linked households in proposals, match runs and offers: the three give the same answer for a pair."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from tests.service.conftest import World, scheme_body
from tests.service.workflow.conftest import make_referral, offer


async def _scheme_with_rooms(client: AsyncClient, world: World, name: str, rooms: int) -> list[int]:
    made = await client.post("/api/v1/schemes", json=scheme_body(world.provider_id, name=name),
                             headers=world.auth("provider"))
    assert made.status_code == 201, made.text
    ids = []
    for room in range(rooms):
        unit = await client.post(f"/api/v1/schemes/{made.json()['id']}/units",
                                 json={"label": f"Room {room + 1}", "bedspaces": 3}, headers=world.auth("provider"))
        ids.append(unit.json()["id"])
    return ids


def _reasons(run: dict[str, Any], referral: int) -> dict[str, int]:
    [left] = [u for u in run["unassigned"] if u["referral"] == referral]
    return {r["code"]: r["units_excluded"] for r in left["reasons"]}


@pytest.mark.parametrize("who_names_whom", ["the new household names the placed one", "the placed one names it"])
async def test_a_household_is_kept_out_of_the_scheme_where_a_linked_household_of_another_authority_is_offered(
    client: AsyncClient, world: World, who_names_whom: str
) -> None:
    shared = await _scheme_with_rooms(client, world, "Shared refuge", 2)
    if who_names_whom.startswith("the new"):
        leeds = await make_referral(client, world, "leeds_officer")
        kirklees = await make_referral(client, world, safety={"separate_from": [leeds]})
    else:
        kirklees = await make_referral(client, world)
        leeds = await make_referral(client, world, "leeds_officer", safety={"separate_from": [kirklees]})
    # The Leeds household is offered a room in the shared refuge: the other room is now off limits.
    assert (await offer(client, world, leeds, shared[0], who="leeds_officer")).status_code == 201

    proposals = (await client.post(f"/api/v1/referrals/{kirklees}/proposals", headers=world.auth("officer"))).json()
    assert shared[1] not in [item["unit_id"] for item in proposals["items"]]
    assert proposals["excluded"]["separation"] == 1

    run = await client.post("/api/v1/match-runs", headers=world.auth("officer"))
    assert run.status_code == 201, run.text
    assert [a for a in run.json()["assignments"] if a["referral"] == kirklees] == []
    assert _reasons(run.json(), kirklees).get("separation") == 1

    refused = await offer(client, world, kirklees, shared[1])
    assert refused.status_code == 422 and "separation" in refused.json()["codes"]
    caseload = (await client.get("/api/v1/referrals", headers=world.auth("officer"))).json()["items"]
    assert [i["suitable_now"] for i in caseload if i["id"] == kirklees] == [0]

    # A room elsewhere is fine: proposals, the match run and the offer agree on it too.
    [elsewhere] = await _scheme_with_rooms(client, world, "Other refuge", 1)
    proposals = (await client.post(f"/api/v1/referrals/{kirklees}/proposals", headers=world.auth("officer"))).json()
    assert [item["unit_id"] for item in proposals["items"]] == [elsewhere]
    run = (await client.post("/api/v1/match-runs", headers=world.auth("officer"))).json()
    assert [(a["referral"], a["unit"]) for a in run["assignments"]] == [(kirklees, elsewhere)]
    assert (await offer(client, world, kirklees, elsewhere)).status_code == 201
