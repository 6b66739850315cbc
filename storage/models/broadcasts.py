"""Broadcasts: a leader's or an officer's message to the residents of some groups.

The messages themselves are outbox rows keyed `broadcast:{id}:{channel}:{chat_id}`;
`first_outbox_id`..`last_outbox_id` bound them, so counting a broadcast's rows by
status reads a range of the outbox's primary key instead of the whole table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class Broadcast(Base):
    """One message sent to many residents; the author is told when it has gone out."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True, default=None
    )
    author_role: Mapped[str] = mapped_column(String(12))
    groups: Mapped[list[str]] = mapped_column(JSON)
    audience: Mapped[str] = mapped_column(String(48))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    first_outbox_id: Mapped[int | None] = mapped_column(Integer, default=None)
    last_outbox_id: Mapped[int | None] = mapped_column(Integer, default=None)
    progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


__all__ = ["Broadcast"]
