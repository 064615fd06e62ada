"""Prometheus metrics of the service's own work (requests are counted by Litestar's middleware).

Counters and histograms count in every process whether or not `/metrics` is served (a few
nanoseconds each); with `SAFEACCOM_METRICS=1` they are exposed at `GET /metrics`. With several
worker processes `safeaccom serve` points PROMETHEUS_MULTIPROC_DIR at a folder of its own, so any
worker answers for all of them. The gauges read from the database (webhook backlog, stale
vacancies) are refreshed by the process that answers the scrape.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from prometheus_client import Counter, Gauge, Histogram

PREFIX = "safeaccom"

JOB_RUNS = Counter(
    f"{PREFIX}_job_runs_total", "Scheduled job runs by outcome: ran, skipped (another process or period), failed",
    ["job", "outcome"],
)
JOB_SECONDS = Histogram(
    f"{PREFIX}_job_run_seconds", "Duration of scheduled job runs that ran (committed or failed)", ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300),
)
WEBHOOK_DELIVERIES = Counter(
    f"{PREFIX}_webhook_deliveries_total",
    "Webhook delivery attempts by outcome: delivered, retry (will be tried again), failed (gave up)", ["outcome"],
)
WEBHOOK_BACKLOG = Gauge(
    f"{PREFIX}_webhook_backlog", "Webhook messages waiting to be delivered, and those kept as failed", ["state"],
    multiprocess_mode="mostrecent",
)
STALE_VACANCIES = Gauge(
    f"{PREFIX}_stale_vacancies", "Available units not confirmed within SAFEACCOM_STALE_HOURS, by provider id",
    ["provider_id"], multiprocess_mode="mostrecent",
)
MATCH_SECONDS = Histogram(
    f"{PREFIX}_match_run_seconds", "Wall time of solves (match runs, proposals, what-if solves, capacity plans)",
    ["kind"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def set_gauge(gauge: Gauge, values: dict[str, float]) -> None:
    """Replace a one-label gauge's series with these values (series that went away are dropped)."""
    gauge.clear()
    for label, value in values.items():
        gauge.labels(label).set(value)


@contextlib.contextmanager
def timed(histogram: Histogram, label: str) -> Iterator[None]:
    """Observe the block's wall time under this label (also when it raises)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        histogram.labels(label).observe(time.perf_counter() - started)
