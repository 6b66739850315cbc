"""What the Zalo Official Account channel keeps: its OAuth tokens, pending connections,
the webhook events it has recorded and, per follower, when they last interacted."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow

# Zalo's messaging windows after a follower's last interaction: consultation messages are
# free for 48 hours, billed up to 7 days, refused after (-230).
FREE_WINDOW = timedelta(hours=48)
CS_WINDOW = timedelta(days=7)


class ZaloOAToken(Base):
    """The OA's token pair. Refresh tokens are single-use: `version` goes up by one with
    each refresh, and a refresh only stores its new pair if the version it read is still
    the current one, so two processes never both spend the same refresh token."""

    __tablename__ = "zalo_oa_tokens"

    oa_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    access_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # "ok", or "failed" once a refresh was refused: officers must connect again.
    status: Mapped[str] = mapped_column(String(12), default="ok")
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    # A process refreshing holds this lease so others wait instead of refreshing too.
    refreshing_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ZaloOAAuthRequest(Base):
    """One `thidua zalo-oa connect`: the PKCE verifier waiting for Zalo's code."""

    __tablename__ = "zalo_oa_auth_requests"

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    code_verifier: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # "pending", then "connected" or "failed" (with `error`).
    status: Mapped[str] = mapped_column(String(12), default="pending")
    oa_id: Mapped[str | None] = mapped_column(String(64), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class ZaloOAEvent(Base):
    """A webhook event, recorded before the 200 and handled after it (Zalo waits 2 s).

    `event_key` is the message id, or for events without one the event name, sender and
    timestamp: a redelivered or replayed event is recorded once.
    """

    __tablename__ = "zalo_oa_events"
    __table_args__ = (Index("ix_zalo_oa_events_pending", "processed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_key: Mapped[str] = mapped_column(String(160), unique=True)
    event_name: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class ZaloOAFollower(Base):
    """A Zalo user the OA knows, per OA user id: following or not, and the last time they
    interacted (a message, a button, a follow), which opens the OA's messaging windows."""

    __tablename__ = "zalo_oa_followers"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    following: Mapped[bool] = mapped_column(Boolean, default=True)
    last_interaction_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
