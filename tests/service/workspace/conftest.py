"""Helpers for the workspace's HTTP tests: sign in through /login, read a page's CSRF token, post forms."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from httpx import AsyncClient, Response

from tests.service.conftest import World


async def as_role(client: AsyncClient, world: World, who: str) -> None:
    """Sign in through the form (the client keeps the cookie)."""
    client.cookies.clear()
    response = await client.post("/login", data={"api_key": world.keys[who]})
    assert response.status_code == 303, response.text


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
    assert found, "the page has no CSRF token"
    return found[1]


async def submit(client: AsyncClient, page: str, action: str, data: dict[str, Any] | list[tuple[str, str]]) -> Response:
    """Open a page, take its CSRF token, post a form as the browser would (same origin)."""
    shown = await client.get(page)
    assert shown.status_code == 200, (page, shown.status_code, shown.text[:500])
    pairs = list(data.items()) if isinstance(data, dict) else list(data)
    form: dict[str, list[str]] = {"csrf_token": [csrf_of(shown.text)]}
    for name, value in pairs:
        form.setdefault(name, []).append(value)
    return await client.post(action, data=form, headers={"sec-fetch-site": "same-origin"})


def errors_of(html: str) -> dict[str, str]:
    """The error summary's links: field id -> message."""
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    if not summary:
        return {}
    links = re.finditer(r'<a href="#([^"]*)">(.*?)</a>', summary[0], re.S)
    return {m[1]: re.sub(r"\s+", " ", m[2]).strip() for m in links}


def household(**overrides: Any) -> list[tuple[str, str]]:
    """A filled-in New referral form: a woman of 31 with a boy of 6, high risk, fleeing BD1."""
    fields = {
        "risk": "high", "marac": "yes", "referred_on": date.today().isoformat(), "adult-0-gender": "female",
        "adult-0-age": "31",
        "child-0-sex": "male", "child-0-age": "6", "languages": "ur", "perpetrator_districts": "BD1",
        "min_distance_km": "10", "exclude_authorities": "", "exclude_districts": "", "separate_from": "",
    }
    fields.update(overrides)
    pairs = [(k, v) for k, v in fields.items() if k not in ("needs", "specialisms", "types")]
    for many in ("needs", "specialisms", "types"):
        pairs += [(many, v) for v in fields.get(many, [])]
    return pairs
