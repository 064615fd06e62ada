"""api_spec/openapi.json is the document the service serves."""

from __future__ import annotations

import json
from pathlib import Path

from httpx import ASGITransport, AsyncClient

from service.app import create_app
from service.settings import Settings

SPEC = Path(__file__).parents[1] / "api_spec" / "openapi.json"


async def test_committed_spec_equals_the_served_one() -> None:
    app = create_app(Settings(database_url="postgresql://unused@/unused", run_scheduler=False))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://testserver") as client:
        served = (await client.get("/schema/openapi.json")).json()
    committed = json.loads(SPEC.read_text(encoding="utf-8"))
    assert served == committed, "api_spec/openapi.json is stale: run `safeaccom openapi --output api_spec/openapi.json`"
    assert "/api/v1/units/{unit_id}/availability" in served["paths"]


def test_every_report_is_described_field_by_field() -> None:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    schemas = spec["components"]["schemas"]
    for name, report in (("occupancy", "OccupancyReport"), ("unmet-need", "UnmetNeedReport"),
                         ("capacity-plan", "CapacityPlan"), ("annual-return", "AnnualReturn")):
        answer = spec["paths"][f"/api/v1/reports/{name}"]["get"]["responses"]["200"]["content"]["application/json"]
        assert f"#/components/schemas/{report}" in json.dumps(answer["schema"]), name
        assert schemas[report]["properties"] and "additionalProperties" not in schemas[report], report
