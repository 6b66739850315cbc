"""When the OA may write to a follower, and how: Zalo's messaging windows.

A consultation message (CS) reaches a follower who interacted with the OA within the last
7 days; within 48 hours of that interaction it is free, after it billed. Outside what CS
allows, an approved template (ZBS) may still go out, if the ward has one. Otherwise the
message waits (HOLD) in the outbox for the resident's next message.

The policy is pure: the last interaction, the time now and the settings decide.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from bot.settings import Settings
from storage.models.zalo_oa import CS_WINDOW as CS_FOR
from storage.models.zalo_oa import FREE_WINDOW as FREE_FOR


class Window(StrEnum):
    """How a message to one follower can go out now."""

    FREE = "free"  # a CS message, free (≤ 48 h since their last interaction)
    PAID = "paid"  # a CS message, billed (48 h – 7 d; only if the ward pays)
    TEMPLATE = "template"  # the ward's approved template
    HOLD = "hold"  # nothing may go out: wait for the resident's next message


def decide(
    last_interaction_at: datetime | None,
    now: datetime,
    *,
    paid_messages: bool,
    template_id: str | None,
) -> Window:
    """The window a message falls in, given the follower's last interaction."""
    if last_interaction_at is not None:
        since = now - last_interaction_at
        if since <= FREE_FOR:
            return Window.FREE
        if since <= CS_FOR and paid_messages:
            return Window.PAID
    return Window.TEMPLATE if template_id else Window.HOLD


def window_for(last_interaction_at: datetime | None, now: datetime, settings: Settings) -> Window:
    """`decide` with the ward's settings (THIDUA_ZALO_OA_PAID_MESSAGES, _TEMPLATE_ID)."""
    return decide(
        last_interaction_at,
        now,
        paid_messages=settings.zalo_oa_paid_messages,
        template_id=settings.zalo_oa_template_id,
    )


def closed_before(now: datetime) -> datetime:
    """The latest last interaction consistent with Zalo saying "no interaction in 7 days"."""
    return now - CS_FOR - timedelta(seconds=1)
