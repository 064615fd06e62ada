"""The dashboard's use cases: sessions started with an API key, and the figures shaped for the page.

A session is a random token in an HttpOnly cookie; the database keeps only its SHA-256 digest, the
key that started it and when it ends, so every service process recognises it and a stolen database
gives no usable cookie. The same sign-in opens the workspace of every role: each lands on its own home
page, and each page checks the role again. The figures come from the reports feature; nothing
here counts people itself.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from msgspec import structs
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.access import service as access
from service.access.service import ApiKey
from service.audit import service as audit
from service.caller import Caller, Role
from service.dashboard.models import DashboardSession
from service.db import utcnow
from service.errors import Invalid
from service.inventory import service as inventory
from service.reference import service as reference
from service.reports import service as reports

COOKIE_NAME = "safeaccom_dashboard"
LIFETIME = timedelta(hours=8)
DASHBOARD_ROLES = frozenset({Role.COMMISSIONER, Role.ADMIN})
# Where each role lands after signing in (CONTRACT section 5).
HOME = {Role.COMMISSIONER: "/dashboard", Role.PROVIDER: "/workspace/desk", Role.OFFICER: "/workspace/caseload",
        Role.ADMIN: "/workspace/admin"}
DEFAULT_CHARACTERISTIC = "ethnicity"

TYPE_NAMES = {
    "refuge": "Refuge", "specialist_refuge": "Specialist refuge", "dispersed": "Dispersed",
    "move_on": "Move-on", "other_safe": "Other safe accommodation",
}
STATUS_NAMES = {"occupied": "Occupied", "available": "Available", "held": "Held for an offer",
                "unavailable": "Unavailable"}
REASON_NAMES = {
    "capacity": "No unit free (capacity)", "wheelchair": "No wheelchair-accessible unit",
    "step_free": "No step-free unit", "boy_age": "Age limit for boys", "nrpf": "No recourse to public funds",
    "household_size": "Household too large", "language": "Language", "excluded_area": "Excluded area",
    "too_close": "Too close to the perpetrator", "gender": "Gender", "children": "Children not accepted",
    "pets": "Pets", "assistance_dog": "Assistance dog not accepted", "communal": "Communal living unsuitable",
    "specialist_only": "Specialist unit only", "no_units": "No unit considered",
    "not_available": "Not available in time", "unit_type": "Type of accommodation wanted",
    "offers_declined": "Offers declined", "separation": "Linked household in the scheme", "other": "Other",
}


def home_of(caller: Caller) -> str:
    """The page a signed-in caller lands on."""
    return HOME[caller.role]


class SignInRefused(Exception):
    """A key that may not sign in; `status` is 401 (unknown or revoked)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def sign_in(session: AsyncSession, api_key: str) -> tuple[str, datetime]:
    """Start a session for a key of any role: the cookie's token (shown once) and its expiry."""
    key = api_key.strip()
    caller = await access.authenticate(session, key) if key else None
    if caller is None:
        audit.record(session, None, "sign_in", "sign_in", "dashboard", outcome=audit.DENIED)
        raise SignInRefused(401, "That key is not recognised, or it has been revoked.")
    await session.execute(delete(DashboardSession).where(DashboardSession.expires_at < utcnow()))
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + LIFETIME
    row = DashboardSession(token_hash=_digest(token), api_key_id=caller.key_id, expires_at=expires_at)
    session.add(row)
    await session.flush()
    audit.record(session, caller, "dashboard.sign_in", "dashboard_session", row.id)
    return token, expires_at


def page_viewed(session: AsyncSession, caller: Caller, page: str) -> None:
    """A page seen by a signed-in person: an audit row (record type "page", its path)."""
    audit.record(session, caller, "view", "page", page)


async def signed_in(session: AsyncSession, token: str | None) -> Caller | None:
    """The caller behind a session cookie: None when missing, unknown, expired or revoked."""
    if not token:
        return None
    row = (await session.execute(
        select(ApiKey).join(DashboardSession, DashboardSession.api_key_id == ApiKey.id)
        .where(DashboardSession.token_hash == _digest(token), DashboardSession.expires_at > utcnow(),
               *access.live())
    )).scalar_one_or_none()
    if row is None:
        return None
    return Caller(key_id=row.id, role=row.role, authority=row.authority_code, provider_id=row.provider_id)


def csrf_token(token: str) -> str:
    """The token every changing form carries: derived from the session's own (HttpOnly) token, so a page
    on another site can neither read nor guess it, and nothing more is stored."""
    return hashlib.sha256(b"csrf\0" + token.encode()).hexdigest()


def csrf_ok(token: str | None, sent: object) -> bool:
    """Whether a form's csrf_token belongs to this session."""
    return bool(token) and isinstance(sent, str) and secrets.compare_digest(csrf_token(token or ""), sent)


NAV = {
    Role.ADMIN: [("/workspace/admin", "Home"), ("/workspace/caseload", "Caseload"),
                 ("/workspace/desk", "Provider desk"),
                 ("/workspace/offers", "Offers"), ("/workspace/placements", "Placements"),
                 ("/workspace/match-runs", "Match runs"), ("/dashboard", "Dashboard")],
    Role.OFFICER: [("/workspace/caseload", "Caseload"), ("/workspace/offers", "Offers"),
                   ("/workspace/placements", "Placements"), ("/workspace/match-runs", "Match runs")],
    Role.PROVIDER: [("/workspace/desk", "Desk"), ("/workspace/offers", "Offers"),
                    ("/workspace/placements", "Placements")],
    Role.COMMISSIONER: [("/dashboard", "Dashboard")],
}


def nav_links(caller: Caller) -> list[tuple[str, str]]:
    """The pages this role may open, for the header."""
    return NAV[caller.role]


async def describe(session: AsyncSession, caller: Caller) -> str:
    """Who is signed in, in words: the role and the authority or provider it acts for."""
    role = {Role.ADMIN: "administrator", Role.OFFICER: "housing options officer", Role.PROVIDER: "provider",
            Role.COMMISSIONER: "commissioner"}[caller.role]
    if caller.provider_id is not None:
        return f"{role}, {(await inventory.get_provider(session, caller.provider_id)).name}"
    if caller.authority is not None:
        return f"{role}, {(await reference.require_authority(session, caller.authority, field='authority')).name}"
    return role if caller.role is Role.ADMIN else f"{role}, all authorities"


async def sign_out(session: AsyncSession, token: str | None) -> None:
    """End the session (nothing happens for an unknown token)."""
    if token:
        await session.execute(delete(DashboardSession).where(DashboardSession.token_hash == _digest(token)))


# --- the page's figures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the page shows: a period, an authority (None: all), a characteristic, a financial year."""

    start: date
    end: date
    authority: str | None
    characteristic: str
    year: int


def _date(field: str, raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid(field, "must be a date written YYYY-MM-DD") from None


def filters(
    caller: Caller, today: date, *, start: str | None = None, end: str | None = None, authority: str | None = None,
    characteristic: str | None = None, year: str | None = None,
) -> Filters:
    """Parse and check the query string; a commissioner bound to one authority always sees that one."""
    first, last = reports.period(_date("start", start), _date("end", end), today)
    scope = reports.scope_for(caller, authority or None)
    if year:
        if not year.isdigit() or not 2000 <= int(year) <= 2100:
            raise Invalid("year", "must be a year such as 2026")
        chosen_year = int(year)
    else:
        chosen_year = reports.current_financial_year(last)
    return Filters(first, last, scope, characteristic or DEFAULT_CHARACTERISTIC, chosen_year)


def _plot(value: Any) -> float | None:
    """A value for a chart: suppressed cells ("<5") become gaps, never a made-up number."""
    return None if isinstance(value, str) or value is None else float(value)


def _label(code: str, names: dict[str, str] | None = None) -> str:
    if names and code in names:
        return names[code]
    return code.replace("_", " ").replace(":", ": ").capitalize()


def _summary(title: str, labels: list[str], datasets: list[dict[str, Any]], shown: list[list[Any]]) -> str:
    """A sentence a screen reader reads instead of the chart."""
    if not labels:
        return f"{title}: no figures for this selection."
    parts = []
    for i, label in enumerate(labels[:12]):
        values = ", ".join(f"{d['label'].lower()} {shown[j][i]}" for j, d in enumerate(datasets))
        parts.append(f"{label}: {values}")
    more = f"; and {len(labels) - 12} more in the table" if len(labels) > 12 else ""
    return f"{title}. " + "; ".join(parts) + more + "."


def _chart(ident: str, kind: str, title: str, labels: list[str], series: list[tuple[str, list[Any]]],
           **options: Any) -> dict[str, Any]:
    """A chart for Chart.js, the same figures as a table, and a text alternative."""
    datasets = [{"label": name, "data": [_plot(v) for v in values]} for name, values in series]
    shown = [[v if v is not None else "" for v in values] for _, values in series]
    return {
        "id": ident, "type": kind, "title": title, "labels": labels, "datasets": datasets,
        "summary": _summary(title, labels, datasets, shown),
        "suppressed": sum(1 for _, values in series for v in values if isinstance(v, str)),
        "table": {"columns": [options.pop("first_column", ""), *[name for name, _ in series]],
                  "rows": [[label, *[shown[j][i] for j in range(len(series))]] for i, label in enumerate(labels)]},
        "options": options,
    }


def _occupancy_chart(report: reports.OccupancyReport) -> dict[str, Any]:
    totals: dict[str, dict[str, int]] = {}
    for point in report.series:
        day = totals.setdefault(point.date.isoformat(), dict.fromkeys(STATUS_NAMES, 0))
        for status in STATUS_NAMES:
            day[status] += getattr(point, f"{status}_bedspaces")
    days = sorted(totals)
    return _chart("occupancy", "line", "Bed spaces by status, day by day", days,
                  [(STATUS_NAMES[s], [totals[d][s] for d in days]) for s in STATUS_NAMES],
                  first_column="Date", y_title="Bed spaces")


def _vacancy_chart(rows: list[reports.VacancyCount]) -> dict[str, Any]:
    names = sorted({r.authority_name for r in rows})
    kinds = [t for t in TYPE_NAMES if any(r.type == t for r in rows)]
    beds = {(r.authority_name, r.type): r.bedspaces for r in rows}
    return _chart("vacancies", "bar", "Bed spaces available today, by authority and type", names,
                  [(TYPE_NAMES[t], [beds.get((n, t), 0) for n in names]) for t in kinds],
                  first_column="Authority", y_title="Bed spaces", stacked=True)


def _reason_chart(need: reports.UnmetNeedReport) -> dict[str, Any]:
    unplaced = {r.reason: r.households for r in need.by_reason}
    declined = {r.reason: r.offers for r in need.declined_offers_by_reason}
    codes = sorted(set(unplaced) | set(declined))
    return _chart("unmet-reasons", "bar", "Unmet need by reason", [_label(c, REASON_NAMES) for c in codes],
                  [("Households not placed", [unplaced.get(c, 0) for c in codes]),
                   ("Offers declined", [declined.get(c, 0) for c in codes])],
                  first_column="Reason", y_title="Households or offers", horizontal=True)


def _characteristic_chart(need: reports.UnmetNeedReport, characteristic: str) -> dict[str, Any]:
    rows = need.by_characteristic.get(characteristic, [])
    return _chart("unmet-characteristic", "bar", f"Referrals by {_label(characteristic).lower()}: placed and unmet",
                  [_label(r.value) for r in rows],
                  [(name.capitalize(), [getattr(r, name) for r in rows]) for name in ("referrals", "placed", "unmet")],
                  first_column=_label(characteristic), y_title="Households", horizontal=True)


def _percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.0f}%"


def _days(value: float | None) -> str:
    return "not shown (fewer than 5)" if value is None else f"{value:g} days"


async def page(session: AsyncSession, caller: Caller, chosen: Filters, time_limit: float = 30.0) -> dict[str, Any]:
    """Everything the dashboard page shows for these filters (capacity planning within `time_limit` seconds)."""
    authority, start, end = chosen.authority, chosen.start, chosen.end
    occupancy = await reports.occupancy(session, authority, start, end)
    vacancies = await reports.vacancies_today(session, authority)
    need = await reports.unmet_need(session, authority, start, end)
    plan = await reports.capacity_plan(session, authority, start, end, time_limit)
    characteristics = sorted(need.by_characteristic)
    characteristic = chosen.characteristic if chosen.characteristic in characteristics else (
        DEFAULT_CHARACTERISTIC if DEFAULT_CHARACTERISTIC in characteristics else (characteristics or [""])[0])
    waits = need.time_to_placement_days
    charts = [_occupancy_chart(occupancy), _vacancy_chart(vacancies), _reason_chart(need),
              _characteristic_chart(need, characteristic)]
    return {
        "charts": charts,
        "chart_data": [{key: chart[key] for key in ("id", "type", "labels", "datasets", "options")}
                       for chart in charts],  # what the script needs; the tables and summaries are in the HTML
        "characteristic": characteristic,
        "characteristics": [(c, _label(c)) for c in characteristics],
        "headline": [("Referrals", need.referrals), ("Placed", need.placed), ("Unmet", need.unmet),
                     ("Placed outside their own area", need.out_of_area_placements)],
        "waits": {"placements": waits.placements, "median": _days(waits.median), "p90": _days(waits.p90)},
        "by_risk": [[_label(r.risk), r.referrals, r.placed, r.unmet] for r in need.by_risk],
        "occupancy_rows": [
            [r.authority_name, TYPE_NAMES.get(r.type, r.type), sum(structs.astuple(r.bedspaces)),
             r.bedspaces.occupied, r.bedspaces.available, _percent(r.occupancy_rate),
             r.placements_started, r.placements_ended,
             "\u2013" if r.median_stay_days is None else f"{r.median_stay_days:g} days"]
            for r in occupancy.by_authority_and_type
        ],
        "plan": {
            "unplaced": plan.unplaced_households,
            "rows": [[i, TYPE_NAMES.get(c.type, c.type), c.authority_name, c.district,
                      "yes" if c.wheelchair_accessible else "no", "yes" if c.accepts_nrpf else "no",
                      c.bedspaces, c.households_placed, c.households_suited]
                     for i, c in enumerate(plan.candidates, start=1)],
        },
    }


async def authority_choices(session: AsyncSession, caller: Caller) -> list[tuple[str, str]]:
    """The authorities this caller may choose between, by name (a bound commissioner: only its own)."""
    rows = [(a.code, a.name) for a, _ in await reference.list_authorities(session)]
    if caller.role is Role.COMMISSIONER and caller.authority is not None:
        rows = [(code, name) for code, name in rows if code == caller.authority]
    return sorted(rows, key=lambda row: row[1])


ANNUAL_RETURN_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


async def annual_return_file(
    session: AsyncSession, caller: Caller, year: str | None, authority: str | None, fmt: str, today: date
) -> tuple[bytes | str | reports.AnnualReturn, str, str]:
    """The annual return as a download: its body, media type and file name."""
    chosen = filters(caller, today, authority=authority, year=year)
    report = await reports.annual_return(session, chosen.authority, chosen.year)
    audit.record(session, caller, "report.annual_return", "authority", chosen.authority or "all")
    name = f"safe-accommodation-return-{report.financial_year}-{chosen.authority or 'all'}.{fmt}"
    body: bytes | str | reports.AnnualReturn
    if fmt == "csv":
        body = reports.annual_return_csv(report)
    elif fmt == "xlsx":
        body = reports.annual_return_xlsx(report)
    else:
        body = report
    return body, ANNUAL_RETURN_TYPES[fmt], name
