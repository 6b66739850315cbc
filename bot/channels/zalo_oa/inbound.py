"""Zalo OA webhook event -> Incoming; which events are echoes; each event's key.

Ids and `timestamp` arrive as strings (milliseconds). A tapped `oa.query.show` button
arrives as the resident's own `user_send_text` carrying the button's label, so it reads
as typed text. A new follower is greeted as if they had sent /batdau; an unfollow only
updates the follower row. The form answer (`user_submit_info`) becomes
Incoming(kind="user_info") with name, phone and one address line.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.channels.payload import as_dict as _dict
from bot.channels.payload import epoch_moment
from bot.channels.payload import id_text as _id
from bot.events import Incoming, MediaRef
from bot.normalize import split_command

logger = logging.getLogger(__name__)

CHANNEL = "zalo_oa"
MAX_ID = 64
MAX_KEY = 160
FOLLOW, UNFOLLOW, SUBMIT_INFO = "follow", "unfollow", "user_submit_info"
IGNORED = frozenset({"user_received_message", "user_seen_message"})
_ADDRESS_PARTS = ("user_address", "address", "ward", "user_ward", "district", "user_district",
                  "city", "user_city")


def user_of(event: dict[str, Any]) -> str:
    """The Zalo user the event is about (sender, or the follower), '' if none."""
    for holder in ("sender", "follower", "user"):
        value = _dict(event.get(holder)).get("id")
        if value not in (None, ""):
            return _id(value)
    return _id(event.get("user_id"))


def is_echo(event: dict[str, Any], oa_id: str | None) -> bool:
    """An event about the OA's own message (Zalo sends those back to the webhook)."""
    name = str(event.get("event_name") or "")
    if name.startswith("oa_send_"):
        return True
    sender = _id(_dict(event.get("sender")).get("id"))
    return bool(oa_id) and sender == oa_id


def moment(event: dict[str, Any]) -> datetime | None:
    """When Zalo says the event happened (`timestamp`, ms), or None."""
    return epoch_moment(event.get("timestamp"))


def event_key(event: dict[str, Any]) -> str:
    """The message id, else event name + user + timestamp: a redelivery has the same key."""
    message_id = _id(_dict(event.get("message")).get("msg_id"))
    if 0 < len(message_id) <= MAX_ID:
        return f"m:{message_id}"
    raw = f"{event.get('event_name')}:{user_of(event)}:{event.get('timestamp')}"
    if len(raw) <= MAX_KEY - 2:
        return f"e:{raw}"
    return "h:" + hashlib.sha256(raw.encode()).hexdigest()


def to_incoming(event: dict[str, Any], key: str, now: datetime) -> Incoming | None:
    """The neutral event, or None for what the core does not need (receipts, unfollow...)."""
    name = str(event.get("event_name") or "")
    user_id = user_of(event)
    if not user_id or len(user_id) > MAX_ID or name in IGNORED or name == UNFOLLOW:
        return None
    base = Incoming(
        channel=CHANNEL,
        update_id=key[:MAX_KEY],
        chat_id=user_id,
        user_id=user_id,
        received_at=moment(event) or now,
        kind="other",
        display_name=_name(event),
        raw=event,
    )
    if name == FOLLOW:
        return replace(base, kind="command", command="batdau")
    if name == SUBMIT_INFO:
        return replace(base, kind="user_info", user_info=shared_info(event))
    message = _dict(event.get("message"))
    if name == "user_send_text":
        text = message.get("text")
        if not isinstance(text, str) or not text.strip():
            return base
        parsed = split_command(text)
        if parsed is not None:
            return replace(base, kind="command", command=parsed[0], args=parsed[1])
        return replace(base, kind="text", text=text)
    if name == "user_send_image":
        url = _attachment_url(message, "image")
        if url:
            return replace(base, kind="media", media=MediaRef("photo", url, "image/jpeg"))
    return base


def shared_info(event: dict[str, Any]) -> dict[str, str]:
    """Name, phone and one address line (street, ward, district, city as given)."""
    info = _dict(event.get("info"))
    found: dict[str, str] = {}
    for key in ("name", "phone"):
        value = info.get(key)
        if isinstance(value, str | int) and str(value).strip():
            found[key] = str(value).strip()
    parts: list[str] = []
    nested = _dict(info.get("full_address"))
    for key in _ADDRESS_PARTS:
        value = nested.get(key, info.get(key))
        if isinstance(value, str) and value.strip() and value.strip() not in parts:
            parts.append(value.strip())
    if parts:
        found["address"] = ", ".join(parts)
    return found


def _attachment_url(message: dict[str, Any], kind: str) -> str | None:
    for item in message.get("attachments") or []:
        if isinstance(item, dict) and item.get("type") == kind:
            payload = _dict(item.get("payload"))
            url = payload.get("url") or payload.get("thumbnail")
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                return url
    return None


def _name(event: dict[str, Any]) -> str | None:
    for holder in ("sender", "follower", "user"):
        value = _dict(event.get(holder)).get("display_name")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None

