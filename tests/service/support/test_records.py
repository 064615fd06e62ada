"""Records the return needs: arrivals without a referral, sanctuary support, unmet requests, subject access."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from httpx import AsyncClient

from tests.service.conftest import KIRKLEES, LEEDS, World, make_unit, scheme_body
from tests.service.inventory.test_inventory import assert_problem
from tests.service.workflow.conftest import make_referral, offer

TODAY = date.today()


def arrival_body(unit_id: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": "helpline", "from_authority": LEEDS, "unit_id": unit_id,
        "started_on": (TODAY - timedelta(days=2)).isoformat(), "risk": "high",
        "adults": [{"gender": "female", "age": 29}], "children": [{"age": 4, "sex": "female"}],
        "equality": {"ethnicity": "black", "pregnancy_maternity": "yes", "marriage_civil_partnership": "married",
                     "adults": [{"gender": "woman", "trans": "no", "characteristics": ["black_and_minoritised"]}],
                     "children": [{"characteristics": []}]},
    }
    body.update(overrides)
    return body


async def sanctuary_unit(client: AsyncClient, world: World, authority: str = KIRKLEES) -> dict[str, Any]:
    scheme = scheme_body(world.provider_id, type="sanctuary", name="Sanctuary scheme", authority=authority,
                         district="HD1" if authority == KIRKLEES else "LS1", communal=False,
                         genders=["female", "male", "non_binary"], part4_commissioned=True)
    return await make_unit(client, world, scheme=scheme, label="Home 1", bedspaces=1)


async def test_a_provider_records_a_household_that_arrived_through_the_helpline(client: AsyncClient,
                                                                                world: World) -> None:
    unit = await make_unit(client, world)
    response = await client.post("/api/v1/arrivals", json=arrival_body(unit["id"]), headers=world.auth("provider"))
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["source"] == "helpline" and made["status"] == "placed"
    placement = await client.get(f"/api/v1/placements/{made['placement_id']}", headers=world.auth("provider"))
    assert placement.status_code == 200 and placement.json()["unit_id"] == unit["id"]
    # The unit is taken: a second household cannot be put in it.
    again = await client.post("/api/v1/arrivals", json=arrival_body(unit["id"]), headers=world.auth("provider"))
    assert_problem(again, 409)
    # Another provider's unit, and an officer, are refused.
    other = await client.post("/api/v1/arrivals", json=arrival_body(unit["id"]), headers=world.auth("other_provider"))
    assert other.status_code in (403, 404)
    assert_problem(await client.post("/api/v1/arrivals", json=arrival_body(unit["id"]),
                                     headers=world.auth("officer")), 403)
    # More monitoring entries than people: refused, naming the field.
    body = arrival_body(unit["id"], equality={"adults": [{"trans": "no"}, {"trans": "yes"}]})
    assert_problem(await client.post("/api/v1/arrivals", json=body, headers=world.auth("provider")), 422,
                   "equality.adults")


async def test_sanctuary_units_are_recorded_never_offered_or_listed(client: AsyncClient, world: World) -> None:
    unit = await sanctuary_unit(client, world)
    vacancies = await client.get("/api/v1/vacancies", params={"limit": 200}, headers=world.auth("officer"))
    assert unit["id"] not in {v["unit_id"] for v in vacancies.json()["items"]}
    referral_id = await make_referral(client, world)
    assert_problem(await offer(client, world, referral_id, unit["id"]), 422, "unit_id")
    response = await client.post(f"/api/v1/referrals/{referral_id}/sanctuary",
                                 json={"unit_id": unit["id"], "started_on": TODAY.isoformat()},
                                 headers=world.auth("officer"))
    assert response.status_code == 201, response.text
    referral = await client.get(f"/api/v1/referrals/{referral_id}", headers=world.auth("officer"))
    assert referral.json()["status"] == "placed"
    ended = await client.post(f"/api/v1/placements/{response.json()['placement_id']}/end",
                              json={"ended_on": TODAY.isoformat(), "destination": "remained_in_own_home",
                                    "reason": "no_longer_needed"}, headers=world.auth("provider"))
    assert ended.status_code == 200 and ended.json()["reason"] == "no_longer_needed"
    # A refuge unit is not sanctuary.
    refuge = await make_unit(client, world)
    other = await make_referral(client, world)
    assert_problem(await client.post(f"/api/v1/referrals/{other}/sanctuary",
                                     json={"unit_id": refuge["id"], "started_on": TODAY.isoformat()},
                                     headers=world.auth("officer")), 422, "unit_id")


async def test_unmet_requests_keep_counts_and_reason_only(client: AsyncClient, world: World) -> None:
    body = {"requested_on": TODAY.isoformat(), "reason": "capacity", "source": "self", "adults": 1, "children": 2}
    response = await client.post("/api/v1/unmet-requests", json=body, headers=world.auth("provider"))
    assert response.status_code == 201, response.text
    assert response.json()["authority"] == KIRKLEES and response.json()["children"] == 2
    assert_problem(await client.post("/api/v1/unmet-requests", json={**body, "name": "Jo"},
                                     headers=world.auth("provider")), 400)
    assert_problem(await client.post("/api/v1/unmet-requests", json={**body, "reason": "full"},
                                     headers=world.auth("provider")), 400)
    assert_problem(await client.post("/api/v1/unmet-requests", json=body, headers=world.auth("officer")), 403)


async def test_assistance_dog_is_a_need_and_a_scheme_may_refuse_only_with_a_reason(client: AsyncClient,
                                                                                   world: World) -> None:
    referral_id = await make_referral(client, world, needs={"assistance_dog": True})
    read = await client.get(f"/api/v1/referrals/{referral_id}", headers=world.auth("admin"))
    assert read.json()["needs"]["assistance_dog"] is True
    scheme = scheme_body(world.provider_id, no_assistance_dog_reason="a resident has a severe dog allergy")
    created = await client.post("/api/v1/schemes", json=scheme, headers=world.auth("provider"))
    assert created.status_code == 201 and created.json()["no_assistance_dog_reason"].startswith("a resident")
    assert created.json()["part4_commissioned"] is False
    assert_problem(await client.post("/api/v1/schemes", json={**scheme, "no_assistance_dog_reason": ""},
                                     headers=world.auth("provider")), 400)


async def test_subject_access_export_holds_everything_and_is_audited(client: AsyncClient, world: World) -> None:
    unit = await make_unit(client, world)
    referral_id = await make_referral(client, world, equality={"pregnancy_maternity": "no"})
    made = (await offer(client, world, referral_id, unit["id"])).json()
    await client.post(f"/api/v1/offers/{made['id']}/accept", headers=world.auth("provider"))
    assert_problem(await client.get(f"/api/v1/referrals/{referral_id}/subject-access",
                                    headers=world.auth("officer")), 403)
    response = await client.get(f"/api/v1/referrals/{referral_id}/subject-access", headers=world.auth("admin"))
    assert response.status_code == 200, response.text
    export = response.json()
    assert export["referral"]["equality"] == {"pregnancy_maternity": "no"}
    assert export["referral"]["safety"]["perpetrator_locations"] == [{"district": "BD1"}]
    assert [o["status"] for o in export["offers"]] == ["accepted"] and len(export["placements"]) == 1
    actions = [(row["record_type"], row["action"]) for row in export["audit"]]
    assert ("referral", "create") in actions and ("offer", "accept") in actions
    assert ("placement", "create") in actions and actions[0] == ("referral", "subject_access")
    second = (await client.get(f"/api/v1/referrals/{referral_id}/subject-access", headers=world.auth("admin"))).json()
    assert sum(a == "subject_access" for _, a in
               [(r["record_type"], r["action"]) for r in second["audit"]]) == 2
