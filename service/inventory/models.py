"""Providers, their schemes (a refuge, a block of dispersed units ...) and the units they let."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text, false, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from service.db import Base, str_enum


class SchemeType(enum.StrEnum):
    REFUGE = "refuge"
    SPECIALIST_REFUGE = "specialist_refuge"
    DISPERSED = "dispersed"
    MOVE_ON = "move_on"
    OTHER_SAFE = "other_safe"
    # Support in the household's own home (SI 2021/991 reg. 2): recorded and reported, never matched.
    SANCTUARY = "sanctuary"


class UnitStatus(enum.StrEnum):
    AVAILABLE = "available"
    HELD = "held"  # a pending offer holds it (offers feature)
    OCCUPIED = "occupied"
    UNAVAILABLE = "unavailable"


class Provider(Base):
    __tablename__ = "provider"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    authority_code: Mapped[str] = mapped_column(ForeignKey("authority.code"))
    authority: Mapped[str] = synonym("authority_code")  # its name in the API
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Scheme(Base):
    __tablename__ = "scheme"
    __table_args__ = (
        CheckConstraint("max_children IS NULL OR max_children >= 0", name="max_children_not_negative"),
        CheckConstraint("max_boy_age IS NULL OR max_boy_age >= 0", name="max_boy_age_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[SchemeType] = mapped_column(str_enum(SchemeType))
    authority_code: Mapped[str] = mapped_column(ForeignKey("authority.code"), index=True)
    authority: Mapped[str] = synonym("authority_code")  # its name in the API
    district: Mapped[str] = mapped_column(ForeignKey("postcode_district.district"))
    # Confidential: deferred so that no query loads it unless a handler asks for it by name.
    address: Mapped[str] = mapped_column(Text, deferred=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    genders: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    accepts_children: Mapped[bool]
    max_children: Mapped[int | None]
    max_boy_age: Mapped[int | None]
    pets: Mapped[bool]
    accepts_nrpf: Mapped[bool]
    communal: Mapped[bool]
    languages: Mapped[list[str]] = mapped_column(ARRAY(String(3)))
    specialisms: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    specialist_only: Mapped[bool]
    # A unit may refuse an assistance dog only for a documented reason (a resident's allergy ...).
    no_assistance_dog_reason: Mapped[str | None] = mapped_column(Text)
    part4_commissioned: Mapped[bool] = mapped_column(
        default=False, server_default=false(),
        comment="commissioned by the council under Part 4 of the Domestic Abuse Act 2021",
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    provider: Mapped[Provider] = relationship(lazy="raise")


class Unit(Base):
    __tablename__ = "unit"
    __table_args__ = (
        CheckConstraint("bedspaces >= 1", name="bedspaces_positive"),
        CheckConstraint("version >= 1", name="version_positive"),
        Index("ix_unit_available", "status", postgresql_where="status = 'available'"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("scheme.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    bedspaces: Mapped[int]
    wheelchair_accessible: Mapped[bool]
    step_free: Mapped[bool]
    status: Mapped[UnitStatus] = mapped_column(str_enum(UnitStatus))
    available_from: Mapped[date | None]
    confirmed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    version: Mapped[int] = mapped_column(server_default="1")
    stale_flagged_at: Mapped[datetime | None] = mapped_column(comment="when the provider was asked to reconfirm")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    scheme: Mapped[Scheme] = relationship(lazy="raise")
