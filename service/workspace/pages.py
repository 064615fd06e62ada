"""What each workspace page shows, from the feature services (which check scope and audit reads).

Plain async functions over a session; no Litestar. Each list is one query for its rows (the
features' list functions join what a row shows), never a query per row.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.access import service as access
from service.audit import service as audit
from service.caller import Caller, Role
from service.casework import service as casework
from service.dashboard.service import REASON_NAMES, TYPE_NAMES
from service.inventory import service as inventory
from service.inventory.service import AvailabilityIn
from service.matching import service as matching
from service.offers import service as offers
from service.offers.service import OfferStatus
from service.reference import service as reference
from service.referrals import service as referrals
from service.referrals.service import CloseIn, ReferralIn, ReferralPatch
from service.settings import Settings
from service.vocabulary import UNMET_REASONS, WITHDRAWN_REASONS
from service.workspace import forms

PAGE = 50
NEED_NAMES = {name: label for name, label, _ in forms.NEEDS}
GENDER_NAMES = {"female": "Woman", "male": "Man", "non_binary": "Non-binary adult"}
CHILD_NAMES = {"female": "Girl", "male": "Boy"}
RULE_NAMES = {**REASON_NAMES, "no_units": "No units to consider", "assistance_dog": "Assistance dog refused"}
STATUS_WORDS = {"available": "Available", "held": "Held for an offer", "occupied": "Occupied",
                "unavailable": "Unavailable", "pending": "Waiting for the provider", "accepted": "Accepted",
                "declined": "Declined", "withdrawn": "Withdrawn", "expired": "Expired", "open": "Open",
                "placed": "Placed", "closed": "Closed"}
WITHDRAWN = sorted(WITHDRAWN_REASONS)
UNMET = sorted(UNMET_REASONS)


def words(code: str | None) -> str:
    """A code as words: statuses, reasons, destinations."""
    if code is None:
        return ""
    return STATUS_WORDS.get(code) or RULE_NAMES.get(code) or code.replace("_", " ").capitalize()


def household_choices() -> dict[str, Any]:
    """The fixed choices of the household form."""
    return {"choices": {
        "risks": forms.RISKS, "genders": forms.GENDERS, "sexes": forms.SEXES, "needs": forms.NEEDS,
        "specialisms": forms.SPECIALISMS, "types": forms.TYPES, "equality": forms.EQUALITY,
        "adult_rows": forms.ADULT_ROWS, "child_rows": forms.CHILD_ROWS,
    }}


def close_choices() -> dict[str, Any]:
    """Outcomes and, for each, its reasons."""
    return {"outcomes": forms.CLOSE_OUTCOMES,
            "reasons": [("placed", "Placed", [("placed", "Placed")]),
                        ("withdrawn", "Withdrawn", [(r, words(r)) for r in WITHDRAWN]),
                        ("unmet", "Need not met", [(r, words(r)) for r in UNMET])]}


async def authority_names(session: AsyncSession) -> dict[str, str]:
    """Council names and GSS codes, lower case, to GSS codes (officers type names)."""
    names: dict[str, str] = {}
    for authority, _ in await reference.list_authorities(session):
        names[authority.name.lower()] = authority.code
        names[authority.code.lower()] = authority.code
    return names


def household(referral: Any) -> dict[str, Any]:
    """A referral's household in words: who, and what they need."""
    return household_words(referral.household.get("adults", []), referral.household.get("children", []),
                           referral.needs)


def household_words(adults: list[dict[str, Any]], children: list[dict[str, Any]], needs: dict[str, Any]
                    ) -> dict[str, Any]:
    """Who is in a household and what they need, in words."""
    return {
        "adults": [f"{GENDER_NAMES.get(a['gender'], a['gender'])}, {a.get('age', a.get('age_band'))}"
                   for a in adults],
        "children": [f"{CHILD_NAMES.get(c['sex'], c['sex'])}, {c.get('age', c.get('age_band'))}"
                     for c in children],
        "needs": [label for name, label in NEED_NAMES.items() if needs.get(name)],
        "languages": ", ".join(needs.get("languages", [])),
        "specialisms": ", ".join(dict(forms.SPECIALISMS).get(s, s) for s in needs.get("specialisms", [])),
    }


# --- officers --------------------------------------------------------------------------------------


async def create_referral(session: AsyncSession, caller: Caller, body: dict[str, Any]) -> Any:
    """POST /referrals, from the form's body."""
    return await referrals.create_referral(session, caller, msgspec.convert(body, ReferralIn))


async def referral(session: AsyncSession, caller: Caller, referral_id: int) -> dict[str, Any]:
    """A referral's page: the referral (an audited read), its household, offers and placement."""
    found = await referrals.get_referral(session, caller, referral_id)
    history = await offers.referral_offers(session, found.id)
    pending = next((o for o in history if o["status"] == "pending"), None)
    placed = next((o for o in history if o["placement_id"] is not None), None)
    return {
        "referral": found, "offers": history,
        "household": {"risk": found.risk.value, "marac": found.marac, "referred_on": found.referred_on,
                      "needed_by": found.needed_by, **household(found)}, "pending": pending,
        "placement": placed, "words": words, "types": TYPE_NAMES,
        "exclude_districts": ", ".join(found.safety.get("exclude_districts", [])),
        "perpetrator_districts": ", ".join(p["district"] for p in found.safety.get("perpetrator_locations", [])
                                           if p.get("district")),
    }


async def referral_for_edit(session: AsyncSession, caller: Caller, referral_id: int) -> Any:
    """The referral the Edit form starts from (its officers only)."""
    return await referrals.get_referral(session, caller, referral_id)


async def update_referral(session: AsyncSession, caller: Caller, referral_id: int, body: dict[str, Any],
                          version: int | None) -> Any:
    """PATCH /referrals/{id} with If-Match: the version the form showed (a pending offer the change makes
    infeasible is withdrawn, as through the API)."""
    patch = {key: value for key, value in body.items() if key != "referred_on"}
    if not patch["equality"]:  # equality answers are never shown back to officers: unset means unchanged
        del patch["equality"]
    return await casework.update_referral(session, caller, referral_id, msgspec.convert(patch, ReferralPatch),
                                          version)


async def close_referral(session: AsyncSession, caller: Caller, referral_id: int, outcome: str, reason: str) -> Any:
    """POST /referrals/{id}/close."""
    data = msgspec.convert({"outcome": outcome, "reason": reason}, CloseIn)
    return await referrals.close_referral(session, caller, referral_id, data,
                                          has_pending_offer=offers.has_pending_offer)


async def proposals(session: AsyncSession, session_maker: async_sessionmaker[AsyncSession], caller: Caller,
                    referral_id: int, stale_after: timedelta) -> dict[str, Any]:
    """Find units: ranked units with their scheme, score and reasons, and what each rule ruled out."""
    found = await matching.proposals(session_maker, caller, referral_id, stale_after)
    units = await inventory.describe_units(session, [item["unit_id"] for item in found["items"]])
    items = [{**item, **units[item["unit_id"]], "type_name": TYPE_NAMES.get(units[item["unit_id"]]["type"], "")}
             for item in found["items"] if item["unit_id"] in units]
    excluded = sorted(((words(code), count) for code, count in found["excluded"].items() if count),
                      key=lambda pair: -pair[1])
    return {"referral_id": referral_id, "items": items, "excluded": excluded,
            "units_considered": found["units_considered"], "pending": await offers.has_pending_offer(
                session, referral_id)}


async def make_offer(session: AsyncSession, caller: Caller, referral_id: int, unit_id: int, hold: timedelta) -> Any:
    """POST /offers."""
    return await offers.make_offer(session, caller, referral_id, unit_id, hold)


async def recent_runs(session: AsyncSession, caller: Caller) -> list[Any]:
    """The latest match runs in scope."""
    return await matching.recent_match_runs(session, caller)


async def run_matching(session_maker: async_sessionmaker[AsyncSession], caller: Caller, settings: Settings,
                       gate: matching.SolveGate) -> Any:
    """POST /match-runs: within the key's and the service's limits of solves, off the page's transaction."""
    with gate.admit(caller.key_id):
        return await matching.match_run(session_maker, caller, settings.stale_after,
                                        matching.SolveLimits.from_settings(settings), settings.match_threads)


async def match_run(session: AsyncSession, caller: Caller, run_id: int) -> dict[str, Any]:
    """A match run: the proposed pairs with their units, every household left out with its reasons."""
    run = await matching.get_match_run(session, caller, run_id)
    units = await inventory.describe_units(session, [a["unit"] for a in run.result["assignments"]])
    assignments = [{**a, "unit_info": units.get(a["unit"])} for a in run.result["assignments"]]
    unassigned = [{"referral": u["referral"],
                   "reasons": [(words(r["code"]), r.get("units_excluded", 0)) for r in u["reasons"]]}
                  for u in run.result["unassigned"]]
    return {"run": run, "assignments": assignments, "unassigned": unassigned}


# --- offers and placements ----------------------------------------------------------------------------


def provider_household(shown: dict[str, Any] | None) -> dict[str, Any] | None:
    """The household the offers feature lets the unit's provider read (CONTRACT section 4), in words."""
    if shown is None:
        return None
    return {"risk": shown["risk"], "marac": shown["marac"], "referred_on": shown["referred_on"],
            "needed_by": shown["needed_by"], **household_words(shown["adults"], shown["children"], shown["needs"])}


async def offer(session: AsyncSession, caller: Caller, offer_id: int) -> dict[str, Any]:
    """One offer: its unit and, for the unit's provider while pending or accepted, the household."""
    view = await offers.get_offer(session, caller, offer_id)
    unit = (await inventory.describe_units(session, [view.offer.unit_id]))[view.offer.unit_id]
    return {"offer": view.offer, "unit": unit, "household": provider_household(view.household), "words": words,
            "decline_reasons": forms.DECLINE_REASONS}


async def accept(session: AsyncSession, caller: Caller, offer_id: int) -> Any:
    """POST /offers/{id}/accept."""
    return await offers.accept_offer(session, caller, offer_id)


async def decline(session: AsyncSession, caller: Caller, offer_id: int, reason: str) -> Any:
    """POST /offers/{id}/decline."""
    return await offers.decline_offer(session, caller, offer_id, reason)


async def withdraw(session: AsyncSession, caller: Caller, offer_id: int) -> Any:
    """POST /offers/{id}/withdraw."""
    return await offers.withdraw_offer(session, caller, offer_id)


async def offers_list(session: AsyncSession, caller: Caller, status: str, offset: int) -> dict[str, Any]:
    """Offers in scope with this status; for the provider, each pending one with its household."""
    if status not in ("pending", "accepted", "declined", "expired", "withdrawn"):
        status = "pending"
    views, total = await offers.list_offers(session, caller, OfferStatus(status), PAGE, max(offset, 0))
    units = await inventory.describe_units(session, [view.offer.unit_id for view in views])
    items = [{"id": view.offer.id, "status": view.offer.status.value, "referral_id": view.offer.referral_id,
              "created_at": view.offer.created_at, "expires_at": view.offer.expires_at,
              "scheme_name": units[view.offer.unit_id]["scheme_name"], "unit_label": units[view.offer.unit_id]["label"],
              "household": provider_household(view.household)} for view in views]
    return {"items": items, "pager_query": f"status={status}&", "total": total, "status": status,
            "offset": max(offset, 0), "limit": PAGE,
            "words": words, "statuses": ["pending", "accepted", "declined", "expired", "withdrawn"]}


async def placements(session: AsyncSession, caller: Caller, ended: bool, offset: int) -> dict[str, Any]:
    """Live (or ended) placements in scope, newest first."""
    items, total = await offers.list_placements(session, caller, live=not ended, limit=PAGE, offset=max(offset, 0))
    return {"items": items, "pager_query": "ended=true&" if ended else "", "total": total, "ended": ended,
            "offset": max(offset, 0), "limit": PAGE,
            "words": words}


async def placement(session: AsyncSession, caller: Caller, placement_id: int) -> dict[str, Any]:
    """A placement with the address (its officer, its provider and admin; audited)."""
    found = await offers.get_placement(session, caller, placement_id)
    return {"placement": found, "unit": (await inventory.describe_units(session, [found["unit_id"]]))[found["unit_id"]],
            "words": words,
            "destinations": forms.DESTINATIONS,
            "may_end": caller.role in (Role.PROVIDER, Role.OFFICER)}


async def end_placement(session: AsyncSession, caller: Caller, placement_id: int, ended_on: date,
                        destination: str) -> Any:
    """POST /placements/{id}/end."""
    return await offers.end_placement(session, caller, placement_id, ended_on, destination)


# --- the provider's desk --------------------------------------------------------------------------------


async def desk(session: AsyncSession, caller: Caller, stale_after: timedelta) -> dict[str, Any]:
    """The provider's schemes with their units (one query), and how many offers wait for an answer."""
    schemes = await inventory.desk_units(session, caller, stale_after)
    waiting = await offers.pending_count(session, caller)
    units = [u for s in schemes for u in s["units"]]
    return {"schemes": schemes, "pending_offers": waiting, "statuses": forms.STATUSES, "words": words,
            "types": TYPE_NAMES, "stale_units": sum(1 for u in units if u["stale"]),
            "available_units": sum(1 for u in units if u["status"] == "available")}


async def confirm_all(session: AsyncSession, caller: Caller) -> int:
    """POST /availability/confirm with no list: every unit of the provider."""
    return await inventory.confirm_availability(session, caller, None)


async def set_availability(session: AsyncSession, caller: Caller, unit_id: int, status: str,
                           available_from: date | None, version: int | None) -> Any:
    """PUT /units/{id}/availability with If-Match."""
    change = msgspec.convert({"status": status, "available_from": available_from}, AvailabilityIn)
    return await inventory.set_availability(session, caller, unit_id, change, version, lived_in=offers.lived_in)


async def caseload(session: AsyncSession, caller: Caller, status: str, offset: int,
                   stale_after: timedelta) -> dict[str, Any]:
    """The caseload: referrals oldest first, with waiting days, suitable_now and the pending offer."""
    if status not in ("open", "placed", "closed"):
        status = "open"
    items, total = await casework.caseload(session, caller, status=status, limit=PAGE, offset=max(offset, 0),
                                           stale_after=stale_after)
    return {"items": items, "pager_query": f"status={status}&", "total": total, "status": status,
            "offset": max(offset, 0), "limit": PAGE,
            "words": words}


# --- admin: keys ----------------------------------------------------------------------------------------


async def keys(session: AsyncSession, offset: int) -> dict[str, Any]:
    """Every key, newest first: name, role, scope, prefix and dates; never a key or its digest."""
    rows, total = await access.list_keys(session, PAGE, max(offset, 0))
    return {"keys": rows, "total": total, "offset": max(offset, 0), "limit": PAGE, "words": words}


async def revoke_key(session: AsyncSession, caller: Caller, key_id: int) -> Any:
    """POST /keys/{id}/revoke: from then on the key gets 401 and its sessions end."""
    row = await access.revoke_key(session, key_id=key_id)
    audit.record(session, caller, "revoke", "api_key", row.id)
    return row
