"""Request and response types of webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

from service.vocabulary import Id

EventName = Literal[
    "offer.created", "offer.accepted", "offer.declined", "offer.expired", "offer.withdrawn", "vacancy.stale",
    "vacancy.suitable",
]
EVENTS: tuple[str, ...] = EventName.__args__  # type: ignore[attr-defined]

Gss = Annotated[str, Meta(pattern=r"^[EWSN]\d{8}$", description="ONS GSS code, e.g. E08000034 (Kirklees)")]


class WebhookIn(Struct, forbid_unknown_fields=True):
    """A receiver: providers register for their own provider, officers and commissioners for their authority;
    admin names one of `provider_id` or `authority`."""

    url: Annotated[
        str, Meta(min_length=1, max_length=500, pattern=r"^[^\x00]*$", description="http(s) URL that receives POSTs")
    ]
    events: Annotated[list[EventName], Meta(min_length=1, max_length=len(EVENTS))]
    provider_id: Id | None = None
    authority: Gss | None = None


class WebhookOut(Struct):
    """A webhook without its secret."""

    id: int
    url: str
    events: list[str]
    provider_id: int | None
    authority: str | None
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    """The new webhook and its signing secret, shown this once."""

    secret: str
