"""Small helpers shared by tests that start real servers."""

from __future__ import annotations

import socket

from sqlalchemy.ext.asyncio import AsyncSession

from service.inventory.models import Provider, Scheme, Unit, UnitStatus


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def add_refuge_unit(session: AsyncSession, authority: str, name: str, bedspaces: int = 2) -> tuple[int, int]:
    """A provider with one refuge in district HD1 and one available unit; returns (provider id, unit id)."""
    provider = Provider(name=f"{name} provider", authority_code=authority)
    session.add(provider)
    await session.flush()
    scheme = Scheme(provider_id=provider.id, name=name, type="refuge", authority_code=authority, district="HD1",
                    address="confidential", lat=53.64, lon=-1.79, genders=["female"], accepts_children=True,
                    pets=False, accepts_nrpf=False, communal=True, languages=["en"], specialisms=[],
                    specialist_only=False)
    session.add(scheme)
    await session.flush()
    unit = Unit(scheme_id=scheme.id, label="Room", bedspaces=bedspaces, wheelchair_accessible=False,
                step_free=False, status=UnitStatus.AVAILABLE, version=1)
    session.add(unit)
    await session.flush()
    return provider.id, unit.id
