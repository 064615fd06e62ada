"""Registering, listing and deleting webhooks: scopes per role, the secret shown once, fields named."""

from __future__ import annotations

from typing import Any

from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.app import create_app
from service.settings import Settings
from tests.service.conftest import KIRKLEES, LEEDS, World

URL = "https://hooks.example.org/safeaccom"


async def _create(client: AsyncClient, world: World, who: str, **body: Any) -> Any:
    return await client.post("/api/v1/webhooks", json={"url": URL, "events": ["offer.created"], **body},
                             headers=world.auth(who))


async def test_provider_registers_for_its_own_provider_and_sees_the_secret_once(
    client: AsyncClient, world: World
) -> None:
    response = await _create(client, world, "provider", events=["offer.created", "offer.expired", "offer.created"])
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["provider_id"] == world.provider_id and created["authority"] is None
    assert created["events"] == ["offer.created", "offer.expired"]
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40

    listed = (await client.get("/api/v1/webhooks", headers=world.auth("provider"))).json()
    assert [w["id"] for w in listed["items"]] == [created["id"]] and listed["total"] == 1
    assert "secret" not in listed["items"][0]
    assert created["secret"] not in (await client.get("/api/v1/webhooks", headers=world.auth("admin"))).text

    # Another provider neither sees nor deletes it; the owner does, once.
    other = (await client.get("/api/v1/webhooks", headers=world.auth("other_provider"))).json()
    assert other["items"] == [] and other["total"] == 0
    path = f"/api/v1/webhooks/{created['id']}"
    assert (await client.delete(path, headers=world.auth("other_provider"))).status_code == 404
    assert (await client.delete(path, headers=world.auth("leeds_officer"))).status_code == 404
    assert (await client.delete(path, headers=world.auth("provider"))).status_code == 204
    assert (await client.delete(path, headers=world.auth("provider"))).status_code == 404
    assert (await client.get("/api/v1/webhooks", headers=world.auth("provider"))).json()["total"] == 0


async def test_provider_cannot_register_for_someone_else(client: AsyncClient, world: World) -> None:
    response = await _create(client, world, "provider", provider_id=world.other_provider_id)
    assert response.status_code == 403, response.text
    response = await _create(client, world, "provider", authority=KIRKLEES)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "authority"


async def test_officers_register_for_their_authority_only(client: AsyncClient, world: World) -> None:
    response = await _create(client, world, "officer")
    assert response.status_code == 201, response.text
    assert response.json()["authority"] == KIRKLEES and response.json()["provider_id"] is None
    assert (await _create(client, world, "officer", authority=LEEDS)).status_code == 403
    assert (await _create(client, world, "officer", provider_id=world.provider_id)).status_code == 422

    # The Kirklees commissioner shares the authority's webhooks; Leeds sees none of them.
    kirklees = (await client.get("/api/v1/webhooks", headers=world.auth("commissioner"))).json()
    assert [w["id"] for w in kirklees["items"]] == [response.json()["id"]]
    assert (await client.get("/api/v1/webhooks", headers=world.auth("leeds_officer"))).json()["total"] == 0


async def test_national_commissioner_and_admin_name_the_owner(client: AsyncClient, world: World) -> None:
    missing = await _create(client, world, "national_commissioner")
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "authority"
    assert (await _create(client, world, "national_commissioner", authority=LEEDS)).json()["authority"] == LEEDS

    neither = await _create(client, world, "admin")
    assert neither.status_code == 422 and neither.json()["errors"][0]["field"] == "provider_id"
    both = await _create(client, world, "admin", provider_id=world.provider_id, authority=KIRKLEES)
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "authority"
    unknown = await _create(client, world, "admin", provider_id=2_000_000_000)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "provider_id"
    made = await _create(client, world, "admin", provider_id=world.other_provider_id)
    assert made.status_code == 201 and made.json()["provider_id"] == world.other_provider_id
    assert (await client.get("/api/v1/webhooks", headers=world.auth("other_provider"))).json()["total"] == 1


async def test_bad_input_names_the_field(client: AsyncClient, world: World) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"url": "ftp://hooks.example.org/x"}, "url"),
        ({"url": "https:///no-host"}, "url"),
        ({"url": "https://user:pw@hooks.example.org/x"}, "url"),
        ({"url": "https://hooks.example.org/" + "x" * 500}, "url"),
        ({"events": ["offer.exploded"]}, "events"),
        ({"events": []}, "events"),
        ({"colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = await _create(client, world, "provider", **body)
        assert response.status_code in (400, 422), (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        fields = [e["field"] for e in response.json()["errors"]]
        assert any(f.startswith(field) for f in fields), (body, fields)


async def test_a_key_is_required(client: AsyncClient) -> None:
    assert (await client.get("/api/v1/webhooks")).status_code == 401
    assert (await client.post("/api/v1/webhooks", json={"url": URL, "events": ["offer.created"]})).status_code == 401


async def test_addresses_inside_the_network_are_refused_unless_allowed(
    world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    app = create_app(Settings(run_scheduler=False), session_maker=session_maker)  # the default: not allowed
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as strict:
        for url in ("http://127.0.0.1:8080/hook", "http://169.254.169.254/latest/meta-data", "https://10.1.2.3/x",
                    "http://localhost/hook", "http://[::1]/hook", "https://192.168.0.5/hook"):
            response = await strict.post("/api/v1/webhooks", json={"url": url, "events": ["offer.created"]},
                                         headers=world.auth("provider"))
            assert response.status_code == 422, url
            assert response.json()["errors"][0]["field"] == "url"
        public = await strict.post("/api/v1/webhooks", json={"url": "https://hooks.example.org/safeaccom",
                                                              "events": ["offer.created"]},
                                   headers=world.auth("provider"))
        assert public.status_code == 201
