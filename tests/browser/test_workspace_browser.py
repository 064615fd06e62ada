"""A provider's and an officer's day in headless Chromium, through the workspace's pages only.

The provider works on a 390 px phone; the officer on a desktop. Every page visited is checked with
axe-core (no serious or critical violation), and at the end neither tab has asked another host for
anything or logged an error (the one refused form the officer sends on purpose aside).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from playwright.async_api import Page, expect

from tests.browser.conftest import Site, Watched, watched_browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
REFUGE = "Pennine Women's Refuge Refuge"


async def sign_in(tab: Watched, site: Site, who: str, home: str) -> Page:
    page = tab.page
    await page.goto(site.url + "/login")
    await tab.check(phone=tab.label == "provider")
    await page.get_by_label("API key", exact=True).fill(site.keys[who])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(site.url + home)
    return page


async def test_a_providers_and_an_officers_day(chromium: Path, site: Site) -> None:
    async with watched_browser(chromium, "workspace-day") as open_tab:
        provider = await open_tab("provider", **PHONE)
        officer = await open_tab("officer", **DESKTOP)

        # The provider starts the day on the phone: the desk, then Confirm all vacancies.
        desk = await sign_in(provider, site, "provider", "/workspace/desk")
        await expect(desk.get_by_role("heading", level=1)).to_have_text("Your units")
        await provider.check(phone=True)
        offers_link = desk.get_by_role("main").get_by_role("link", name=re.compile("^Offers"))
        waiting_before = int(re.findall(r"\d+", await offers_link.inner_text())[0])  # the demo's own offers
        await desk.get_by_role("button", name="Confirm all vacancies").click()
        await expect(desk.get_by_role("status")).to_contain_text("Confirmed:")
        await expect(desk.get_by_text("Not confirmed lately")).to_have_count(0)
        await provider.check(phone=True)

        # A room of the refuge is ready again: its own form, Available, Save.
        scheme = desk.locator("section.scheme", has=desk.get_by_role("heading", name=REFUGE))
        room = scheme.locator("article.unit-card", has=desk.locator(".tag-available, .tag-unavailable")).first
        name = (await room.get_by_role("heading").inner_text()).split("\n")[0].split(" ")
        label = " ".join(name[:2])
        await room.get_by_label("Status").select_option("available")
        await room.get_by_role("button", name=re.compile("^Save")).click()
        await expect(desk.get_by_role("status")).to_contain_text("availability is updated")
        saved = desk.locator("section.scheme", has=desk.get_by_role("heading", name=REFUGE)).locator(
            "article.unit-card", has=desk.get_by_role("heading", name=re.compile(f"^{label}")))
        await expect(saved.locator(".unit-status")).to_contain_text("Available")
        await provider.check(phone=True)

        # The officer registers a household; a mistake is shown next to its field and what was typed is kept.
        caseload = await sign_in(officer, site, "officer", "/workspace/caseload")
        await officer.check()
        await caseload.get_by_role("link", name="New referral").click()
        await officer.check()
        form = caseload
        await form.get_by_label("Gender").first.select_option("female")
        await form.get_by_label("Age").first.fill("29")
        await form.get_by_label("Where the perpetrator lives or works (optional)").fill("BD1")
        await form.get_by_label("Least distance from those places, in kilometres").fill("5")
        await form.get_by_role("button", name="Register household").click()
        summary = form.get_by_role("alert")
        await expect(summary).to_contain_text("Choose the risk level")
        await expect(summary).to_be_focused()
        await expect(form.get_by_label("Age").first).to_have_value("29")
        await officer.check()
        await form.get_by_role("radio", name="High").check()
        await form.get_by_role("button", name="Register household").click()
        await expect(form.get_by_role("status")).to_contain_text("The household is registered")
        referral_url = form.url.split("?")[0]
        await officer.check()

        # Find units, and offer the provider's refuge room.
        await form.get_by_role("button", name="Find units").click()
        await expect(form.get_by_role("heading", level=1)).to_contain_text("Units for referral")
        await officer.check()
        card = form.locator("section.proposal", has=form.get_by_role("heading", name=re.compile(REFUGE))).first
        await card.get_by_role("button", name="Make offer").click()
        await expect(form.get_by_role("status")).to_contain_text("The offer is made")
        await expect(form.get_by_text("Waiting for the provider")).to_be_visible()
        await officer.check()

        # The provider sees one offer waiting, reads the household, and accepts.
        await desk.goto(site.url + "/workspace/desk")
        offers_link = desk.get_by_role("main").get_by_role("link", name=re.compile("^Offers"))
        await expect(offers_link).to_contain_text(str(waiting_before + 1))
        await offers_link.click()
        ours = desk.locator("section.offer-card", has=desk.get_by_text("Woman, 29"))  # ours, not the demo's
        await expect(ours).to_be_visible()
        await provider.check(phone=True)
        await ours.get_by_role("link", name=re.compile("^Answer")).click()
        await expect(desk.get_by_role("heading", name="The household")).to_be_visible()
        await expect(desk.get_by_text("Woman, 29")).to_be_visible()
        assert "BD1" not in await desk.content()  # where she fled from is not the provider's to see
        await provider.check(phone=True)
        await desk.get_by_role("button", name="Accept").click()
        await expect(desk.get_by_role("status")).to_contain_text("Offer accepted")
        await expect(desk.locator(".address")).to_contain_text("Example Street")
        await provider.check(phone=True)

        # The officer sees the placement on the referral; then the household moves on and the provider ends it.
        await form.goto(referral_url)
        await expect(form.get_by_role("link", name=re.compile(r"^Placement \d+"))).to_be_visible()
        await officer.check()
        await desk.get_by_label("Date the household left").fill(date.today().isoformat())
        await desk.get_by_label("Where they went").select_option("own_tenancy")
        await desk.get_by_role("button", name="End placement").click()
        await expect(desk.get_by_role("status")).to_contain_text("The placement has ended")
        await provider.check(phone=True)

        # The officer's match run says why each household left out could not be placed.
        await form.get_by_role("link", name="Match runs").click()
        await form.get_by_role("button", name="Run matching").click()
        await expect(form.get_by_role("heading", name="Households left out, and why")).to_be_visible()
        await officer.check()

        for tab in (provider, officer):
            assert tab.foreign(site.url) == [], f"{tab.label} asked other hosts: {tab.foreign(site.url)}"
        assert provider.problems == [], provider.problems
        # The one refused form: its 422 response, and the console's note of it.
        assert sorted(officer.problems) == [
            "422 " + site.url + "/workspace/referrals/new",
            "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"],  \
            officer.problems


async def test_admin_home_links_to_every_page_and_the_api_reference_works_offline(chromium: Path, site: Site) -> None:
    async with watched_browser(chromium, "workspace-admin") as open_tab:
        admin = await open_tab("admin", **DESKTOP)
        page = await sign_in(admin, site, "admin", "/workspace/admin")
        await admin.check()
        for name in ("Caseload", "Provider desk", "Dashboard", "Key management", "API reference"):
            await expect(page.get_by_role("main").get_by_role("link", name=name).first).to_be_visible()
        await page.get_by_role("main").get_by_role("link", name="Key management").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Keys")
        await expect(page.get_by_role("button", name=re.compile("^Revoke")).first).to_be_visible()
        await admin.check()
        await page.goto(site.url + "/schema/swagger")
        await expect(page.locator(".swagger-ui .info .title")).to_contain_text("Safe accommodation")
        await expect(page.get_by_text("/api/v1/referrals").first).to_be_visible()
        await admin.check(axe=False)  # Swagger UI's own markup is not ours to fix
        assert admin.foreign(site.url) == [] and admin.problems == [], (admin.foreign(site.url), admin.problems)
