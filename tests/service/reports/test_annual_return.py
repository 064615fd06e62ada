"""The statutory return (CONTRACT section 6): who is counted, the filing copy figure by figure, the published copy.

Households housed in Kirklees from Kirklees and from Leeds, a Kirklees household housed in Leeds,
a household that reached a Kirklees provider through the Helpline, sanctuary support in Kirklees.
"""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.audit.models import AuditEvent
from service.db import utcnow
from service.demo import load_demo
from service.reports import annual_return, capacity, periods
from service.reports import service as reports
from service.reports.suppression import PROTECTING, SUPPRESSED
from tests.disclosure import assert_nothing_disclosed
from tests.service.conftest import KIRKLEES, LEEDS, World, make_unit, scheme_body
from tests.service.inventory.test_inventory import assert_problem
from tests.service.support.test_records import arrival_body, sanctuary_unit
from tests.service.workflow.conftest import make_referral, offer

TODAY = utcnow().date()
YEAR = periods.financial_year_of(TODAY).start.year


async def house(client: AsyncClient, world: World, unit_id: int, officer: str = "officer", **referral: Any) -> int:
    referral_id = await make_referral(client, world, who=officer, **referral)
    made = await offer(client, world, referral_id, unit_id, who=officer)
    assert made.status_code == 201, made.text
    accepted = await client.post(f"/api/v1/offers/{made.json()['id']}/accept", headers=world.auth("provider"))
    assert accepted.status_code == 200, accepted.text
    return referral_id


async def build(client: AsyncClient, world: World) -> None:
    kirklees_refuge = await make_unit(client, world)
    second_kirklees_room = await make_unit(client, world)
    leeds_scheme = scheme_body(world.provider_id, authority=LEEDS, district="LS1")
    leeds_refuge = await make_unit(client, world, scheme=leeds_scheme)
    dispersed = await make_unit(client, world, scheme=scheme_body(world.provider_id, type="dispersed",
                                                                  communal=False))
    await house(client, world, kirklees_refuge["id"])  # Kirklees household in Kirklees
    await house(client, world, second_kirklees_room["id"], officer="leeds_officer")  # Leeds household in Kirklees
    await house(client, world, leeds_refuge["id"])  # Kirklees household in Leeds
    body = arrival_body(dispersed["id"], equality={
        "adults": [{"gender": "woman", "trans": "yes", "characteristics": ["black_and_minoritised", "disabled"]}],
        "children": [{"characteristics": ["disabled"]}]})
    arrived = await client.post("/api/v1/arrivals", json=body, headers=world.auth("provider"))  # Helpline, from Leeds
    assert arrived.status_code == 201, arrived.text
    sanctuary = await sanctuary_unit(client, world)
    supported = await make_referral(client, world)
    recorded = await client.post(f"/api/v1/referrals/{supported}/sanctuary",
                                 json={"unit_id": sanctuary["id"], "started_on": TODAY.isoformat()},
                                 headers=world.auth("officer"))
    assert recorded.status_code == 201, recorded.text
    ended = await client.post(f"/api/v1/placements/{recorded.json()['placement_id']}/end",
                              json={"ended_on": TODAY.isoformat(), "destination": "remained_in_own_home",
                                    "reason": "no_longer_needed"}, headers=world.auth("provider"))
    assert ended.status_code == 200, ended.text
    turned_away = {"requested_on": TODAY.isoformat(), "reason": "capacity", "source": "helpline", "adults": 1,
                   "children": 3}
    assert (await client.post("/api/v1/unmet-requests", json=turned_away,
                              headers=world.auth("provider"))).status_code == 201
    unmet = await make_referral(client, world, needs={"wheelchair": True})
    closed = await client.post(f"/api/v1/referrals/{unmet}/close", json={"outcome": "unmet", "reason": "wheelchair"},
                               headers=world.auth("officer"))
    assert closed.status_code == 200, closed.text


async def filing(client: AsyncClient, world: World, who: str, **params: Any) -> dict[str, dict[str, list[Any]]]:
    response = await client.get("/api/v1/reports/annual-return", headers=world.auth(who),
                                params={"year": YEAR, "purpose": "filing", **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["purpose"] == "filing" and body["financial_year"] == f"{YEAR}-{str(YEAR + 1)[-2:]}"
    return {s["id"]: dict(zip(s["keys"], (row[1:] for row in s["rows"]), strict=True)) for s in body["sections"]}


def nonzero(section: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {key: values for key, values in section.items() if any(v not in (0, None) for v in values)}


async def test_each_authority_files_the_households_in_its_area_figure_by_figure(
    client: AsyncClient, world: World,
) -> None:
    await build(client, world)
    kirklees = await filing(client, world, "commissioner")
    # Households in Kirklees' safe accommodation: from Kirklees, from Leeds; not the Kirklees one in Leeds.
    assert nonzero(kirklees["households_by_type"]) == {
        "refuge": [2, 1, 1], "dispersed": [1, 0, 1], "sanctuary": [1, 1, 0], "total": [4, 2, 2]}
    assert nonzero(kirklees["households_by_source"]) == {"officer": [3], "helpline": [1], "total": [4]}
    # women, men, trans adults, other adults, children, individuals
    assert nonzero(kirklees["individuals_by_type"]) == {
        "refuge": [2, 0, 0, 0, 2, 4], "dispersed": [0, 0, 1, 0, 1, 2], "sanctuary": [1, 0, 0, 0, 1, 2],
        "total": [3, 0, 1, 0, 4, 8]}
    assert nonzero(kirklees["specialist_characteristics"]) == {
        "black_and_minoritised": [1], "disabled": [2], "at_least_one": [2]}
    assert nonzero(kirklees["households_new"]) == {"refuge": [2], "dispersed": [1], "sanctuary": [1], "total": [4]}
    assert nonzero(kirklees["households_stopped_by_reason"]) == {"no_longer_needed": [1, 0, 1], "total": [1, 0, 1]}
    assert nonzero(kirklees["destinations"]) == {"remained_in_own_home": [1], "total": [1]}
    unable = kirklees["unable_to_support_by_reason"]
    assert next(iter(unable)) == "capacity"
    assert nonzero(unable) == {"capacity": [1], "needs_not_met": [1], "total": [2]}
    assert kirklees["commissioned_by_type"]["sanctuary"] == [None, 1]
    assert kirklees["commissioned_by_type"]["refuge"] == [0, 0]  # these test refuges are not Part 4 commissioned
    assert dict(nonzero(kirklees["adults_by_age"])) == {"25-34": [4], "total": [4]}

    leeds = await filing(client, world, "admin", authority=LEEDS)
    assert nonzero(leeds["households_by_type"]) == {"refuge": [1, 0, 1], "total": [1, 0, 1]}
    assert nonzero(leeds["individuals_by_type"]) == {"refuge": [1, 0, 0, 0, 1, 2], "total": [1, 0, 0, 0, 1, 2]}
    # Nobody's answers recorded: the question is left blank (null), never 0.
    assert all(v == [None] for v in leeds["specialist_characteristics"].values())
    assert nonzero(leeds["households_stopped_by_reason"]) == {} and nonzero(leeds["unable_to_support_by_reason"]) == {}
    assert all(isinstance(v, int) or v is None for s in leeds.values() for row in s.values() for v in row)


async def test_the_filing_copy_is_for_the_authority_and_admin_and_every_download_is_audited(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession],
) -> None:
    await build(client, world)
    for fmt in ("json", "csv", "xlsx"):
        response = await client.get("/api/v1/reports/annual-return", headers=world.auth("commissioner"),
                                    params={"year": YEAR, "purpose": "filing", "format": fmt})
        assert response.status_code == 200, response.text
    csv_text = (await client.get("/api/v1/reports/annual-return", headers=world.auth("commissioner"),
                                 params={"year": YEAR, "purpose": "filing", "format": "csv"})).text
    assert "Sanctuary scheme" in csv_text and "<5" not in csv_text
    assert_problem(await client.get("/api/v1/reports/annual-return", headers=world.auth("national_commissioner"),
                                    params={"year": YEAR, "purpose": "filing", "authority": KIRKLEES}), 403)
    assert_problem(await client.get("/api/v1/reports/annual-return", headers=world.auth("commissioner"),
                                    params={"year": YEAR, "purpose": "filing", "authority": LEEDS}), 403)
    for who in ("officer", "provider"):
        assert_problem(await client.get("/api/v1/reports/annual-return", headers=world.auth(who),
                                        params={"purpose": "filing"}), 403)
    async with session_maker() as session:
        rows = list(await session.scalars(select(AuditEvent).where(AuditEvent.action == "annual_return.filing")))
    assert len(rows) == 4 and {r.entity_id for r in rows} == {f"{KIRKLEES}:{YEAR}"}


async def test_the_published_copy_hides_small_numbers_and_nothing_can_be_worked_out(
    client: AsyncClient, world: World, session_maker: async_sessionmaker[AsyncSession],
) -> None:
    await build(client, world)
    response = await client.get("/api/v1/reports/annual-return", headers=world.auth("commissioner"),
                                params={"year": YEAR})
    assert response.status_code == 200
    published = response.json()
    assert published["purpose"] == "publication"
    values = [v for s in published["sections"] for row in s["rows"] for v in row[1:]]
    assert not any(isinstance(v, int) and 1 <= v <= 4 for s in published["sections"]
                   if s["id"] != "commissioned_by_type" for row in s["rows"] for v in row[1:])
    assert SUPPRESSED in values
    names = [row[0] for row in published["sections"][0]["rows"]]
    assert names[:4] == ["Refuge accommodation", "Specialist safe accommodation", "Dispersed accommodation",
                         "Sanctuary scheme"]
    async with session_maker() as session:
        draft = await annual_return.draft(session, KIRKLEES, periods.financial_year(YEAR))
    shown = draft.table.protect()
    assert_nothing_disclosed(draft.table.values, shown, draft.table.relations)
    assert PROTECTING in shown.values()  # some hidden cells needed a partner


async def test_the_default_copy_is_the_published_one(client: AsyncClient, world: World) -> None:
    await build(client, world)
    response = await client.get("/api/v1/reports/annual-return", headers=world.auth("admin"),
                                params={"year": YEAR, "authority": KIRKLEES, "format": "csv"})
    assert "<5" in response.text and "publication" in response.headers["content-disposition"]


async def test_the_demo_data_gives_every_section_of_the_return_figures(
    session_maker: async_sessionmaker[AsyncSession],
) -> None:
    async with session_maker() as session, session.begin():
        await load_demo(session)
    async with session_maker() as session:
        report = await annual_return.annual_return(session, KIRKLEES, YEAR, "filing")
    sections = {s.id: s for s in report.sections}
    for ident, section in sections.items():
        assert any(isinstance(v, int) and v > 0 for row in section.rows for v in row[1:]), ident
    by_type = {row[0]: row[1:] for row in sections["households_by_type"].rows}
    assert by_type["Sanctuary scheme"][0] > 0 and by_type["Total"][2] > 0  # sanctuary; households from elsewhere
    sources = dict((row[0], row[1]) for row in sections["households_by_source"].rows)
    assert sources["National Domestic Abuse Helpline"] > 0
    assert next(iter(sections["unable_to_support_by_reason"].keys)) == "capacity"
    assert sections["commissioned_by_type"].rows[3][2] > 0  # sanctuary units commissioned


async def test_every_report_published_from_the_demo_data_pins_no_hidden_cell_down(
    session_maker: async_sessionmaker[AsyncSession],
) -> None:
    """The dashboard's reports of this quarter, as published from the demo data (the year's are slower to check)."""
    async with session_maker() as session, session.begin():
        await load_demo(session)
    quarter = periods.quarter_of(TODAY)
    async with session_maker() as session:
        for builder in (reports._unmet_builder, reports._flow_builder, capacity._unplaced_builder):
            for authority in (KIRKLEES, None):
                table, shown = await reports.protected(builder(session, authority), quarter.start, quarter.end)
                assert_nothing_disclosed(table.values, shown, table.relations)
