"""Realistic Telegram updates for tests: messages, commands, contacts, photos, presses.

`UpdateFactory` numbers updates, incoming messages and callback queries upward, and
remembers the messages the bot sent (`sent`, filled by the fake API) so that
`callback_update` can press a button the bot really showed.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any


class UpdateFactory:
    """Builds update dicts as the Bot API delivers them (getUpdates or webhook body)."""

    def __init__(self) -> None:
        self.sent: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.users: dict[int, dict[str, Any]] = {}
        self._open_callbacks: set[str] = set()
        self._ids = {"update": 100, "message": 0, "incoming": 5000, "callback": 0}

    def user(self, user_id: int) -> dict[str, Any]:
        """A Telegram user (created on first use; edit `api.users[id]` to rename)."""
        return self.users.setdefault(user_id, {
            "id": user_id, "is_bot": False, "first_name": "Lan",
            "last_name": f"Nguyễn {user_id}", "username": f"lan{user_id}",
            "language_code": "vi"})

    def chat(self, chat_id: int, chat_type: str = "private") -> dict[str, Any]:
        """A private chat with user `chat_id`, or a group chat."""
        if chat_type == "private":
            user = self.user(chat_id)
            return {"id": chat_id, "type": "private", "first_name": user["first_name"],
                    "last_name": user["last_name"], "username": user["username"]}
        return {"id": chat_id, "type": chat_type, "title": "Tổ dân phố 1 - An Hải"}

    def text_update(self, text: str, chat_id: int = 1001, *, user_id: int | None = None,
                    chat_type: str = "private", edited: bool = False) -> dict[str, Any]:
        """A text message (commands get their bot_command entity)."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        message = self._incoming(chat_id, user_id, chat_type, **content)
        if edited:
            message["edit_date"] = message["date"] + 5
            return self._update(edited_message=message)
        return self._update(message=message)

    def contact_update(self, chat_id: int = 1001, phone: str = "84912345678", *,
                       own: bool = True) -> dict[str, Any]:
        """A shared contact: the sender's own (as request_contact sends) or someone else's."""
        contact = {"phone_number": phone, "first_name": "Lan",
                   "user_id": chat_id if own else chat_id + 777}
        return self._update(message=self._incoming(chat_id, None, "private", contact=contact))

    def photo_update(self, chat_id: int = 1001, *, caption: str | None = None) -> dict[str, Any]:
        """A photo in three sizes, the largest last."""
        n = self._next("incoming")
        sizes = [{"file_id": f"photo-{n}-{w}", "file_unique_id": f"u{n}{w}", "width": w,
                  "height": w * 3 // 4, "file_size": w * 60} for w in (90, 320, 1280)]
        extra = {"caption": caption} if caption else {}
        return self._update(message=self._incoming(chat_id, None, "private", photo=sizes,
                                                   **extra))

    def callback_update(self, chat_id: int = 1001, *, label: str | None = None,
                        data: str | None = None,
                        message: dict[str, Any] | None = None) -> dict[str, Any]:
        """A press on an inline button of a message the bot sent (the latest that has it)."""
        candidates = [message] if message else list(reversed(self.sent[chat_id]))
        for sent in candidates:
            rows = sent.get("reply_markup", {}).get("inline_keyboard", [])
            for button in (b for row in rows for b in row):
                if (label is None or button["text"] == label) and (
                        data is None or button.get("callback_data") == data):
                    query_id = str(8_000_000 + self._next("callback"))
                    self._open_callbacks.add(query_id)
                    return self._update(callback_query={
                        "id": query_id, "from": self.user(chat_id), "message": sent,
                        "chat_instance": f"ci{chat_id}", "data": button["callback_data"]})
        shown = [b["text"] for s in candidates
                 for row in s.get("reply_markup", {}).get("inline_keyboard", []) for b in row]
        raise LookupError(f"no button {label or data!r} in chat {chat_id}; buttons: {shown}")

    def _update(self, **payload: Any) -> dict[str, Any]:
        return {"update_id": self._next("update"), **payload}

    def _incoming(self, chat_id: int, user_id: int | None, chat_type: str,
                  **content: Any) -> dict[str, Any]:
        sender = self.user(user_id if user_id is not None else abs(chat_id))
        return {"message_id": self._next("incoming"), "from": sender,
                "chat": self.chat(chat_id, chat_type), "date": int(time.time()), **content}

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]
