"""Who may import whom (STYLE.md), checked on the source, and default deny on every route."""

from __future__ import annotations

import ast
from pathlib import Path

from litestar.handlers import HTTPRouteHandler

from service.app import create_app
from service.settings import Settings

ROOT = Path(__file__).parents[1]
LITESTAR_ALLOWED = {"app.py", "controller.py", "auth.py", "errors.py", "db.py"}


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_litestar_only_in_the_web_layer() -> None:
    offenders = [
        str(path.relative_to(ROOT)) for path in (ROOT / "service").rglob("*.py")
        if path.name not in LITESTAR_ALLOWED and any(m.split(".")[0] == "litestar" for m in imports(path))
    ]
    assert offenders == []


def test_features_reach_each_other_only_through_service_modules() -> None:
    offenders = []
    for feature in (p for p in (ROOT / "service").iterdir() if (p / "__init__.py").exists() and p.name != "bench"):
        for path in feature.glob("*.py"):
            for module in imports(path):
                parts = module.split(".")
                if len(parts) >= 3 and parts[0] == "service" and parts[1] != feature.name and parts[2] != "service":
                    offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []


def test_services_never_import_controllers() -> None:
    offenders = [
        str(path.relative_to(ROOT)) for path in (ROOT / "service").rglob("service.py")
        if any(m.endswith(".controller") for m in imports(path))
    ]
    assert offenders == []


def test_every_api_route_names_its_roles() -> None:
    """Default deny: a route under /api/v1 without a role guard is a defect."""
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
