"""HTTP for webhooks: register (the secret is shown once), list the caller's own, delete."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.datastructures import State
from litestar.pagination import OffsetPagination
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import Offset, PathId, allow
from service.caller import Caller, Role
from service.db import response
from service.notifications import service
from service.notifications.schemas import WebhookCreated, WebhookIn, WebhookOut

ADMIN, OFFICER, PROVIDER, COMMISSIONER = Role.ADMIN, Role.OFFICER, Role.PROVIDER, Role.COMMISSIONER

class WebhookController(Controller):
    path = "/api/v1/webhooks"
    tags = ["notifications"]
    guards = [allow(ADMIN, OFFICER, PROVIDER, COMMISSIONER)]

    @post("/", status_code=201)
    async def create_webhook(
        self, session: AsyncSession, caller: Caller, state: State, data: WebhookIn
    ) -> WebhookCreated:
        """Register a webhook for the caller's provider or authority. The answer carries the signing secret, once."""
        webhook = await service.create_webhook(session, caller, data, state.settings.webhooks_internal)
        return response(WebhookCreated, webhook)

    @get("/")
    async def list_webhooks(
        self,
        session: AsyncSession,
        caller: Caller,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Offset = 0,
    ) -> OffsetPagination[WebhookOut]:
        """The caller's own active webhooks (admin: all); never their secrets."""
        rows, total = await service.list_webhooks(session, caller, limit, offset)
        items = [response(WebhookOut, w) for w in rows]
        return OffsetPagination(items=items, total=total, limit=limit, offset=offset)

    @delete("/{webhook_id:int}", status_code=204)
    async def delete_webhook(self, session: AsyncSession, caller: Caller, webhook_id: PathId) -> None:
        """Delete one of the caller's webhooks (404 for anyone else's); its pending messages are dropped as failed."""
        await service.delete_webhook(session, caller, webhook_id)
