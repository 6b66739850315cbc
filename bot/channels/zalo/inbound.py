"""Zalo Bot API update -> Incoming: private messages only; the rest is ignored.

Read liberally, because sources disagree on the shape: a webhook body may be the bare
update or wrapped as `{ok, result}`; getUpdates may give one update or a list; the
sender's name is `display_name`, `name` or `first_name`; a missing `event_name` is
inferred from the fields. Ids are strings and `date` is in milliseconds. The message id
is the update id, so the dispatcher handles a redelivered message once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.channels.payload import as_dict as _dict
from bot.channels.payload import epoch_moment
from bot.channels.payload import id_text as _id
from bot.events import Incoming, MediaRef
from bot.normalize import split_command

logger = logging.getLogger(__name__)

CHANNEL = "zalo"
MAX_ID = 64
TEXT, IMAGE, STICKER, VOICE, UNSUPPORTED = (
    "message.text.received",
    "message.image.received",
    "message.sticker.received",
    "message.voice.received",
    "message.unsupported.received",
)


def updates_in(body: object) -> list[dict[str, Any]]:
    """The updates a webhook body or getUpdates answer holds (wrapped or bare, one or many)."""
    if isinstance(body, dict) and "result" in body and "ok" in body:
        if body.get("ok") is not True:
            return []
        body = body["result"]
    if isinstance(body, list):
        return [update for update in body if isinstance(update, dict)]
    return [body] if isinstance(body, dict) and body else []


def to_incoming(update: dict[str, Any], now: datetime | None = None) -> Incoming | None:
    """The neutral event for a private message; None for groups, bots and non-messages."""
    message = _message_of(update)
    if message is None:
        logger.debug("Zalo update without a message ignored: %s", sorted(update))
        return None
    event = str(update.get("event_name") or "") or infer_event(message)
    if not event.startswith("message."):
        logger.info("Zalo event %s ignored", event)
        return None
    chat = _dict(message.get("chat"))
    sender = _dict(message.get("from"))
    chat_type = str(chat.get("chat_type") or chat.get("type") or "PRIVATE").upper()
    if chat_type != "PRIVATE" or sender.get("is_bot") is True:
        logger.info("Zalo %s message from a %s chat ignored", event, chat_type.lower())
        return None
    chat_id = _id(chat.get("id"))
    user_id = _id(sender.get("id")) or chat_id
    chat_id = chat_id or user_id
    if not chat_id or not user_id or max(len(chat_id), len(user_id)) > MAX_ID:
        logger.warning("Zalo %s message without a usable chat or sender id ignored", event)
        return None
    message_id = _id(message.get("message_id"))
    base = Incoming(
        channel=CHANNEL,
        update_id=message_id if 0 < len(message_id) <= MAX_ID else _digest(update),
        chat_id=chat_id,
        user_id=user_id,
        received_at=epoch_moment(message.get("date")) or now or datetime.now(UTC),
        kind="other",
        display_name=_name(sender),
        raw=update,
    )
    return _with_content(base, event, message)


def infer_event(message: dict[str, Any]) -> str:
    """The event name a message's fields imply, when Zalo did not say."""
    if isinstance(message.get("text"), str):
        return TEXT
    if _photo_url(message):
        return IMAGE
    if message.get("sticker"):
        return STICKER
    if message.get("voice_url") or message.get("voice"):
        return VOICE
    return UNSUPPORTED


def _with_content(base: Incoming, event: str, message: dict[str, Any]) -> Incoming:
    if event == IMAGE:
        url = _photo_url(message, loose=True)
        if url:
            return replace(base, kind="media", media=MediaRef("photo", url, "image/jpeg"))
        return base
    if event == STICKER:
        sticker = message.get("sticker")
        if isinstance(sticker, dict):
            sticker = sticker.get("id") or sticker.get("url")
        ref = str(sticker or message.get("url") or "sticker")
        return replace(base, kind="media", media=MediaRef("sticker", ref))
    if event == VOICE:
        ref = str(message.get("voice_url") or message.get("url") or "voice")
        return replace(base, kind="media", media=MediaRef("audio", ref, "audio/aac"))
    text = message.get("text")
    if isinstance(text, str) and text.strip():
        parsed = split_command(text)
        if parsed is not None:
            return replace(base, kind="command", command=parsed[0], args=parsed[1])
        return replace(base, kind="text", text=text)
    url = _photo_url(message) if event not in (TEXT, UNSUPPORTED) else None
    if url:
        return replace(base, kind="media", media=MediaRef("photo", url, "image/jpeg"))
    # Unsupported content (files, links, protected senders whose content Zalo withholds).
    return base


def _message_of(update: dict[str, Any]) -> dict[str, Any] | None:
    message = update.get("message")
    if isinstance(message, dict):
        return message
    if "message_id" in update and ("chat" in update or "from" in update):
        return update
    return None


def _photo_url(message: dict[str, Any], *, loose: bool = False) -> str | None:
    keys = ("photo_url", "photo", "image_url", "url") if loose else (
        "photo_url", "photo", "image_url")
    for key in keys:
        value = message.get(key)
        if isinstance(value, list) and value:
            value = value[-1]
        if isinstance(value, dict):
            value = value.get("url") or value.get("photo_url")
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
    return None


def _name(sender: dict[str, Any]) -> str | None:
    for key in ("display_name", "name"):
        value = sender.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    parts = [sender.get("first_name"), sender.get("last_name")]
    joined = " ".join(str(p).strip() for p in parts if isinstance(p, str) and p.strip())
    return joined or None



def _digest(update: dict[str, Any]) -> str:
    """A stable id for an update without a message id, so a redelivery is still one."""
    canonical = json.dumps(update, sort_keys=True, ensure_ascii=False, default=str)
    return "h" + hashlib.sha256(canonical.encode()).hexdigest()[:40]
