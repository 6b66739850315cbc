"""Telegram update parsing, from recorded raw updates in tests/payloads/telegram."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.channels.telegram import parse_update
from bot.channels.telegram.inbound import to_incoming
from bot.events import MediaRef

PAYLOADS = Path(__file__).parent.parent / "payloads" / "telegram"


def load_update(name: str) -> Update:
    return Update.de_json(json.loads((PAYLOADS / f"{name}.json").read_text()), None)


LAN = "5123456789"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("private_text", {"kind": "text", "text": "Đăng ký hộ gia đình"}),
        ("command_botname", {"kind": "command", "command": "ngonngu", "args": ("en",),
                             "text": None}),
        ("callback_query", {"kind": "button", "button": "s2:02"}),
        ("contact_self", {"kind": "contact", "contact_phone": "84912345678"}),
        ("contact_other", {"kind": "other", "contact_phone": None}),
        ("photo", {"kind": "media", "media": MediaRef(
            "photo", "AgACAgUAAxkBAAIBBmdDn1-large", "image/jpeg", 98430)}),
        ("document", {"kind": "media", "media": MediaRef(
            "document", "BQACAgUAAxkBAAIBB2dDn2-doc", "application/pdf", 245113)}),
        ("voice", {"kind": "media", "media": MediaRef(
            "audio", "AwACAgUAAxkBAAIBCGdDn3-voice", "audio/ogg", 14336)}),
        ("location", {"kind": "other"}),
    ],
)
def test_private_updates_become_incoming(name: str, expected: dict[str, Any]) -> None:
    incoming = to_incoming(load_update(name))
    assert incoming is not None
    assert (incoming.channel, incoming.chat_id, incoming.user_id) == ("telegram", LAN, LAN)
    assert incoming.display_name == "Lan Nguyễn Thị"
    assert incoming.lang_hint == "vi"
    assert incoming.update_id == str(json.loads((PAYLOADS / f"{name}.json").read_text())
                                     ["update_id"])
    assert incoming.received_at.utcoffset() is not None
    assert incoming.raw is not None and incoming.raw["update_id"] == int(incoming.update_id)
    for field, value in expected.items():
        assert getattr(incoming, field) == value, field


def test_message_time_is_kept_in_utc() -> None:
    incoming = to_incoming(load_update("private_text"))
    assert incoming is not None
    assert incoming.received_at.isoformat() == "2025-11-24T16:00:00+00:00"


@pytest.mark.parametrize("name", ["group_text", "edited_message", "channel_post"])
def test_updates_outside_private_chats_are_ignored(name: str) -> None:
    assert to_incoming(load_update(name)) is None


def test_webhook_bodies_parse_like_polled_updates() -> None:
    data = json.loads((PAYLOADS / "callback_query.json").read_text())
    update = parse_update(data, None)
    assert update is not None and update.callback_query is not None
    assert parse_update({"update_id": True}, None) is None
    assert parse_update({"message": {}}, None) is None
