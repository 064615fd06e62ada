"""Commissioners' reports through the API: figures, formats, suppression, who may see them."""

from __future__ import annotations

import csv
import io
from typing import Any

from httpx import AsyncClient
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db import utcnow
from service.reports import periods
from service.reports import service as reports
from service.reports.service import current_financial_year
from tests.disclosure import assert_nothing_disclosed
from tests.service.conftest import CALDERDALE, KIRKLEES, LEEDS, World, make_unit, scheme_body
from tests.service.inventory.test_inventory import assert_problem
from tests.service.workflow.conftest import make_referral, offer

TODAY = utcnow().date()


async def place(client: AsyncClient, world: World, *, away: bool = False, **referral: Any) -> int:
    scheme = scheme_body(world.provider_id, authority=CALDERDALE, district="HX1") if away else None
    unit = await make_unit(client, world, scheme=scheme)
    referral_id = await make_referral(client, world, **referral)
    made = (await offer(client, world, referral_id, unit["id"])).json()
    accepted = await client.post(f"/api/v1/offers/{made['id']}/accept", headers=world.auth("provider"))
    assert accepted.status_code == 200
    return referral_id


async def unmet(client: AsyncClient, world: World, reason: str, **referral: Any) -> int:
    referral_id = await make_referral(client, world, **referral)
    closed = await client.post(f"/api/v1/referrals/{referral_id}/close", json={"outcome": "unmet", "reason": reason},
                               headers=world.auth("officer"))
    assert closed.status_code == 200
    return referral_id


async def report(client: AsyncClient, world: World, name: str, who: str = "commissioner", **params: Any) -> Any:
    response = await client.get(f"/api/v1/reports/{name}", params=params, headers=world.auth(who))
    assert response.status_code == 200, response.text
    return response.json()


async def test_unmet_need_by_reason_risk_and_characteristic_with_suppression(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession],
) -> None:
    for _ in range(6):
        await unmet(client, world, "wheelchair", needs={"wheelchair": True})
    for _ in range(7):
        await unmet(client, world, "nrpf", risk="medium", equality={"ethnicity": "white"})
    for _ in range(2):
        await unmet(client, world, "boy_age")
    for _ in range(5):
        await place(client, world, equality={"ethnicity": "white"})
    await place(client, world, away=True)
    declined_unit = await make_unit(client, world)
    declined_referral = await make_referral(client, world)
    made = (await offer(client, world, declined_referral, declined_unit["id"])).json()
    await client.post(f"/api/v1/offers/{made['id']}/decline", json={"reason": "risk_too_high"},
                      headers=world.auth("provider"))

    need = await report(client, world, "unmet-need", period=periods.financial_year_of(TODAY).label)
    assert need["authority"] == KIRKLEES

    def shown_or_hidden(value: object, truth: int) -> bool:  # shown cells are true; hidden ones are labelled
        return value == truth or (value == "<5" and truth <= 4) or (value == "x" and truth >= 5)

    assert shown_or_hidden(need["referrals"], 6 + 7 + 2 + 6 + 1) and shown_or_hidden(need["unmet"], 15)
    assert need["open"] == "<5"  # the 1 still open
    by_reason = {row["reason"]: row["households"] for row in need["by_reason"]}
    assert by_reason["boy_age"] == "<5" and by_reason["wheelchair"] != 6  # 15 - 7 - 2 would give the 6 away
    assert shown_or_hidden(by_reason["nrpf"], 7)
    assert need["declined_offers_by_reason"] == [{"reason": "risk_too_high", "offers": "<5"}]
    assert [row["risk"] for row in need["by_risk"]] == ["high", "medium", "standard"]
    assert need["out_of_area_placements"] == "<5"
    assert need["time_to_placement_days"]["median"] == 3.0
    text = str(need)
    for n in (1, 2, 3, 4):
        assert f"': {n}," not in text and f"': {n}}}" not in text, f"an unsuppressed {n} in {text}"
    # The published figures pin no hidden cell down: the year's, and each of its quarters'.
    year = periods.financial_year_of(TODAY)
    async with session_maker() as session:
        for period in (year, *periods.quarters_in(year)):
            table, shown = await reports.protected(reports._unmet_builder(session, KIRKLEES), period.start, period.end)
            assert_nothing_disclosed(table.values, shown, table.relations)


async def test_occupancy_from_snapshots_and_placements(client: AsyncClient, world: World) -> None:
    for _ in range(5):
        await place(client, world)
    await make_unit(client, world, bedspaces=4)
    occupancy = await report(client, world, "occupancy", period=periods.quarter_of(TODAY).label)
    row = next(r for r in occupancy["by_authority_and_type"] if r["authority"] == KIRKLEES and r["type"] == "refuge")
    assert row["units"]["occupied"] >= 5 and row["bedspaces"]["available"] >= 4
    assert row["placements_started"] == 5 and row["placements_ended"] == 0
    assert 0 < row["occupancy_rate"] <= 1


async def test_annual_return_in_three_formats(client: AsyncClient, world: World) -> None:
    children = [{"age": 3, "sex": "female"}, {"age": 12, "sex": "male"}]
    for _ in range(5):
        await place(client, world, children=children)
    await place(client, world, away=True, children=children)  # housed in Calderdale: not in Kirklees' return
    year = current_financial_year(TODAY)
    figures = await report(client, world, "annual-return", year=year)
    assert figures["financial_year"] == f"{year}-{str(year + 1)[-2:]}" and figures["households_supported"] == 5
    assert figures["purpose"] == "publication"
    sections = {s["id"]: s for s in figures["sections"]}
    by_type = {row[0]: row[1:] for row in sections["households_by_type"]["rows"]}
    assert by_type["Refuge accommodation"] == [5, 5, 0] and by_type["Total"] == [5, 5, 0]
    individuals = {row[0]: row[1:] for row in sections["individuals_by_type"]["rows"]}
    assert individuals["Refuge accommodation"] == [5, 0, 0, 0, 10, 15]
    assert dict(sections["children_by_age"]["rows"]) == {"0-4": 5, "5-10": 0, "11-15": 5, "16-17": 0, "Total": 10}

    response = await client.get("/api/v1/reports/annual-return", params={"year": year, "format": "csv"},
                                headers=world.auth("commissioner"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert ["Refuge accommodation", "5", "5", "0"] in rows

    response = await client.get("/api/v1/reports/annual-return", params={"year": year, "format": "xlsx"},
                                headers=world.auth("admin"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    values = [[c for c in row if c is not None] for row in sheet.iter_rows(values_only=True)]
    # All authorities: the Calderdale one came from Kirklees (1, hidden), so more is hidden with it.
    refuge = [row for row in values if row and row[0] == "Refuge accommodation"]
    assert refuge and refuge[0][3] == "<5"
    assert all(v in ("<5", "x") or not isinstance(v, int) or v == 0 or v >= 5 for row in refuge for v in row)


async def test_capacity_plan_ranks_the_scheme_that_would_have_placed_most(client: AsyncClient, world: World) -> None:
    for _ in range(6):
        await unmet(client, world, "wheelchair", needs={"wheelchair": True}, children=[],
                    safety={"perpetrator_locations": [], "min_distance_km": 0})
    plan = await report(client, world, "capacity-plan")
    assert plan["unplaced_households"] == 6
    best = plan["candidates"][0]
    assert best["wheelchair_accessible"] is True and best["households_placed"] == 6 == best["households_suited"]
    assert all(c["households_placed"] == 6 for c in plan["candidates"] if c["wheelchair_accessible"])
    assert all(c["wheelchair_accessible"] for c in plan["candidates"])


async def test_who_may_see_reports(client: AsyncClient, world: World) -> None:
    for name in ("occupancy", "unmet-need", "annual-return", "capacity-plan"):
        for who in ("officer", "provider"):
            assert_problem(await client.get(f"/api/v1/reports/{name}", headers=world.auth(who)), 403)
        assert_problem(await client.get(f"/api/v1/reports/{name}"), 401)
        assert_problem(await client.get(f"/api/v1/reports/{name}", params={"authority": LEEDS},
                                        headers=world.auth("commissioner")), 403)
    assert (await report(client, world, "unmet-need", "national_commissioner", authority=LEEDS))["authority"] == LEEDS
    assert (await report(client, world, "unmet-need", "admin"))["authority"] is None
    assert_problem(await client.get("/api/v1/reports/occupancy", params={"start": "2026-05-01", "end": "2026-01-01"},
                                    headers=world.auth("commissioner")), 422, "start")
    assert_problem(await client.get("/api/v1/reports/annual-return", params={"format": "pdf"},
                                    headers=world.auth("commissioner")), 400, "format")


async def test_capacity_plan_with_nobody_unplaced_is_empty(client: AsyncClient, world: World) -> None:
    plan = await report(client, world, "capacity-plan")
    assert plan["unplaced_households"] == 0 and plan["candidates"] == []
