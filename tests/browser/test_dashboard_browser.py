"""The dashboard end to end in headless Chromium: sign in, every chart drawn, a filter, the XLSX download."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from openpyxl import load_workbook
from playwright.async_api import Page, async_playwright, expect

from tests.browser.conftest import ARTIFACTS, CHROMIUM_ARGS, LEEDS, Site, require_browser

CHARTS = ("occupancy", "vacancies", "unmet-reasons", "unmet-characteristic")
TIMEOUT_MS = 10_000


@asynccontextmanager
async def browser_page(chromium: Path, name: str) -> AsyncIterator[tuple[Page, list[str], list[str]]]:
    """A fresh page; on failure a full-page screenshot goes to test-artifacts/<name>.png."""
    require_browser(chromium)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(accept_downloads=True, viewport={"width": 1366, "height": 768})
            page = await context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            requests: list[str] = []
            problems: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
                    if response.status >= 400 else None)
            try:
                yield page, requests, problems
            except BaseException:
                ARTIFACTS.mkdir(exist_ok=True)
                await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
                raise
        finally:
            await browser.close()


async def drawn_charts(page: Page) -> dict[str, dict[str, object]]:
    """For each chart canvas: its size and what Chart.js holds for it."""
    result: dict[str, dict[str, object]] = await page.evaluate(
        """(ids) => Object.fromEntries(ids.map((id) => {
            const canvas = document.getElementById("chart-" + id);
            const chart = canvas && window.Chart ? window.Chart.getChart(canvas) : undefined;
            return [id, {width: canvas ? canvas.clientWidth : 0, height: canvas ? canvas.clientHeight : 0,
                         chart: Boolean(chart), labels: chart ? chart.data.labels : [],
                         datasets: chart ? chart.data.datasets.length : 0}];
        }))""",
        list(CHARTS),
    )
    return result


async def test_sign_in_see_every_chart_filter_and_download_the_return(chromium: Path, site: Site) -> None:
    async with browser_page(chromium, "dashboard") as (page, requests, problems):
        await page.goto(site.url + "/dashboard")
        await expect(page).to_have_url(site.url + "/login")  # no session: to the form

        # A key of the wrong kind is refused on the page, and never echoed.
        await page.get_by_label("API key", exact=True).fill("sak_no-such-key")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_contain_text("not recognised")
        assert "sak_no-such-key" not in await page.content()
        assert len(problems) == 2 and " 401 " in f" {problems[0]} "  # that refusal, and only it
        problems.clear()

        # Keyboard only: tab to the field, type the key, Enter.
        await page.get_by_label("API key", exact=True).focus()
        await page.keyboard.type(site.keys["admin"])
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(re.compile(r"/workspace/admin$"))  # admin lands on its home page
        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
        await expect(page).to_have_url(re.compile(r"/dashboard$"))
        assert site.keys["admin"] not in page.url
        await expect(page.get_by_role("heading", level=1)).to_contain_text("occupancy and unmet need")

        await page.wait_for_function("() => window.dashboardCharts && Object.keys(window.dashboardCharts).length === 4")
        charts = await drawn_charts(page)
        for name, chart in charts.items():
            assert chart["chart"] and chart["datasets"], f"{name} was not drawn: {chart}"
            assert int(chart["width"]) > 100 and int(chart["height"]) > 100, f"{name} has no size: {chart}"  # type: ignore[call-overload]
        assert "Leeds" in charts["vacancies"]["labels"] and "Kirklees" in charts["vacancies"]["labels"]  # type: ignore[operator]
        assert len(charts["occupancy"]["labels"]) >= 60  # type: ignore[arg-type]
        await expect(page.get_by_role("img", name=re.compile("Bed spaces by status"))).to_be_visible()

        # Change the filters: Leeds only, a shorter period. The page and its charts follow.
        await page.get_by_label("Authority", exact=True).select_option(LEEDS)
        start = await page.get_by_label("From", exact=True).input_value()
        await page.get_by_label("From", exact=True).fill(shift_month(start))
        await page.get_by_role("button", name="Show").click()
        await expect(page).to_have_url(re.compile(rf"authority={LEEDS}"))
        await expect(page.locator("#period")).to_contain_text("Leeds")
        await page.wait_for_function("() => window.dashboardCharts && Object.keys(window.dashboardCharts).length === 4")
        charts = await drawn_charts(page)
        assert charts["vacancies"]["labels"] == ["Leeds"], charts["vacancies"]
        assert all(chart["chart"] for chart in charts.values())

        # The annual return as XLSX, through the browser's own download.
        async with page.expect_download() as download_info:
            await page.get_by_role("link", name=re.compile("annual return as Excel")).click()
        download = await download_info.value
        assert download.suggested_filename.endswith(f"-{LEEDS}.xlsx")
        path = await download.path()
        sheet = load_workbook(io.BytesIO(await anyio.Path(path).read_bytes())).active
        assert sheet is not None and "annual return" in str(sheet["A1"].value).lower()

        # Sign out: back to the form, and the dashboard is closed again.
        await page.get_by_role("button", name="Sign out").click()
        await expect(page).to_have_url(site.url + "/login")
        await page.goto(site.url + "/dashboard")
        await expect(page).to_have_url(site.url + "/login")

        foreign = [url for url in requests if not url.startswith(site.url) and not url.startswith(("data:", "blob:"))]
        assert foreign == [], f"the page loaded from other hosts: {foreign}"
        assert problems == [], f"errors in the browser console: {problems}"


async def test_a_bound_commissioner_sees_one_authority_and_the_skip_link_works(chromium: Path, site: Site) -> None:
    async with browser_page(chromium, "commissioner") as (page, _, problems):
        await page.goto(site.url + "/login")
        await page.get_by_label("API key", exact=True).fill(site.keys["commissioner"])
        await page.get_by_role("button", name="Sign in").click()
        await expect(page).to_have_url(re.compile(r"/dashboard$"))
        options = await page.get_by_label("Authority", exact=True).locator("option").all_inner_texts()
        assert options == ["Kirklees"]
        await page.keyboard.press("Tab")  # the first stop is the skip link
        assert await page.evaluate("() => document.activeElement.textContent") == "Skip to the main content"
        await page.wait_for_function("() => window.dashboardCharts && Object.keys(window.dashboardCharts).length === 4")
        assert (await drawn_charts(page))["vacancies"]["labels"] == ["Kirklees"]
        assert problems == []


def shift_month(iso: str) -> str:
    """The same day a month later (the 28th at most, so every month has it)."""
    year, month, day = (int(part) for part in iso.split("-"))
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{year:04d}-{month:02d}-{min(day, 28):02d}"

