"""The dashboard over HTTP: sign-in by form, the session cookie, the page, its assets and the downloads."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import timedelta

from httpx import ASGITransport, AsyncClient
from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.access.models import ApiKey
from service.app import create_app
from service.dashboard.models import DashboardSession
from service.db import utcnow
from service.settings import Settings
from tests.service.conftest import KIRKLEES, LEEDS, World
from tests.service.dashboard.conftest import assets, seed_figures, sign_in, signed_in

COOKIE = "safeaccom_dashboard"
CHARTS = ("occupancy", "vacancies", "unmet-reasons", "unmet-characteristic")


async def test_login_form_has_one_labelled_field_named_api_key(client: AsyncClient) -> None:
    response = await client.get("/login")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = assets(response.text)
    assert [field.get("name") for field in page.inputs] == ["api_key"]
    assert page.inputs[0]["type"] == "password" and page.inputs[0]["id"] == "api_key"
    assert "api_key" in page.labels
    assert '<form method="post" action="/login"' in response.text  # the key travels in a body, never a URL


async def test_sign_in_sets_an_httponly_samesite_strict_session_cookie(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    response = await sign_in(client, world.keys["commissioner"])
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite", "path"} <= attributes and "secure" not in attributes
    assert "samesite=strict" in cookie.lower() and "Path=/" in cookie
    token = response.cookies[COOKIE]
    assert world.keys["commissioner"] not in cookie and world.keys["commissioner"] not in response.headers["location"]
    async with session_maker() as session:
        stored = (await session.scalars(select(DashboardSession))).all()
    assert [row.token_hash for row in stored] == [hashlib.sha256(token.encode()).hexdigest()]  # only the digest
    assert timedelta(hours=7) < stored[0].expires_at - utcnow() <= timedelta(hours=8)
    again = await client.get("/login")  # signed in: straight to the dashboard
    assert again.status_code == 303 and again.headers["location"] == "/dashboard"
    await sign_in(client, world.keys["commissioner"])  # signing in again replaces the session
    async with session_maker() as session:
        assert len((await session.scalars(select(DashboardSession))).all()) == 1


async def test_the_cookie_is_secure_when_the_service_is_behind_https(
    world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    app = create_app(Settings(run_scheduler=False, secure_cookies=True), session_maker=session_maker)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="https://testserver") as client:
        response = await sign_in(client, world.keys["admin"])
    assert response.status_code == 303
    assert "secure" in {part.strip().lower() for part in response.headers["set-cookie"].split(";")}


async def test_admin_and_all_authority_commissioners_may_sign_in(client: AsyncClient, world: World) -> None:
    for who in ("admin", "national_commissioner"):
        response = await sign_in(client, world.keys[who])
        assert response.status_code == 303, who


async def test_unknown_keys_get_the_form_again_without_the_key(client: AsyncClient) -> None:
    for key in ("sak_not-a-real-key-at-all", ""):
        response = await sign_in(client, key)
        assert response.status_code == 401, key
        assert "set-cookie" not in response.headers
        assert 'name="api_key"' in response.text and 'role="alert"' in response.text
        if key:
            assert key not in response.text
    assert COOKIE not in client.cookies


async def test_every_role_signs_in_at_the_same_form_and_lands_on_its_home(client: AsyncClient, world: World) -> None:
    homes = {"commissioner": "/dashboard", "national_commissioner": "/dashboard", "admin": "/workspace/admin",
             "officer": "/workspace/caseload", "provider": "/workspace/desk"}
    for who, home in homes.items():
        client.cookies.clear()
        response = await sign_in(client, world.keys[who])
        assert response.status_code == 303 and response.headers["location"] == home, who
        assert (await client.get("/login")).headers["location"] == home, who


async def test_officers_and_providers_are_signed_in_but_the_dashboard_is_not_theirs(
    client: AsyncClient, world: World
) -> None:
    for who in ("officer", "provider"):
        client.cookies.clear()
        await signed_in(client, world, who)
        for path in ("/dashboard", "/dashboard/annual-return.csv"):
            response = await client.get(path)
            assert response.status_code == 403 and "chart-occupancy" not in response.text, (who, path)
            assert "commissioners and administrators" in response.text


async def test_a_sign_in_posted_from_another_site_is_refused(client: AsyncClient, world: World) -> None:
    response = await sign_in(client, world.keys["commissioner"], origin="https://evil.example")
    assert response.status_code == 403 and "set-cookie" not in response.headers


async def test_without_a_session_every_dashboard_route_redirects_to_login(client: AsyncClient) -> None:
    for path in ("/dashboard", "/dashboard/annual-return.csv", "/dashboard/annual-return.xlsx",
                 "/dashboard/annual-return.json"):
        for cookies in ({}, {COOKIE: "forged-token"}):
            client.cookies.clear()
            client.cookies.update(cookies)
            response = await client.get(path)
            assert response.status_code == 303 and response.headers["location"] == "/login", path


async def test_a_bearer_key_alone_does_not_open_the_dashboard(client: AsyncClient, world: World) -> None:
    response = await client.get("/dashboard", headers=world.auth("admin"))
    assert response.status_code == 303 and response.headers["location"] == "/login"


async def test_the_dashboard_shows_every_chart_with_its_figures(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    await seed_figures(client, world, session_maker)
    await signed_in(client, world)
    response = await client.get("/dashboard")
    assert response.status_code == 200, response.text
    html = response.text
    page = assets(html)
    assert sorted(c["id"] for c in page.canvases) == sorted(f"chart-{name}" for name in CHARTS)
    for canvas in page.canvases:  # each chart has a text alternative
        assert canvas["role"] == "img" and len(canvas["aria-label"] or "") > 20
    data = json.loads(re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, re.S)[1])
    charts = {chart["id"]: chart for chart in data}
    assert set(charts) == set(CHARTS)
    occupancy = charts["occupancy"]
    assert len(occupancy["labels"]) == 7 and occupancy["datasets"][0]["label"] == "Occupied"
    vacancies = charts["vacancies"]
    assert vacancies["labels"] == ["Kirklees"]  # a commissioner of Kirklees sees Kirklees only
    assert vacancies["datasets"][0]["data"] == [6.0]  # three available units of two bed spaces
    reasons = charts["unmet-reasons"]
    households = dict(zip(reasons["labels"], reasons["datasets"][0]["data"], strict=True))
    # two cells are hidden ("<5"), so none more needs hiding and the six show
    assert households == {"Age limit for boys": None, "Language": None, "No wheelchair-accessible unit": 6.0}
    assert "Huddersfield" not in html and "Secret Row" not in html  # no scheme names or addresses
    assert "Kirklees" in html and "Median wait" in html and "Capacity planning" in html
    for fmt in ("xlsx", "csv", "json"):
        assert f'href="/dashboard/annual-return.{fmt}?year=' in html


async def test_counts_below_five_read_lt5_and_are_gaps_in_the_charts(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    await seed_figures(client, world, session_maker)
    await signed_in(client, world)
    html = (await client.get("/dashboard")).text
    assert re.search(r"<th scope=\"row\">Age limit for boys</th><td class=\"num\">&lt;5</td>", html)
    assert "left out of the chart (a gap, not a bar)" in html
    for n in (1, 2, 3, 4):  # no unsuppressed small count in the headline figures
        assert f"<dd>{n}</dd>" not in html


async def test_every_asset_the_page_loads_is_served_by_the_service(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    await seed_figures(client, world, session_maker)
    await signed_in(client, world)
    response = await client.get("/dashboard")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    urls = [url for url in assets(response.text).urls if not url.startswith(("#", "data:"))]
    assert urls and all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assert not re.search(r"https?://", response.text)
    for url in (u for u in urls if u.startswith("/static/")):
        served = await client.get(url)
        assert served.status_code == 200, url
    chart_js = await client.get("/static/chart.umd.min.js")
    assert chart_js.text.startswith("/*!\n * Chart.js v4") and "MIT License" in chart_js.text[:300]


async def test_a_commissioner_bound_to_one_authority_sees_only_that_one(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    await signed_in(client, world)
    page = await client.get("/dashboard")
    options = re.findall(r'<option value="(E\d{8})"', page.text)
    assert options == [KIRKLEES]
    other = await client.get("/dashboard", params={"authority": LEEDS})
    assert other.status_code == 403 and "own authority" in other.text and "chart-occupancy" not in other.text
    download = await client.get("/dashboard/annual-return.json", params={"authority": LEEDS})
    assert download.status_code == 403


async def test_admin_chooses_an_authority_and_a_period(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    await seed_figures(client, world, session_maker)
    await signed_in(client, world, "admin")
    everyone = await client.get("/dashboard")
    assert '<option value="" selected>All authorities</option>' in everyone.text
    assert len(re.findall(r'<option value="E\d{8}"', everyone.text)) > 100
    leeds = await client.get("/dashboard", params={"authority": LEEDS, "start": "2026-04-02", "end": "2026-06-30"})
    assert leeds.status_code == 200
    # Periods are fixed (calendar quarters, financial years): the window widens to April-June.
    assert f'<option value="{LEEDS}" selected>' in leeds.text and 'value="2026-04-01"' in leeds.text
    assert "1 April 2026 to 30 June 2026" in leeds.text
    spanning = await client.get("/dashboard", params={"start": "2026-01-01", "end": "2026-06-30"})
    assert spanning.status_code == 422 and "one period" in spanning.text
    bad = await client.get("/dashboard", params={"start": "2026-07-01", "end": "2026-01-01"})
    assert bad.status_code == 422 and "start" in bad.text and 'role="alert"' in bad.text
    garbled = await client.get("/dashboard", params={"start": "yesterday"})
    assert garbled.status_code == 422 and "YYYY-MM-DD" in garbled.text


async def test_sign_out_ends_the_session(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    token = await signed_in(client, world)
    assert (await client.get("/dashboard")).status_code == 200
    response = await client.post("/logout")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert "Max-Age=0" in response.headers["set-cookie"]
    client.cookies.clear()
    client.cookies[COOKIE] = token  # the old cookie, replayed
    assert (await client.get("/dashboard")).status_code == 303
    async with session_maker() as session:
        assert (await session.scalars(select(DashboardSession))).all() == []


async def test_expired_sessions_and_revoked_keys_end_the_session(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    await signed_in(client, world)
    async with session_maker() as session, session.begin():
        await session.execute(update(DashboardSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert (await client.get("/dashboard")).status_code == 303
    await signed_in(client, world, "admin")
    assert (await client.get("/dashboard")).status_code == 200
    async with session_maker() as session, session.begin():
        await session.execute(update(ApiKey).where(ApiKey.name == "admin").values(revoked_at=utcnow()))
    assert (await client.get("/dashboard")).status_code == 303


async def test_the_annual_return_downloads_in_three_formats(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    await seed_figures(client, world, session_maker)
    await signed_in(client, world)
    year = str(financial_year_now())
    xlsx = await client.get("/dashboard/annual-return.xlsx", params={"year": year})
    assert xlsx.status_code == 200
    assert xlsx.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert xlsx.headers["content-disposition"].startswith("attachment; filename=") and ".xlsx" in xlsx.headers[
        "content-disposition"]
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and "annual return" in str(sheet["A1"].value)
    csv_file = await client.get("/dashboard/annual-return.csv", params={"year": year})
    assert csv_file.status_code == 200 and csv_file.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_file.headers["content-disposition"]
    assert next(csv.reader(io.StringIO(csv_file.text)))[0].startswith("Safe accommodation annual return")
    as_json = await client.get("/dashboard/annual-return.json", params={"year": year})
    assert as_json.status_code == 200 and as_json.headers["content-type"].startswith("application/json")
    assert as_json.json()["authority"] == KIRKLEES and as_json.json()["sections"]
    assert "attachment" in as_json.headers["content-disposition"]
    bad = await client.get("/dashboard/annual-return.csv", params={"year": "last"})
    assert bad.status_code == 422


def financial_year_now() -> int:
    today = utcnow().date()
    return today.year if today.month >= 4 else today.year - 1
