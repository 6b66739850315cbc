"""The satisfaction survey: surveys, their questions, and one response per resident.

A response keeps the resident's id only so that each person is counted once; the
figures and exports use the group and the answers, never who gave them. When a
resident deletes their data the link is cut (resident_id NULL) and the answers stay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow

OPEN, CLOSED = "open", "closed"
KINDS = ("scale", "single", "multi", "yesno", "text")


class Survey(Base):
    """A survey; open from `opens_at` until it is closed or `closes_at` passes."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default=OPEN)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def is_open(self, now: datetime) -> bool:
        """Whether residents may answer at `now`."""
        return (
            self.status == OPEN
            and self.opens_at <= now
            and (self.closes_at is None or self.closes_at > now)
        )


class SurveyQuestion(Base):
    """One question; `options` are the labels of a single or multi question, by index."""

    __tablename__ = "survey_questions"
    __table_args__ = (UniqueConstraint("survey_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    optional: Mapped[bool] = mapped_column(Boolean, default=False)


class SurveyResponse(Base):
    """A resident's answers to one survey, keyed by question code.

    Values: scale → int 1-5; single → option index; multi → list of option indexes;
    yesno → bool; text (or any skipped optional question) → str or None.
    `started_at`/`submitted_at` belong to the latest submission; `updated_at` also
    moves when a comment is added.
    """

    __tablename__ = "survey_responses"
    __table_args__ = (UniqueConstraint("survey_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True, default=None
    )
    group_code: Mapped[str] = mapped_column(String(8))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
