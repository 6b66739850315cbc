"""A fake Zalo Bot API server on loopback, for adapter and delivery tests.

It serves `{url}/bot{token}/{method}` (POST with a JSON body, or query parameters) and
answers with Zalo's envelope, `{"ok": true, "result": ...}` or `{"ok": false,
"error_code": N, "description": ...}` — with HTTP 200 even for errors, as Zalo does
(`error_http_status=True` mirrors the code in the HTTP status instead).

Every call is recorded as a `Call` in `api.calls`. Updates pushed with `api.push(...)`
are served by getUpdates long polling: one update per call (as Zalo does), or all of
them as a list with `list_updates=True`, and 408 when the poll ends with nothing. The
builders make updates as Zalo sends them (hex string ids, dates in milliseconds), to
queue or to POST to a webhook. Knobs: `reject_token`, `fail_next`, `rate_limit`,
`enforce_limits`, `unreachable`, `slow`, `fetch_photos`.

    async with FakeZaloAPI() as api:
        settings = load_settings(zalo_token=api.token, zalo_api_url=api.url, ...)
        api.push(api.text_update("/batdau", chat_id="a1b2"))
        [call] = await api.wait_for("sendMessage", chat_id="a1b2")
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.rate_limits import RateLimits

SEND_METHODS = {"sendmessage", "sendphoto", "sendsticker"}
UNREACHABLE = (-217, "User has blocked the bot and cannot receive messages")


@dataclass
class Call:
    """One request the bot made; `status` is 200 or the error code answered (0 while pending)."""

    method: str
    params: dict[str, Any]
    token: str
    status: int = 0


@dataclass
class Failure:
    """An error answer to give instead of the method's result."""

    error_code: int
    description: str
    retry_after: int | None = None


@dataclass
class Fetched:
    """What the fake got when it fetched a photo URL (as Zalo's servers would)."""

    url: str
    status: int
    content_type: str
    body: bytes = field(repr=False)


class ApiError(Exception):
    """Raised by a method implementation to answer with an error envelope."""

    def __init__(self, error_code: int, description: str) -> None:
        super().__init__(description)
        self.failure = Failure(error_code, description)


class FakeZaloAPI:
    """The fake server and an update factory; use it as an async context manager."""

    def __init__(self, token: str = "2468013579:fake-zalo-bot-secret", *,
                 list_updates: bool = False, error_http_status: bool = False) -> None:
        self.token = token
        self.list_updates = list_updates
        self.error_http_status = error_http_status
        self.fetch_photos = False
        self.bot = {"id": token.split(":")[0], "account_name": "bot.ThiDuaAnHai",
                    "account_type": "BASIC", "can_join_groups": False}
        self.calls: list[Call] = []
        self.webhook: dict[str, Any] | None = None
        self.pending: deque[dict[str, Any]] = deque()
        self.sent: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.fetched: list[Fetched] = []
        self.rejected_tokens: set[str] = set()
        self.unreachable_chats: dict[str, Failure] = {}
        self.limits: RateLimits | None = None
        self.handed_out = 0
        self.polls_after_handout = 0
        self._failures: dict[str, deque[Failure]] = defaultdict(deque)
        self._delays: dict[str, deque[float]] = defaultdict(deque)
        self._ids = itertools.count(1)
        self._arrived = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The API root to give the bot (`zalo_api_url`)."""
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeZaloAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Listen on an unused loopback port."""
        app = web.Application()
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
        """Answer 401 Unauthorized (with HTTP 200, as Zalo does) to calls with `token`."""
        self.rejected_tokens.add(token or self.token)

    def fail_next(self, method: str, times: int = 1, *, error_code: int = 500,
                  description: str = "Internal Server Error",
                  retry_after: int | None = None) -> None:
        """Answer the next `times` calls of `method` with this error."""
        for _ in range(times):
            self._failures[method.lower()].append(Failure(error_code, description, retry_after))

    def rate_limit(self, method: str = "sendMessage", times: int = 1,
                   retry_after: int | None = None) -> None:
        """Answer the next `times` calls with 429 (Zalo publishes no retry time; give one
        with `retry_after` to see it honoured)."""
        self.fail_next(method, times, error_code=429, description="Quota exceeded",
                       retry_after=retry_after)

    def enforce_limits(self, per_second: int = 5, per_chat_gap: float = 1.0) -> RateLimits:
        """Refuse sends past these limits with 429, as a real quota would."""
        self.limits = RateLimits(per_second, per_chat_gap)
        return self.limits

    def unreachable(self, *chat_ids: str, error_code: int = UNREACHABLE[0],
                    description: str = UNREACHABLE[1]) -> None:
        """Sends to these chats fail: the user blocked the bot or cannot receive."""
        for chat_id in chat_ids:
            self.unreachable_chats[chat_id] = Failure(error_code, description)

    def slow(self, method: str, seconds: float, times: int = 1) -> None:
        """Answer the next `times` calls of `method` only after `seconds`."""
        self._delays[method.lower()].extend([seconds] * times)

    # --- recorded calls ----------------------------------------------------------------

    def calls_to(self, method: str, chat_id: str | None = None,
                 *, ok_only: bool = True) -> list[Call]:
        """Recorded calls of `method` (answered ok unless ok_only=False), maybe for one chat."""
        return [c for c in self.calls if c.method.lower() == method.lower()
                and (chat_id is None or c.params.get("chat_id") == chat_id)
                and (c.status == 200 or not ok_only)]

    def texts(self, chat_id: str) -> list[str]:
        """The texts the bot sent to a chat, in order."""
        return [m["text"] for m in self.sent[chat_id] if "text" in m]

    async def wait_for(self, method: str, count: int = 1, *, chat_id: str | None = None,
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

    async def wait_handled(self, timeout: float = 10.0) -> None:
        """Wait until every pushed update was taken and the bot polled again after it
        (a polling bot asks for more only once it has handled what it took)."""
        await self.wait_until(lambda: not self.pending and self.polls_after_handout > 0,
                              timeout=timeout, what="the pushed updates to be handled")

    # --- updates -----------------------------------------------------------------------

    def push(self, *updates: dict[str, Any]) -> None:
        """Queue updates for getUpdates."""
        self.pending.extend(updates)
        self._arrived.set()

    def message_id(self) -> str:
        """A fresh hex message id."""
        return f"{next(self._ids):08x}" + "5d3e9f0a1b2c4d6e8f70"

    def _update(self, event: str, chat_id: str, content: dict[str, Any], *,
                user_id: str | None = None, name: str = "Nguyễn Thị Lan",
                name_field: str = "display_name", chat_type: str = "PRIVATE",
                message_id: str | None = None) -> dict[str, Any]:
        return {
            "event_name": event,
            "message": {
                "message_id": message_id or self.message_id(),
                "date": int(time.time() * 1000),
                "from": {"id": user_id or chat_id, name_field: name, "is_bot": False},
                "chat": {"id": chat_id, "chat_type": chat_type},
                **content,
            },
        }

    def text_update(self, text: str, chat_id: str = "7f3a9c21d4e8b605a1c2", **kw: Any
                    ) -> dict[str, Any]:
        """A text message (a /command is just text on Zalo)."""
        return self._update("message.text.received", chat_id, {"text": text}, **kw)

    def image_update(self, chat_id: str = "7f3a9c21d4e8b605a1c2", *,
                     caption: str | None = None, **kw: Any) -> dict[str, Any]:
        """A photo, referenced by a Zalo CDN URL."""
        content: dict[str, Any] = {
            "photo_url": f"https://photo-stal-1.zdn.vn/{self.message_id()}.jpg"}
        if caption:
            content["caption"] = caption
        return self._update("message.image.received", chat_id, content, **kw)

    def sticker_update(self, chat_id: str = "7f3a9c21d4e8b605a1c2", **kw: Any
                       ) -> dict[str, Any]:
        """A sticker."""
        content = {"sticker": "bfe458bf64fa8da4d4eb", "url": "https://zalo-api.zadn.vn/s.png"}
        return self._update("message.sticker.received", chat_id, content, **kw)

    def unsupported_update(self, chat_id: str = "7f3a9c21d4e8b605a1c2", **kw: Any
                           ) -> dict[str, Any]:
        """What Zalo sends for content the bot may not see (no content at all)."""
        return self._update("message.unsupported.received", chat_id, {}, **kw)

    # --- the HTTP side -----------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.body_exists:
            try:
                body = await request.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                params.update(body)
        call = Call(method, params, token)
        self.calls.append(call)
        delays = self._delays.get(method.lower())
        if delays:
            await asyncio.sleep(delays.popleft())
        failure = self._failure_for(call)
        result: Any = None
        if failure is None:
            implementation = getattr(self, f"_m_{method.lower()}", None)
            if implementation is None:
                failure = Failure(404, "Not Found")
            else:
                try:
                    result = await implementation(params)
                except ApiError as exc:
                    failure = exc.failure
        if failure is not None:
            call.status = failure.error_code
            body: dict[str, Any] = {"ok": False, "error_code": failure.error_code,
                                    "description": failure.description}
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            status = failure.error_code if (
                self.error_http_status and 400 <= failure.error_code < 600) else 200
            return web.json_response(body, status=status)
        call.status = 200
        return web.json_response({"ok": True, "result": result})

    def _failure_for(self, call: Call) -> Failure | None:
        if call.token in self.rejected_tokens or call.token != self.token:
            return Failure(401, "Unauthorized")
        queued = self._failures.get(call.method.lower())
        if queued:
            return queued.popleft()
        if call.method.lower() in SEND_METHODS:
            blocked = self.unreachable_chats.get(str(call.params.get("chat_id")))
            if blocked is not None:
                return blocked
            if self.limits is not None:
                wait = self.limits.check(call.params.get("chat_id"))
                if wait is not None:
                    return Failure(429, "Quota exceeded")
        return None

    async def _m_getme(self, params: dict[str, Any]) -> Any:
        return self.bot

    async def _m_setwebhook(self, params: dict[str, Any]) -> Any:
        url, secret = params.get("url"), params.get("secret_token")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise ApiError(400, "url must be an HTTPS URL")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            raise ApiError(400, "secret_token must be 8-256 characters")
        self.webhook = {"url": url, "secret_token": secret}
        return {"url": url, "updated_at": int(time.time() * 1000)}

    async def _m_deletewebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        return {"url": "", "updated_at": int(time.time() * 1000)}

    async def _m_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        hook = self.webhook or {}
        return {"url": hook.get("url", ""), "updated_at": int(time.time() * 1000)}

    async def _m_getupdates(self, params: dict[str, Any]) -> Any:
        timeout = params.get("timeout", "30")
        if not isinstance(timeout, str) or not timeout.isdigit():
            raise ApiError(400, "timeout must be a string of seconds")
        if self.handed_out:
            self.polls_after_handout += 1
        deadline = time.monotonic() + int(timeout)
        while True:
            # While a webhook is set getUpdates stays silent, as Zalo's does.
            ready = self.pending and not self.webhook
            remaining = deadline - time.monotonic()
            if ready or self._closing or remaining <= 0:
                break
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                pass
        if not self.pending or self.webhook:
            raise ApiError(408, "Request timeout")
        self.polls_after_handout = 0
        if self.list_updates:
            taken = list(self.pending)
            self.pending.clear()
            self.handed_out += len(taken)
            return taken
        self.handed_out += 1
        return self.pending.popleft()

    async def _m_sendmessage(self, params: dict[str, Any]) -> Any:
        chat_id, text = params.get("chat_id"), params.get("text")
        if not isinstance(chat_id, str) or not chat_id:
            raise ApiError(400, "chat_id is required")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "text is required")
        if len(text) > 2000:
            raise ApiError(400, "text must be at most 2000 characters")
        return self._store(chat_id, text=text)

    async def _m_sendphoto(self, params: dict[str, Any]) -> Any:
        chat_id, photo = params.get("chat_id"), params.get("photo")
        if not isinstance(chat_id, str) or not chat_id:
            raise ApiError(400, "chat_id is required")
        if not isinstance(photo, str) or not photo.startswith(("http://", "https://")):
            raise ApiError(400, "photo must be an image URL")
        caption = params.get("caption")
        if caption is not None and (not isinstance(caption, str) or len(caption) > 2000):
            raise ApiError(400, "caption must be at most 2000 characters")
        if self.fetch_photos:
            async with aiohttp.ClientSession() as http, http.get(photo) as response:
                fetched = Fetched(photo, response.status,
                                  response.headers.get("Content-Type", ""), await response.read())
            self.fetched.append(fetched)
            if fetched.status != 200 or not fetched.content_type.startswith("image/"):
                raise ApiError(400, "photo could not be downloaded")
        return self._store(chat_id, photo=photo, **({"caption": caption} if caption else {}))

    async def _m_sendchataction(self, params: dict[str, Any]) -> Any:
        return True

    def _store(self, chat_id: str, **content: Any) -> dict[str, Any]:
        message = {"message_id": self.message_id(), "date": int(time.time() * 1000), **content}
        self.sent[chat_id].append(message)
        return {"message_id": message["message_id"], "date": message["date"]}
