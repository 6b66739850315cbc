"""A fake Telegram Bot API server on loopback, for adapter and delivery tests.

It serves `{url}/bot{token}/{method}` (GET or POST; JSON, form-urlencoded or multipart
bodies, as python-telegram-bot sends them: nested values such as `reply_markup` arrive
JSON-encoded in form fields and are decoded here) and answers with Telegram's envelope,
`{"ok": true, "result": ...}` or `{"ok": false, "error_code": N, "description": ...}`.

Every call is recorded as a `Call` (method, decoded params, HTTP status) in `api.calls`.
Updates pushed with `api.push(...)` are served by `getUpdates` long polling, honouring
offset confirmation; builders (`text_update`, `callback_update`, ...) make realistic
updates with increasing `update_id` that can also be POSTed to a webhook. Knobs:
`reject_token`, `fail_next` / `rate_limit`, `block`, `slow`. The builders live in
`tests.fakes.telegram_updates` (FakeTelegramAPI inherits them).

    async with FakeTelegramAPI() as api:
        settings = load_settings(telegram_token=api.token, telegram_api_url=api.url, ...)
        api.push(api.text_update("/start", chat_id=1001))
        [call] = await api.wait_for("sendMessage", chat_id=1001)
        api.push(api.callback_update(1001, label="✅ Tôi đồng ý"))
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.rate_limits import RateLimits
from tests.fakes.telegram_updates import UpdateFactory

JSON_FIELDS = {"reply_markup", "allowed_updates", "entities", "caption_entities",
               "link_preview_options", "reply_parameters", "media"}
INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "cache_time",
              "max_connections", "message_thread_id", "from_chat_id"}
BOOL_FIELDS = {"show_alert", "drop_pending_updates", "disable_notification",
               "protect_content", "allow_sending_without_reply"}
SEND_METHODS = {"sendmessage", "senddocument", "sendphoto", "editmessagetext",
                "editmessagereplymarkup"}
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message")


@dataclass
class UploadedFile:
    """A file part of a multipart call."""

    filename: str | None
    content_type: str
    content: bytes


@dataclass
class Call:
    """One request the bot made; `status` is the HTTP status answered (0 while pending)."""

    method: str
    params: dict[str, Any]
    token: str
    http_method: str
    status: int = 0


@dataclass
class Failure:
    """An error answer to give instead of the method's result."""

    error_code: int
    description: str
    retry_after: int | None = None


class ApiError(Exception):
    """Raised by a method implementation to answer with an error envelope."""

    def __init__(self, error_code: int, description: str) -> None:
        super().__init__(description)
        self.failure = Failure(error_code, description)


class FakeTelegramAPI(UpdateFactory):
    """The fake server (and an update factory); use it as an async context manager."""

    def __init__(self, token: str = "123:ABC", *, bot_username: str = "ThiDuaBot") -> None:
        super().__init__()
        self.token = token
        self.bot_user = {"id": int(token.split(":")[0]) if token[0].isdigit() else 1,
                         "is_bot": True, "first_name": "Thi đua", "username": bot_username,
                         "can_join_groups": False, "can_read_all_group_messages": False,
                         "supports_inline_queries": False}
        self.calls: list[Call] = []
        self.webhook: dict[str, Any] | None = None
        self.pending: deque[dict[str, Any]] = deque()
        self.rejected_tokens: set[str] = set()
        self.blocked: set[int] = set()
        self.limits: RateLimits | None = None
        self._failures: dict[str, deque[Failure]] = defaultdict(deque)
        self._delays: dict[str, deque[float]] = defaultdict(deque)
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._arrived = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The API root to give the bot (`telegram_api_url`)."""
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeTelegramAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Listen on an unused loopback port."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._serve)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def close(self) -> None:
        """Wake any long poll and stop serving."""
        self._closing = True
        self._arrived.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- knobs -------------------------------------------------------------------------

    def reject_token(self, token: str | None = None) -> None:
        """Answer 401 Unauthorized to every call made with `token` (default: ours)."""
        self.rejected_tokens.add(token or self.token)

    def fail_next(self, method: str, times: int = 1, *, error_code: int = 500,
                  description: str = "Internal Server Error",
                  retry_after: int | None = None) -> None:
        """Answer the next `times` calls of `method` with this error."""
        for _ in range(times):
            self._failures[method.lower()].append(Failure(error_code, description, retry_after))

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 3) -> None:
        """Answer the next `times` calls of `method` with 429 and `retry_after` seconds."""
        self.fail_next(method, times, error_code=429, retry_after=retry_after,
                       description=f"Too Many Requests: retry after {retry_after}")

    def slow(self, method: str, seconds: float, times: int = 1) -> None:
        """Answer the next `times` calls of `method` only after `seconds`."""
        self._delays[method.lower()].extend([seconds] * times)

    def enforce_limits(self, per_second: int = 30, per_chat_gap: float = 1.0) -> RateLimits:
        """Refuse sends past Telegram's limits with 429 + retry_after, as Telegram does."""
        self.limits = RateLimits(per_second, per_chat_gap)
        return self.limits

    def block(self, *chat_ids: int) -> None:
        """Sends to these chats get 403 "Forbidden: bot was blocked by the user"."""
        self.blocked.update(chat_ids)

    # --- recorded calls ------------------------------------------------------------------

    def calls_to(self, method: str, chat_id: int | None = None,
                 *, ok_only: bool = True) -> list[Call]:
        """Recorded calls of `method` (answered 200 unless ok_only=False), maybe for one chat."""
        return [c for c in self.calls if c.method.lower() == method.lower()
                and (chat_id is None or c.params.get("chat_id") == chat_id)
                and (c.status == 200 or not ok_only)]

    async def wait_for(self, method: str, count: int = 1, *, chat_id: int | None = None,
                       timeout: float = 5.0) -> list[Call]:
        """Wait until `count` successful calls of `method` were recorded; return them all."""
        await self.wait_until(lambda: len(self.calls_to(method, chat_id)) >= count,
                              timeout=timeout, what=f"{count} x {method}")
        return self.calls_to(method, chat_id)

    async def wait_until(self, condition: Callable[[], bool], *, timeout: float = 5.0,
                         what: str = "condition") -> None:
        """Poll `condition` every 10 ms; fail with the calls seen so far after `timeout`."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                seen = [(c.method, c.status, c.params.get("chat_id")) for c in self.calls]
                raise AssertionError(f"timed out waiting for {what}; calls: {seen}")
            await asyncio.sleep(0.01)

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """A message the bot sent, as it is now (after edits)."""
        return self._messages[(chat_id, message_id)]

    # --- updates -----------------------------------------------------------------------

    def push(self, *updates: dict[str, Any]) -> None:
        """Queue updates for getUpdates."""
        self.pending.extend(updates)
        self._arrived.set()

    # --- the HTTP side -----------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        call = Call(method, await _read_params(request), token, request.method)
        self.calls.append(call)
        delays = self._delays.get(method.lower())
        if delays:
            await asyncio.sleep(delays.popleft())
        failure = self._failure_for(call)
        if failure is None:
            implementation = getattr(self, f"_m_{method.lower()}", None)
            if implementation is None:
                failure = Failure(404, "Not Found")
            else:
                try:
                    result = await implementation(call.params)
                except ApiError as exc:
                    failure = exc.failure
        if failure is not None:
            call.status = failure.error_code
            body: dict[str, Any] = {"ok": False, "error_code": failure.error_code,
                                    "description": failure.description}
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return web.json_response(body, status=failure.error_code)
        call.status = 200
        return web.json_response({"ok": True, "result": result})

    def _failure_for(self, call: Call) -> Failure | None:
        if call.token in self.rejected_tokens:
            return Failure(401, "Unauthorized")
        queued = self._failures.get(call.method.lower())
        if queued:
            return queued.popleft()
        if call.method.lower() in SEND_METHODS and call.params.get("chat_id") in self.blocked:
            return Failure(403, "Forbidden: bot was blocked by the user")
        if self.limits is not None and call.method.lower() in SEND_METHODS:
            wait = self.limits.check(call.params.get("chat_id"))
            if wait is not None:
                return Failure(429, f"Too Many Requests: retry after {wait}", wait)
        return None

    async def _m_getme(self, params: dict[str, Any]) -> Any:
        return self.bot_user

    async def _m_setwebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = {"url": params.get("url", ""), "secret_token": params.get("secret_token"),
                        "allowed_updates": params.get("allowed_updates")} if params.get(
                            "url") else None
        return True

    async def _m_deletewebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self.pending.clear()
        return True

    async def _m_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        hook = self.webhook or {}
        return {"url": hook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self.pending),
                **({"allowed_updates": hook["allowed_updates"]}
                   if hook.get("allowed_updates") else {})}

    async def _m_getupdates(self, params: dict[str, Any]) -> Any:
        if self.webhook:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                "active; use deleteWebhook to delete the webhook first")
        offset, limit = params.get("offset") or 0, params.get("limit") or 100
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            while offset and self.pending and self.pending[0]["update_id"] < offset:
                self.pending.popleft()
            remaining = deadline - time.monotonic()
            if self.pending or self._closing or remaining <= 0:
                return list(self.pending)[:limit]
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                pass

    async def _m_sendmessage(self, params: dict[str, Any]) -> Any:
        text = params.get("text") or ""
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return self._store(params, text=text)

    async def _m_senddocument(self, params: dict[str, Any]) -> Any:
        document = params.get("document")
        caption = params.get("caption")
        if caption and len(caption) > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")
        if isinstance(document, UploadedFile):
            n = self._ids["message"] + 1
            document = {"file_id": f"doc-{n}", "file_unique_id": f"ud{n}",
                        "file_name": document.filename, "mime_type": document.content_type,
                        "file_size": len(document.content)}
        elif not document:
            raise ApiError(400, "Bad Request: there is no document in the request")
        else:
            document = {"file_id": document, "file_unique_id": f"u{document}"}
        return self._store(params, document=document, **({"caption": caption} if caption else {}))

    async def _m_answercallbackquery(self, params: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self._open_callbacks:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired "
                                "or query ID is invalid")
        self._open_callbacks.discard(query_id)
        return True

    async def _m_editmessagetext(self, params: dict[str, Any]) -> Any:
        return self._edit(params, params.get("text"))

    async def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        return self._edit(params, None)

    def _store(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = params["chat_id"]
        message = {"message_id": self._next("message"), "from": self.bot_user,
                   "chat": self.chat(chat_id, "private" if chat_id > 0 else "group"),
                   "date": int(time.time()), **content}
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            _check_inline(markup)
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        self.sent[chat_id].append(message)
        return message

    def _edit(self, params: dict[str, Any], text: str | None) -> dict[str, Any]:
        key = (params.get("chat_id"), params.get("message_id"))
        message = self._messages.get(key)  # type: ignore[arg-type]
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        markup = params.get("reply_markup")
        new_text = text if text is not None else message.get("text")
        if new_text == message.get("text") and markup == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        if text is not None:
            message["text"] = text
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        return message


def _check_inline(markup: dict[str, Any]) -> None:
    for row in markup["inline_keyboard"]:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Query, JSON, urlencoded or multipart parameters, decoded to Python values."""
    raw: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.body_exists:
        if request.content_type == "application/json":
            body = await request.json()
            return {**{k: _decode(k, v) for k, v in raw.items()}, **body}
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                raw[key] = UploadedFile(value.filename, value.content_type, value.file.read())
            else:
                raw[key] = value
    return {key: _decode(key, value) for key, value in raw.items()}


def _decode(key: str, value: Any) -> Any:
    """Form values are strings; turn the ones Telegram types as JSON/int/bool back."""
    if not isinstance(value, str):
        return value
    if key in JSON_FIELDS:
        return json.loads(value)
    if key in INT_FIELDS and value.lstrip("-").isdigit():
        return int(value)
    if key in BOOL_FIELDS:
        return value.lower() == "true"
    return value
