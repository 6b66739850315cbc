"""Reminder rules (a cron schedule, an audience, a message) and each time one fired.

A rule is never removed from the table: deleting it sets the status "deleted", so its
name stays taken and a default rule from the ward file does not come back at the next
start. A fire is recorded once per (rule, fire time); the process that inserts that
row is the one that enqueues the messages, so two running instances never send twice.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow

ACTIVE, PAUSED, DELETED = "active", "paused", "deleted"


class ReminderRule(Base):
    """When (cron, Asia/Ho_Chi_Minh), to whom (audience, groups) and what to remind."""

    __tablename__ = "reminder_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    cron: Mapped[str] = mapped_column(String(100))
    audience: Mapped[str] = mapped_column(String(60), default="reminders")
    groups: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    message: Mapped[str] = mapped_column(Text)
    deadline: Mapped[date | None] = mapped_column(Date, default=None)
    status: Mapped[str] = mapped_column(String(10), default=ACTIVE)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class ReminderFire(Base):
    """One fire of a rule: inserted once, whichever instance gets there first."""

    __tablename__ = "reminder_fires"
    __table_args__ = (UniqueConstraint("rule_id", "fire_time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("reminder_rules.id", ondelete="CASCADE"))
    fire_time: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recipients: Mapped[int] = mapped_column(Integer, default=0)


__all__ = ["ACTIVE", "DELETED", "PAUSED", "ReminderFire", "ReminderRule"]
