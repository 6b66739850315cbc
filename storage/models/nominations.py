"""“Người tốt, việc tốt” nominations and the history of their review."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, TimestampMixin, UTCDateTime

INDIVIDUAL, COLLECTIVE = "individual", "collective"
KINDS = (INDIVIDUAL, COLLECTIVE)

SUBMITTED = "submitted"
UNDER_REVIEW = "under_review"
APPROVED = "approved"
HONOURED = "honoured"
REJECTED = "rejected"
STATUSES = (SUBMITTED, UNDER_REVIEW, APPROVED, HONOURED, REJECTED)


class Nomination(TimestampMixin, Base):
    """One nomination of a person or a collective, as the nominator confirmed it."""

    __tablename__ = "nominations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    nominator_resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(12))
    nominee_name: Mapped[str] = mapped_column(String(120))
    group_code: Mapped[str] = mapped_column(String(8), index=True)
    field_code: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    photo_channel: Mapped[str | None] = mapped_column(String(16))
    photo_ref: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=SUBMITTED, index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    nominee_agreed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NominationEvent(Base):
    """One step of a nomination's history: the status it entered, why, and who moved it."""

    __tablename__ = "nomination_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    nomination_id: Mapped[int] = mapped_column(
        ForeignKey("nominations.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    actor_resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL")
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
