"""Who is calling: the roles of API keys and the caller a key stands for, shared by every feature."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    ADMIN = "admin"
    OFFICER = "officer"
    PROVIDER = "provider"
    COMMISSIONER = "commissioner"


@dataclass(frozen=True)
class Caller:
    """Who is calling: a key's role and scope."""

    key_id: int
    role: Role
    authority: str | None = None
    provider_id: int | None = None
