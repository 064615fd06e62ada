"""The workspace over HTTP: every page as every role, CSRF, forms that keep what was typed and say what is
wrong in plain words, the officer's and the provider's actions, addresses only on placements, no N+1."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from httpx import AsyncClient
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.service.conftest import World, make_unit
from tests.service.workflow.conftest import make_referral, offer
from tests.service.workspace.conftest import as_role, csrf_of, errors_of, household, submit

ROLES = ("admin", "officer", "leeds_officer", "provider", "other_provider", "commissioner", "national_commissioner")
SECRET = "Secret Row"  # the test scheme's address


async def _scene(client: AsyncClient, world: World) -> dict[str, int]:
    """A placed household (offer accepted) and an open one, through the API."""
    placed_unit = await make_unit(client, world)
    open_unit = await make_unit(client, world)
    placed = await make_referral(client, world)
    waiting = await make_referral(client, world)
    accepted_offer = (await offer(client, world, placed, placed_unit["id"])).json()["id"]
    accepted = await client.post(f"/api/v1/offers/{accepted_offer}/accept", headers=world.auth("provider"))
    assert accepted.status_code == 200, accepted.text
    pending_offer = (await offer(client, world, waiting, open_unit["id"])).json()["id"]
    run = await client.post("/api/v1/match-runs", headers=world.auth("officer"))
    assert run.status_code == 201, run.text
    return {"placed": placed, "open": waiting, "accepted_offer": accepted_offer, "pending_offer": pending_offer,
            "placement": accepted.json()["placement_id"], "unit": open_unit["id"], "run": run.json()["id"]}


def _pages(ids: dict[str, int]) -> list[tuple[str, dict[str, int]]]:
    """Each page and the status each role gets: 200, 403 (not the role's page) or 404 (not in its scope)."""
    def only(*roles: str, **scoped: int) -> dict[str, int]:
        return {who: scoped.get(who, 200 if who in roles else 403) for who in ROLES}

    return [
        ("/workspace/admin", only("admin")),
        ("/workspace/keys", only("admin")),
        ("/workspace/caseload", only("admin", "officer", "leeds_officer")),
        ("/workspace/referrals/new", only("officer", "leeds_officer")),
        (f"/workspace/referrals/{ids['open']}", only("admin", "officer", leeds_officer=404)),
        (f"/workspace/referrals/{ids['open']}/edit", only("officer", leeds_officer=404)),
        (f"/workspace/referrals/{ids['open']}/proposals", only("officer", leeds_officer=404)),
        ("/workspace/offers", only("admin", "officer", "leeds_officer", "provider", "other_provider")),
        (f"/workspace/offers/{ids['pending_offer']}",
         only("admin", "officer", "provider", leeds_officer=404, other_provider=404)),
        ("/workspace/match-runs", only("admin", "officer", "leeds_officer")),
        (f"/workspace/match-runs/{ids['run']}", only("admin", "officer", leeds_officer=404)),
        ("/workspace/placements", only("admin", "officer", "leeds_officer", "provider", "other_provider")),
        (f"/workspace/placements/{ids['placement']}",
         only("admin", "officer", "provider", leeds_officer=404, other_provider=404)),
        ("/workspace/desk", only("admin", "provider", "other_provider")),
        ("/dashboard", only("admin", "commissioner", "national_commissioner")),
    ]


async def test_every_page_as_every_role_gets_what_the_api_would_give(client: AsyncClient, world: World) -> None:
    ids = await _scene(client, world)
    pages = _pages(ids)
    client.cookies.clear()
    for path, _ in pages:  # no session: to the sign-in form
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/login", path
    for who in ROLES:
        await as_role(client, world, who)
        for path, expected in pages:
            response = await client.get(path)
            assert response.status_code == expected[who], (who, path, response.status_code, response.text[:300])
            if response.status_code == 200:
                assert response.headers["content-type"].startswith("text/html")
                assert '<main id="main"' in response.text and 'class="skip-link"' in response.text
            if response.status_code in (403, 404):
                assert SECRET not in response.text and "Woman, 31" not in response.text


ACTIONS = [
    ("/workspace/referrals/new", {"officer"}),
    ("/workspace/referrals/{open}/edit", {"officer"}),
    ("/workspace/referrals/{open}/close", {"officer"}),
    ("/workspace/offers", {"officer"}),
    ("/workspace/offers/{pending_offer}/accept", {"provider"}),
    ("/workspace/offers/{pending_offer}/decline", {"provider", "officer"}),
    ("/workspace/offers/{pending_offer}/withdraw", {"officer"}),
    ("/workspace/match-runs", {"officer", "admin"}),
    ("/workspace/placements/{placement}/end", {"provider", "officer"}),
    ("/workspace/desk/confirm", {"provider", "admin"}),
    ("/workspace/units/{unit}/availability", {"provider", "admin"}),
    ("/workspace/keys/1/revoke", {"admin"}),
]


async def test_every_action_needs_its_role_and_this_sessions_csrf_token(client: AsyncClient, world: World) -> None:
    ids = await _scene(client, world)
    for who in ("admin", "officer", "provider", "commissioner"):
        await as_role(client, world, who)
        home = (await client.get("/login")).headers["location"]
        token = csrf_of((await client.get(home)).text)
        for template, allowed in ACTIONS:
            path = template.format(**ids)
            if who not in allowed:  # the wrong role: refused whatever the token
                response = await client.post(path, data={"csrf_token": token})
                assert response.status_code == 403, (who, path, response.status_code)
                continue
            for bad, headers in (("0" * 64, {}), (token, {"sec-fetch-site": "cross-site"}),
                                 (token, {"origin": "https://evil.example"})):
                response = await client.post(path, data={"csrf_token": bad}, headers=headers)
                assert response.status_code == 403 and "expired or was sent from another site" in response.text, (
                    who, path, headers)
    # Nothing was changed by any of those posts.
    assert (await client.get(f"/api/v1/offers/{ids['pending_offer']}", headers=world.auth("officer"))).json()[
        "status"] == "pending"
    await as_role(client, world, "officer")
    assert f"Offer {ids['pending_offer']} pending" in (await client.get("/workspace/caseload")).text


async def test_new_referral_says_what_is_wrong_next_to_each_field_and_keeps_what_was_typed(
    client: AsyncClient, world: World
) -> None:
    await as_role(client, world, "officer")
    response = await submit(client, "/workspace/referrals/new", "/workspace/referrals/new", household(
        risk="", **{"adult-0-age": "thirty", "child-0-age": "19", "languages": "Urdu, bn",
                    "exclude_authorities": "Leeds, Narnia", "min_distance_km": "far"}))
    assert response.status_code == 422
    errors = errors_of(response.text)
    assert set(errors) == {"risk", "adult-0-age", "child-0-age", "languages", "exclude_authorities",
                           "min_distance_km"}, errors
    assert errors["risk"] == "Choose the risk level"
    assert errors["adult-0-age"] == "Enter the age of adult 1 as a whole number"
    assert errors["child-0-age"] == "The age of child 1 must be between 0 and 17"
    assert "Narnia" in errors["exclude_authorities"] and "Urdu" in errors["languages"]
    html = response.text
    for typed in ('value="thirty"', 'value="19"', 'value="Urdu, bn"', 'value="Leeds, Narnia"', 'value="far"'):
        assert typed in html, typed
    for field in errors:  # each error next to its field, and the field says so
        assert f'id="{field}-error"' in html and 'aria-invalid="true"' in html
    assert "Expected" not in html and "$." not in html  # no validator's jargon

    # What only the service can check (a district that does not exist) comes back next to its field too.
    response = await submit(client, "/workspace/referrals/new", "/workspace/referrals/new",
                            household(perpetrator_districts="ZZ99"))
    assert response.status_code == 422 and list(errors_of(response.text)) == ["perpetrator_districts"]
    assert 'value="ZZ99"' in response.text


async def test_an_officer_registers_finds_units_offers_withdraws_and_closes(client: AsyncClient, world: World) -> None:
    unit = await make_unit(client, world)
    await as_role(client, world, "officer")
    response = await submit(client, "/workspace/referrals/new", "/workspace/referrals/new",
                            household(exclude_authorities="Leeds", needs=["interpreter_ok"]))
    assert response.status_code == 303, errors_of(response.text)
    page = response.headers["location"]
    referral_id = int(re.search(r"/workspace/referrals/(\d+)\?done=created$", page)[1])  # type: ignore[index]
    stored = (await client.get(f"/api/v1/referrals/{referral_id}", headers=world.auth("officer"))).json()
    assert stored["adults"] == [{"gender": "female", "age": 31}] and stored["children"] == [{"age": 6, "sex": "male"}]
    assert stored["safety"]["exclude_authorities"] == ["E08000035"] and stored["needs"]["interpreter_ok"] is True

    shown = (await client.get(page)).text
    assert "The household is registered." in shown and ">Find units</button>" in shown and ">Edit<" in shown
    proposals = await client.get(f"/workspace/referrals/{referral_id}/proposals")
    assert proposals.status_code == 200 and "Huddersfield refuge, Room 1" in proposals.text
    assert ">Make offer</button>" in proposals.text and SECRET not in proposals.text
    made = await submit(client, f"/workspace/referrals/{referral_id}/proposals", "/workspace/offers",
                        {"referral_id": str(referral_id), "unit_id": str(unit["id"])})
    assert made.status_code == 303 and made.headers["location"].endswith("?done=offered")
    shown = (await client.get(made.headers["location"])).text
    assert "Waiting for the provider" in shown and ">Withdraw<" in shown and SECRET not in shown
    offer_id = int(re.search(r"/workspace/offers/(\d+)", shown)[1])  # type: ignore[index]

    # A second offer for the same unit is refused in words, next to the unit.
    again = await submit(client, f"/workspace/referrals/{referral_id}", "/workspace/offers",
                         {"referral_id": str(referral_id), "unit_id": str(unit["id"])})
    assert again.status_code == 409 and "pending offer" in " ".join(errors_of(again.text).values())

    page = f"/workspace/referrals/{referral_id}"
    withdrawn = await submit(client, page, f"/workspace/offers/{offer_id}/withdraw", {})
    assert withdrawn.status_code == 303
    read = await client.get(f"/api/v1/offers/{offer_id}", headers=world.auth("officer"))
    assert read.json()["status"] == "withdrawn"

    refused = await submit(client, f"/workspace/referrals/{referral_id}", f"/workspace/referrals/{referral_id}/close",
                           {"outcome": "withdrawn"})
    assert refused.status_code == 422 and errors_of(refused.text) == {"reason": "Choose the reason"}
    closed = await submit(client, f"/workspace/referrals/{referral_id}", f"/workspace/referrals/{referral_id}/close",
                          {"outcome": "withdrawn", "reason": "household_withdrew"})
    assert closed.status_code == 303
    assert (await client.get(f"/api/v1/referrals/{referral_id}", headers=world.auth("officer"))).json()[
        "status"] == "closed"


async def test_a_provider_reads_the_household_accepts_and_ends_the_placement(client: AsyncClient, world: World) -> None:
    unit = await make_unit(client, world)
    referral_id = await make_referral(client, world)
    offer_id = (await offer(client, world, referral_id, unit["id"])).json()["id"]
    await as_role(client, world, "provider")
    listed = (await client.get("/workspace/offers")).text
    assert "Woman, 31" in listed and "Boy, 6" in listed
    page = (await client.get(f"/workspace/offers/{offer_id}")).text
    assert "Woman, 31" in page and "Boy, 6" in page and ">Accept</button>" in page and ">Decline</button>" in page
    for hidden in ("BD1", "asian", "E08000034"):  # never the safety, equality or referral's authority
        assert hidden not in page, hidden

    undecided = await submit(client, f"/workspace/offers/{offer_id}", f"/workspace/offers/{offer_id}/decline", {})
    assert undecided.status_code == 422 and errors_of(undecided.text) == {"reason": "Choose why the offer is declined"}
    accepted = await submit(client, f"/workspace/offers/{offer_id}", f"/workspace/offers/{offer_id}/accept", {})
    assert accepted.status_code == 303
    placement = accepted.headers["location"]
    shown = (await client.get(placement)).text
    assert SECRET in shown and "Offer accepted" in shown and ">End placement</button>" in shown
    placement_id = int(re.search(r"/workspace/placements/(\d+)", placement)[1])  # type: ignore[index]

    late = await submit(client, placement, f"/workspace/placements/{placement_id}/end",
                        {"ended_on": "2999-01-01", "destination": ""})
    assert late.status_code == 422
    assert set(errors_of(late.text)) == {"destination"}  # the date is checked once the form is complete
    ended = await submit(client, placement, f"/workspace/placements/{placement_id}/end",
                         {"ended_on": "", "destination": "own_tenancy"})
    assert ended.status_code == 422 and "ended_on" in errors_of(ended.text)
    assert 'value="own_tenancy" selected' in ended.text  # what was chosen is kept
    ended = await submit(client, placement, f"/workspace/placements/{placement_id}/end",
                         {"ended_on": date.today().isoformat(), "destination": "own_tenancy"})
    assert ended.status_code == 303
    assert "Own tenancy" in (await client.get("/workspace/placements?ended=true")).text


async def test_the_address_is_shown_only_on_a_placement(client: AsyncClient, world: World) -> None:
    ids = await _scene(client, world)
    for who in ("officer", "provider", "admin"):
        await as_role(client, world, who)
        for path, expected in _pages(ids):
            response = await client.get(path)
            if expected[who] == 200:
                assert (SECRET in response.text) == path.startswith("/workspace/placements/"), (who, path)


async def test_pages_forbid_inline_scripts_and_load_only_this_services_assets(
    client: AsyncClient, world: World
) -> None:
    ids = await _scene(client, world)
    for who in ("officer", "provider", "admin"):
        await as_role(client, world, who)
        for path, expected in _pages(ids):
            if expected[who] != 200:
                continue
            response = await client.get(path)
            policy = response.headers["content-security-policy"]
            scripts = re.search(r"script-src ([^;]*)", policy)[1]  # type: ignore[index]
            assert scripts == "'self'" and "default-src 'none'" in policy, path
            assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", response.text), path
            assert not re.search(r'(src|href|action)="(https?:)?//', response.text), path


async def test_the_api_reference_is_served_from_vendored_files(client: AsyncClient) -> None:
    page = await client.get("/schema/swagger")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert "/static/swagger/swagger-ui-bundle.js" in assets and "/static/swagger/swagger-ui.css" in assets
    assert "cdn" not in page.text and not re.search(r'(src|href)="https?://', page.text)
    for asset in assets:
        served = await client.get(asset)
        assert served.status_code == 200 and len(served.content) > 100, asset
    assert b"SwaggerUIBundle" in (await client.get("/static/swagger/swagger-ui-bundle.js")).content


async def test_a_match_run_gives_reasons_for_every_household_left_out(client: AsyncClient, world: World) -> None:
    await make_unit(client, world)
    placeable = await make_referral(client, world, safety={})
    stuck = await make_referral(client, world, needs={"wheelchair": True}, safety={})
    await as_role(client, world, "officer")
    run = await submit(client, "/workspace/match-runs", "/workspace/match-runs", {})
    assert run.status_code == 303, run.text[:500]
    page = (await client.get(run.headers["location"])).text
    assert f"Referral {placeable}" in page and ">Make offer<" in page
    left_out = page.split("Households left out, and why")[1]
    assert f"Referral {stuck}" in left_out and "No wheelchair-accessible unit: 1" in left_out


@contextmanager
def counted(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_list_pages_take_the_same_queries_for_two_rows_as_for_six(
    client: AsyncClient, world: World, engine: AsyncEngine
) -> None:
    lists = {"officer": ["/workspace/caseload", "/workspace/offers", "/workspace/placements?ended=false"],
             "provider": ["/workspace/desk", "/workspace/offers", "/workspace/placements"]}
    queries: dict[tuple[str, str], list[int]] = {}
    for pending in (2, 4):  # each round: more offers waiting, and one more household placed
        for number in range(pending + 1):
            unit = await make_unit(client, world)
            referral_id = await make_referral(client, world)
            made = (await offer(client, world, referral_id, unit["id"])).json()["id"]
            if number == pending:
                await client.post(f"/api/v1/offers/{made}/accept", headers=world.auth("provider"))
        for who, paths in lists.items():
            await as_role(client, world, who)
            for path in paths:
                with counted(engine) as statements:
                    assert (await client.get(path)).status_code == 200
                queries.setdefault((who, path), []).append(len(statements))
    for page, (few, many) in queries.items():
        assert few == many, (page, few, many)


async def test_edit_sends_the_version_it_showed_and_a_stale_form_is_kept_with_the_reason(
    client: AsyncClient, world: World
) -> None:
    referral_id = await make_referral(client, world)
    await as_role(client, world, "officer")
    page = f"/workspace/referrals/{referral_id}/edit"
    shown = (await client.get(page)).text
    assert 'name="version" value="1"' in shown and 'value="31"' in shown and 'value="BD1"' in shown
    assert 'value="asian" selected' not in shown  # equality answers are never shown back to an officer
    stale_token = csrf_of(shown)

    saved = await submit(client, page, page, household(risk="medium", version="1"))
    assert saved.status_code == 303 and saved.headers["location"].endswith("?done=changed")
    stored = (await client.get(f"/api/v1/referrals/{referral_id}", headers=world.auth("officer"))).json()
    assert stored["risk"] == "medium" and stored["version"] == 2

    # A second tab still showing version 1: refused, what it typed kept, and the page now carries version 2.
    late = await client.post(page, data={"csrf_token": stale_token, **dict(household(risk="standard")),
                                         "version": "1"}, headers={"sec-fetch-site": "same-origin"})
    assert late.status_code == 412
    assert "Someone else changed this since you opened it" in " ".join(errors_of(late.text).values())
    assert 'name="version" value="2"' in late.text
    assert re.search(r'name="risk" value="standard"\s+checked', late.text)
    assert (await client.get(f"/api/v1/referrals/{referral_id}", headers=world.auth("officer"))).json()[
        "risk"] == "medium"
    again = await submit(client, page, page, household(risk="standard", version="2"))
    assert again.status_code == 303
    kept = (await client.get(f"/api/v1/referrals/{referral_id}", headers=world.auth("admin"))).json()["equality"]
    assert kept["ethnicity"] == "asian"  # left alone on the form: unchanged


async def test_admin_revokes_a_key_and_its_sessions_end(client: AsyncClient, world: World) -> None:
    await as_role(client, world, "provider")
    provider_cookie = dict(client.cookies)
    await as_role(client, world, "admin")
    page = (await client.get("/workspace/keys")).text
    assert world.keys["provider"] not in page and world.keys["provider"][:12] in page  # the prefix, never the key
    key_id = re.search(r'<tr id="key-(\d+)"[^>]*>\s*<th scope="row">provider</th>', page)[1]  # type: ignore[index]
    revoked = await submit(client, "/workspace/keys", f"/workspace/keys/{key_id}/revoke", {})
    assert revoked.status_code == 303
    assert "The key is revoked" in (await client.get(revoked.headers["location"])).text
    client.cookies.clear()
    client.cookies.update(provider_cookie)
    assert (await client.get("/workspace/desk")).headers["location"] == "/login"
    assert (await client.get("/api/v1/schemes", headers=world.auth("provider"))).status_code == 401
