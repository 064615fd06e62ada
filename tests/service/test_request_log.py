"""One structured line per request, its id answered in a header and carried into problem details."""

from __future__ import annotations

import json
import logging

import pytest
from httpx import AsyncClient

from service.logs import JsonFormatter, SchedulerChatterAtDebug, TextFormatter, log_config
from tests.service.conftest import World, make_unit


async def test_each_request_logs_one_line_with_id_route_role_status_and_duration(
    client: AsyncClient, world: World, caplog: pytest.LogCaptureFixture,
) -> None:
    unit = await make_unit(client, world)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="service.requests"):
        response = await client.put(
            f"/api/v1/units/{unit['id']}/availability", json={"status": "unavailable"},
            headers={**world.auth("provider"), "X-Request-ID": "trace-0123456789"},
        )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "trace-0123456789"
    lines = [r for r in caplog.records if r.name == "service.requests"]
    assert len(lines) == 1
    fields = lines[0].fields  # type: ignore[attr-defined]
    assert fields["request_id"] == "trace-0123456789"
    assert fields["route"] == "/api/v1/units/{unit_id}/availability"
    assert fields["role"] == "provider" and fields["status"] == 200 and fields["method"] == "PUT"
    assert fields["duration_ms"] >= 0
    # Never a body, a key or an address.
    text = TextFormatter().format(lines[0]) + JsonFormatter().format(lines[0])
    assert world.keys["provider"] not in text and "unavailable" not in text and "127.0.0.1" not in text


async def test_problem_details_carry_the_request_id(client: AsyncClient, world: World) -> None:
    refused = await client.get("/api/v1/vacancies", headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["request_id"] == refused.headers["X-Request-ID"]
    # A caller's id that is not a plain token is replaced, never echoed.
    odd = await client.get("/api/v1/nowhere", headers={"X-Request-ID": "<script>"})
    assert odd.status_code == 404 and odd.headers["X-Request-ID"] != "<script>"
    assert odd.json()["request_id"] == odd.headers["X-Request-ID"]


def test_json_lines_and_scheduler_chatter_at_debug() -> None:
    config = log_config("INFO", "json")
    assert config["handlers"]["default"]["formatter"] == "json"
    record = logging.LogRecord("service.requests", logging.INFO, __file__, 1, "request", None, None)
    record.fields = {"request_id": "abc", "status": 200}
    assert json.loads(JsonFormatter().format(record)) | {"at": None} == {
        "at": None, "level": "INFO", "logger": "service.requests", "message": "request", "request_id": "abc",
        "status": 200,
    }
    chatter = logging.LogRecord("apscheduler.executors.default", logging.INFO, __file__, 1, "Running job", None, None)
    assert SchedulerChatterAtDebug("INFO").filter(chatter) is False and chatter.levelname == "DEBUG"
    assert SchedulerChatterAtDebug("DEBUG").filter(logging.makeLogRecord(
        {"name": "apscheduler.scheduler", "levelno": logging.INFO, "levelname": "INFO"})) is True
    warning = logging.makeLogRecord({"name": "apscheduler.scheduler", "levelno": logging.WARNING})
    assert SchedulerChatterAtDebug("INFO").filter(warning) is True
