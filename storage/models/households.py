"""Households registered for the ward's campaigns, and each year's pledge of campaigns.

A household is one row however many residents register it: its phone number is unique,
and so is its address within a residential group (compared through `address_key`, a
normalized form, so "Số 12, ngõ 34" and "so 12 ngo 34" are the same house).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, TimestampMixin, UTCDateTime


class Household(TimestampMixin, Base):
    """A household as its head, address and phone; stored only once someone confirms it."""

    __tablename__ = "households"
    __table_args__ = (UniqueConstraint("group_code", "address_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_code: Mapped[str] = mapped_column(String(8))
    head_name: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(200))
    address_key: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(16), unique=True)
    members: Mapped[int] = mapped_column(Integer)
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consent_by: Mapped[str] = mapped_column(String(10), default="self")
    registered_by_resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True, default=None
    )
    # A leader or officer who registered the household for its head (consent_by "leader").
    assisted_by_resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True, default=None
    )
    pledges: Mapped[list[HouseholdPledge]] = relationship(
        back_populates="household",
        lazy="raise_on_sql",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class HouseholdPledge(Base):
    """The campaigns a household takes part in during one (Hải Phòng) calendar year."""

    __tablename__ = "household_pledges"
    __table_args__ = (UniqueConstraint("household_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE")
    )
    year: Mapped[int] = mapped_column(Integer, index=True)
    campaigns: Mapped[list[str]] = mapped_column(JSON)
    pledged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pledged_by_resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True, default=None
    )
    household: Mapped[Household] = relationship(back_populates="pledges", lazy="raise_on_sql")


__all__ = ["Household", "HouseholdPledge"]
