"""Default deny: every API route names the roles that may call it.

Who may import whom is checked by `lint-imports` (the contracts in pyproject.toml), in .ci/run.
"""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from service.app import create_app
from service.settings import Settings


def test_every_api_route_names_its_roles() -> None:
    """A route under /api/v1 without a role guard is a defect."""
    app = create_app(Settings(database_url="postgresql://unused@/unused"))
    unguarded = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler) or not route.path.startswith("/api/"):
                continue
            if handler.http_methods == {"OPTIONS"}:  # Litestar's own OPTIONS answer, behind authentication too
                continue
            guards = [g for layer in handler.ownership_layers for g in (layer.guards or [])]
            if not any(getattr(g, "allowed_roles", None) for g in guards):
                unguarded.append(f"{sorted(handler.http_methods)} {route.path}")
    assert unguarded == []
