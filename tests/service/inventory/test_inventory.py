"""Providers, schemes and units through the HTTP API, with every role and scope refusal."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.service.conftest import KIRKLEES, World, make_unit, scheme_body

Client = AsyncClient


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    if field is not None:
        fields = [error["field"] for error in problem["errors"]]
        assert any(f == field or f.startswith((f"{field}[", f"{field}.")) for f in fields), problem
    return problem


async def test_admin_registers_a_provider(client: Client, world: World) -> None:
    response = await client.post("/api/v1/providers", json={"name": "Kirklees Refuge", "authority": KIRKLEES},
                                 headers=world.auth("admin"))
    assert response.status_code == 201
    assert response.json()["name"] == "Kirklees Refuge" and response.json()["id"] > 0


async def test_only_admin_registers_providers(client: Client, world: World) -> None:
    body = {"name": "X", "authority": KIRKLEES}
    for who in ("officer", "provider", "commissioner"):
        assert_problem(await client.post("/api/v1/providers", json=body, headers=world.auth(who)), 403)
    assert_problem(await client.post("/api/v1/providers", json=body), 401)
    assert_problem(await client.post("/api/v1/providers", json=body,
                                     headers={"Authorization": "Bearer sak_not-a-key"}), 401)


async def test_provider_input_is_validated_by_field(client: Client, world: World) -> None:
    admin = world.auth("admin")
    assert_problem(await client.post("/api/v1/providers", json={"name": "X", "authority": "E99999999"},
                                     headers=admin), 422, "authority")
    assert_problem(await client.post("/api/v1/providers", json={"authority": KIRKLEES}, headers=admin), 400, "name")
    assert_problem(await client.post("/api/v1/providers", json={"name": "x" * 201, "authority": KIRKLEES},
                                     headers=admin), 400, "name")
    assert_problem(await client.post("/api/v1/providers", content=b'{"name": "X",', headers=admin), 400)


async def test_provider_registers_its_own_scheme_without_the_address_echoed(client: Client, world: World) -> None:
    response = await client.post("/api/v1/schemes", json=scheme_body(world.provider_id), headers=world.auth("provider"))
    assert response.status_code == 201
    scheme = response.json()
    assert "address" not in scheme and "Secret Row" not in response.text
    assert scheme["district"] == "HD1" and scheme["authority"] == KIRKLEES and scheme["languages"] == ["en", "ur"]


async def test_scheme_scope_and_roles(client: Client, world: World) -> None:
    body = scheme_body(world.other_provider_id)
    assert_problem(await client.post("/api/v1/schemes", json=body, headers=world.auth("provider")), 403)
    assert_problem(await client.post("/api/v1/schemes", json=body, headers=world.auth("officer")), 403)
    assert_problem(await client.post("/api/v1/schemes", json=body, headers=world.auth("commissioner")), 403)
    assert (await client.post("/api/v1/schemes", json=body, headers=world.auth("admin"))).status_code == 201


async def test_scheme_validation_names_the_field(client: Client, world: World) -> None:
    auth = world.auth("provider")
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"type": "castle"}, 400, "type"),
        ({"genders": ["wizard"]}, 400, "genders"),
        ({"specialisms": ["astrology"]}, 400, "specialisms"),
        ({"max_boy_age": -1}, 400, "max_boy_age"),
        ({"address": "x" * 501}, 400, "address"),
        ({"district": "ZZ99"}, 422, "district"),
        ({"authority": "E00000000"}, 422, "authority"),
        ({"lat": 53.6, "lon": -1.8}, 400, "lat"),  # precise coordinates are not collected
        ({"specialist_only": True, "specialisms": []}, 422, "specialisms"),
        ({"colour": "blue"}, 400, "colour"),
        ({"name": "Refuge\u0000"}, 400, "name"),
        ({"address": "1 Row\u0000"}, 400, "address"),
    ]
    for override, status, field in cases:
        problem = assert_problem(
            await client.post("/api/v1/schemes", json=scheme_body(world.provider_id, **override), headers=auth),
            status, field or None,
        )
        assert "Traceback" not in str(problem)
    other_provider = scheme_body(world.provider_id) | {"provider_id": 999999}
    assert_problem(await client.post("/api/v1/schemes", json=other_provider, headers=auth), 403)
    assert_problem(await client.post("/api/v1/schemes", json=other_provider, headers=world.auth("admin")),
                   422, "provider_id")


async def test_units_are_added_by_the_owning_provider(client: Client, world: World) -> None:
    unit = await make_unit(client, world, bedspaces=4, wheelchair_accessible=True)
    assert unit["status"] == "available" and unit["version"] == 1 and unit["bedspaces"] == 4
    other = await make_unit(client, world, who="admin", scheme=scheme_body(world.other_provider_id))
    response = await client.post(f"/api/v1/schemes/{other['scheme_id']}/units",
                                 json={"label": "R", "bedspaces": 1}, headers=world.auth("provider"))
    assert_problem(response, 403)
    assert_problem(await client.post("/api/v1/schemes/999999/units", json={"label": "R", "bedspaces": 1},
                                     headers=world.auth("admin")), 404)
    assert_problem(await client.post(f"/api/v1/schemes/{unit['scheme_id']}/units",
                                     json={"label": "R", "bedspaces": 0}, headers=world.auth("provider")),
                   400, "bedspaces")
    assert_problem(await client.post(f"/api/v1/schemes/{unit['scheme_id']}/units",
                                     json={"label": "R", "bedspaces": "two"}, headers=world.auth("provider")),
                   400, "bedspaces")


async def test_authorities_list_councils_and_neighbours(client: Client, world: World) -> None:
    for who in ("admin", "officer", "provider", "commissioner"):
        response = await client.get("/api/v1/authorities", headers=world.auth(who))
        assert response.status_code == 200
    authorities = {a["code"]: a for a in response.json()["items"]}
    kirklees = authorities[KIRKLEES]
    assert kirklees["name"] == "Kirklees"
    assert {"E08000033", "E08000032", "E08000035", "E08000036", "E08000016", "E08000004"} <= set(
        kirklees["neighbours"]
    )
    assert KIRKLEES in authorities["E08000033"]["neighbours"]  # symmetric
    assert_problem(await client.get("/api/v1/authorities"), 401)

    # Every council on one page by default; smaller pages, in code order, add up to the same list.
    whole = response.json()
    assert whole["total"] == len(whole["items"]) > 300 and whole["offset"] == 0
    auth = world.auth("officer")
    first = (await client.get("/api/v1/authorities", params={"limit": 1}, headers=auth)).json()
    assert first["items"] == whole["items"][:1] and first["total"] == whole["total"] and first["limit"] == 1
    paged = (await client.get("/api/v1/authorities", params={"limit": 100, "offset": 200}, headers=auth)).json()
    assert paged["items"] == whole["items"][200:300]
    assert [a["code"] for a in whole["items"]] == sorted(authorities)
    beyond = (await client.get("/api/v1/authorities", params={"offset": 10_000}, headers=auth)).json()
    assert beyond["items"] == [] and beyond["total"] == whole["total"]
    for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}):
        assert_problem(await client.get("/api/v1/authorities", params=bad, headers=auth), 400, next(iter(bad)))


async def test_health_and_ready(client: Client) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    assert (await client.get("/ready")).status_code == 200


async def test_ids_beyond_the_database_range_are_bad_input(client: Client, world: World) -> None:
    huge = 99_999_999_999
    for method, path in [("GET", f"/api/v1/units/{huge}"), ("PUT", f"/api/v1/units/{huge}/availability"),
                         ("GET", f"/api/v1/referrals/{huge}"), ("POST", f"/api/v1/offers/{huge}/accept"),
                         ("GET", f"/api/v1/placements/{huge}"), ("POST", f"/api/v1/schemes/{huge}/units")]:
        response = await client.request(method, path, json={"status": "available", "label": "x", "bedspaces": 1},
                                         headers=world.auth("admin"))
        assert response.status_code in (400, 403, 404), (path, response.status_code)
        assert response.status_code != 500
