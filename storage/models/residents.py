"""Residents and the channel accounts they chat from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, TimestampMixin, UTCDateTime


class Resident(TimestampMixin, Base):
    """A person who has agreed to the data notice; nothing exists before consent."""

    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_code: Mapped[str] = mapped_column(String(8))
    lang: Mapped[str] = mapped_column(String(5), default="vi")
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consent_version: Mapped[str] = mapped_column(String(20))
    reminders_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    identities: Mapped[list[ChannelIdentity]] = relationship(
        back_populates="resident", lazy="raise_on_sql", cascade="all, delete-orphan"
    )


class ChannelIdentity(TimestampMixin, Base):
    """One platform account (Telegram user, Zalo user, web chat browser) of a resident."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    resident: Mapped[Resident] = relationship(back_populates="identities", lazy="raise_on_sql")
