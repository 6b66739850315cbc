"""A light fake Telegram Bot API for the ingest benchmark, in a process of its own.

It speaks the wire format of tests/fakes/telegram_api.py (`/bot{token}/{method}`,
form-urlencoded or JSON parameters with `reply_markup` JSON-encoded, Telegram's
`{"ok": ..., "result": ...}` envelope, full Message objects back) but keeps only what
the benchmark needs: counts per method and the last message with an inline keyboard
per chat, so the load generator can press a button the bot really showed. It records
no call list, so it stays fast and flat at thousands of calls a second.

    python bench/fake_bot_api.py --port 18303

Control routes (loopback only, for the load generator): `GET /_bench/last/{chat}`
(the last message with buttons, or null), `GET /_bench/stats`, `POST /_bench/reset`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

JSON_FIELDS = {"reply_markup", "allowed_updates", "entities", "link_preview_options"}
BOT_USER = {"id": 123, "is_bot": True, "first_name": "Thi đua", "username": "ThiDuaBot",
            "can_join_groups": False, "can_read_all_group_messages": False,
            "supports_inline_queries": False}


class FakeBotApi:
    """The methods a webhook bot calls, answered at once."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.errors = 0
        self.last_with_buttons: dict[int, dict[str, Any]] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.next_id = 0

    async def handle(self, request: web.BaseRequest) -> web.Response:
        """Route one request: a Bot API method or a control call."""
        parts = request.path.split("/")
        if len(parts) == 3 and parts[1].startswith("bot"):
            return await self._method(parts[2].lower(), request)
        if request.path.startswith("/_bench/"):
            return self._control(parts, request)
        return web.Response(status=404, text="not found")

    async def _method(self, method: str, request: web.BaseRequest) -> web.Response:
        params = await _params(request)
        self.counts[method] += 1
        answer = getattr(self, f"_m_{method}", None)
        if answer is None:
            return self._error(404, "Not Found")
        try:
            result = answer(params)
        except LookupError as exc:
            return self._error(400, f"Bad Request: {exc}")
        return web.json_response({"ok": True, "result": result})

    def _error(self, code: int, description: str) -> web.Response:
        self.errors += 1
        return web.json_response(
            {"ok": False, "error_code": code, "description": description}, status=code
        )

    def _control(self, parts: list[str], request: web.BaseRequest) -> web.Response:
        if parts[2] == "last" and len(parts) == 4:
            return web.json_response(self.last_with_buttons.get(int(parts[3])))
        if parts[2] == "stats":
            return web.json_response({"counts": dict(self.counts), "errors": self.errors})
        if parts[2] == "reset" and request.method == "POST":
            self.__init__()  # type: ignore[misc]
            return web.json_response(True)
        return web.Response(status=404, text="not found")

    def _m_getme(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    def _m_setwebhook(self, params: dict[str, Any]) -> Any:
        return True

    def _m_deletewebhook(self, params: dict[str, Any]) -> Any:
        return True

    def _m_answercallbackquery(self, params: dict[str, Any]) -> Any:
        return True

    def _m_sendmessage(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        if not str(params.get("text") or "").strip():
            raise LookupError("message text is empty")
        self.next_id += 1
        message: dict[str, Any] = {
            "message_id": self.next_id, "from": BOT_USER,
            "chat": {"id": chat_id, "type": "private", "first_name": "Lan"},
            "date": int(time.time()), "text": params["text"],
        }
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
            self.last_with_buttons[chat_id] = message
        self.messages[(chat_id, self.next_id)] = message
        return message

    def _m_editmessagetext(self, params: dict[str, Any]) -> Any:
        return self._edit(params, text=params.get("text"))

    def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        return self._edit(params, text=None)

    def _edit(self, params: dict[str, Any], text: str | None) -> Any:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self.messages.get(key)
        if message is None:
            raise LookupError("message to edit not found")
        edited = {k: v for k, v in message.items() if k != "reply_markup"}
        if text is not None:
            edited["text"] = text
        edited["edit_date"] = int(time.time())
        return edited


async def _params(request: web.BaseRequest) -> dict[str, Any]:
    """Form or JSON parameters, with the JSON-typed fields decoded."""
    if not request.body_exists:
        return dict(request.query)
    raw = await request.read()
    if request.content_type == "application/json":
        return json.loads(raw)
    params: dict[str, Any] = dict(parse_qsl(raw.decode()))
    for key in JSON_FIELDS & params.keys():
        params[key] = json.loads(params[key])
    return params


async def serve(port: int) -> None:
    """Listen on loopback until killed."""
    api = FakeBotApi()
    server = web.Server(api.handle, access_log=None)
    loop = asyncio.get_running_loop()
    await loop.create_server(server, "127.0.0.1", port, backlog=1024)
    print(f"fake Bot API on http://127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))
