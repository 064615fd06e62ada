"""The audit trail: refused attempts, report reads, failed sign-ins and page views are rows; admin reads them."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.service.conftest import World, make_unit
from tests.service.workflow.conftest import make_referral, offer


async def trail(client: AsyncClient, world: World, record_type: str, record_id: object) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/audit", params={"record_type": record_type, "record_id": str(record_id)},
                                headers=world.auth("admin"))
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


def brief(items: list[dict[str, Any]]) -> list[tuple[str, str | None, str]]:
    return [(item["action"], item["key_name"], item["outcome"]) for item in items]


async def test_another_authoritys_probes_are_denied_rows_newest_first(client: AsyncClient, world: World) -> None:
    unit = await make_unit(client, world)
    referral_id = await make_referral(client, world)
    made = (await offer(client, world, referral_id, unit["id"])).json()
    placement_id = (await client.post(f"/api/v1/offers/{made['id']}/accept", headers=world.auth("provider"))
                    ).json()["placement_id"]

    leeds = world.auth("leeds_officer")
    assert (await client.get(f"/api/v1/referrals/{referral_id}", headers=leeds)).status_code == 404
    assert (await client.get(f"/api/v1/offers/{made['id']}", headers=world.auth("other_provider"))).status_code == 404
    assert (await client.get(f"/api/v1/placements/{placement_id}", headers=world.auth("leeds_officer"))
            ).status_code == 404
    assert (await client.post(f"/api/v1/referrals/{referral_id}/close", json={"outcome": "other", "reason": "x"},
                              headers=world.auth("provider"))).status_code == 403  # wrong role: the guard

    referral = await trail(client, world, "referral", referral_id)
    assert brief(referral)[:2] == [("close", "provider", "denied"), ("read", "leeds_officer", "denied")]
    assert ("create", "officer", "ok") in brief(referral)
    assert [item["at"] for item in referral] == sorted((item["at"] for item in referral), reverse=True)
    first = referral[0]
    assert first["record_type"] == "referral" and first["record_id"] == str(referral_id)
    assert first["role"] == "provider" and isinstance(first["key_id"], int)
    assert brief(await trail(client, world, "offer", made["id"]))[0] == ("read", "other_provider", "denied")
    assert brief(await trail(client, world, "placement", placement_id))[:2] == [
        ("read", "leeds_officer", "denied"), ("create", "provider", "ok"),
    ]


async def test_report_reads_failed_sign_ins_and_page_views_are_rows(client: AsyncClient, world: World) -> None:
    assert (await client.get("/api/v1/reports/occupancy", headers=world.auth("commissioner"))).status_code == 200
    assert (await client.get("/api/v1/reports/annual-return", headers=world.auth("national_commissioner"))
            ).status_code == 200
    assert brief(await trail(client, world, "report", "occupancy/E08000034")) == [("read", "commissioner", "ok")]
    assert brief(await trail(client, world, "report", "annual-return/all")) == [
        ("read", "national_commissioner", "ok")
    ]

    assert (await client.post("/login", data={"api_key": "sak_wrong"})).status_code == 401
    assert (await client.post("/login", data={"api_key": ""})).status_code == 401
    assert brief(await trail(client, world, "sign_in", "dashboard")) == [
        ("sign_in", None, "denied"), ("sign_in", None, "denied"),
    ]

    assert (await client.post("/login", data={"api_key": world.keys["commissioner"]})).status_code == 303
    assert (await client.get("/dashboard")).status_code == 200
    assert brief(await trail(client, world, "page", "/dashboard")) == [("view", "commissioner", "ok")]


async def test_workspace_page_views_and_refused_pages_are_rows(client: AsyncClient, world: World) -> None:
    referral_id = await make_referral(client, world)
    client.cookies.clear()
    assert (await client.post("/login", data={"api_key": world.keys["officer"]})).status_code == 303
    assert (await client.get(f"/workspace/referrals/{referral_id}")).status_code == 200
    client.cookies.clear()
    assert (await client.post("/login", data={"api_key": world.keys["leeds_officer"]})).status_code == 303
    assert (await client.get(f"/workspace/referrals/{referral_id}")).status_code == 404
    assert brief(await trail(client, world, "page", f"/workspace/referrals/{referral_id}")) == [
        ("view", "officer", "ok"),
    ]
    assert brief(await trail(client, world, "referral", referral_id))[0] == ("read", "leeds_officer", "denied")


async def test_only_admin_reads_the_trail_and_names_one_record(client: AsyncClient, world: World) -> None:
    for who in ("officer", "provider", "commissioner", "national_commissioner"):
        response = await client.get("/api/v1/audit", params={"record_type": "referral", "record_id": "1"},
                                    headers=world.auth(who))
        assert response.status_code == 403
    for params in ({}, {"record_type": "referral"}, {"record_type": "Referral; drop", "record_id": "1"},
                   {"record_type": "referral", "record_id": "x" * 41}):
        assert (await client.get("/api/v1/audit", params=params, headers=world.auth("admin"))).status_code == 400


async def test_accept_decline_withdraw_tell_a_stranger_nothing(client: AsyncClient, world: World) -> None:
    """Item 9: the same answer whether or not the offer exists, for someone who may not see it."""
    unit = await make_unit(client, world)
    referral_id = await make_referral(client, world)
    made = (await offer(client, world, referral_id, unit["id"])).json()
    missing = 2_000_000_000
    for action, body, who in (("accept", None, "other_provider"), ("decline", {"reason": "other"}, "other_provider"),
                              ("decline", {"reason": "other"}, "leeds_officer"), ("withdraw", None, "leeds_officer")):
        real = await client.post(f"/api/v1/offers/{made['id']}/{action}", json=body, headers=world.auth(who))
        absent = await client.post(f"/api/v1/offers/{missing}/{action}", json=body, headers=world.auth(who))
        assert real.status_code == absent.status_code == 404, (action, who)
        assert real.json()["title"] == absent.json()["title"]
        assert real.json()["detail"].replace(str(made["id"]), "N") == absent.json()["detail"].replace(str(missing), "N")
    # Those who may see it are still told why not.
    assert (await client.post(f"/api/v1/offers/{made['id']}/accept", headers=world.auth("officer"))).status_code == 403
