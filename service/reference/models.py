"""Reference data: English councils, who neighbours whom, postcode district centroids."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base


class Authority(Base):
    __tablename__ = "authority"

    code: Mapped[str] = mapped_column(String(9), primary_key=True, comment="ONS GSS code")
    name: Mapped[str] = mapped_column(String(120))
    tier_one: Mapped[bool] = mapped_column(comment="bound by Part 4 of the Domestic Abuse Act 2021")


class AuthorityNeighbour(Base):
    __tablename__ = "authority_neighbour"

    code: Mapped[str] = mapped_column(ForeignKey("authority.code", ondelete="CASCADE"), primary_key=True)
    neighbour: Mapped[str] = mapped_column(ForeignKey("authority.code", ondelete="CASCADE"), primary_key=True)


class PostcodeDistrict(Base):
    __tablename__ = "postcode_district"

    district: Mapped[str] = mapped_column(String(4), primary_key=True)
    authority_code: Mapped[str | None] = mapped_column(ForeignKey("authority.code"), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
