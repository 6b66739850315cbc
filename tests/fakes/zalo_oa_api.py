"""A loopback fake of the Zalo OA Open API, speaking its wire format, and Zalo's webhook.

Outgoing: `access_token` header checked against `valid_tokens`; answers are the
`{data, error, message}` envelope with HTTP 200 even for errors. Consultation messages
follow the messaging windows on the fake's `clock`: within 48 h of the user's last
interaction sent free, 48 h - 7 d sent and billed, later (or never) -230. Every call is
recorded. Incoming: `post_event` POSTs a signed event to our webhook as Zalo does
(SHA-256 of first + raw body + timestamp + key), and after each CS message an
`oa_send_text` echo can be posted back (`echoes`).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

FREE_FOR = timedelta(hours=48)
CS_FOR = timedelta(days=7)
WEBHOOK_PATH = "/zalo-oa/webhook"


@dataclass
class Call:
    """One request our code made."""

    path: str
    token: str
    body: dict[str, Any]
    user_id: str | None = None
    billed: bool | None = None
    error: int = 0
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    @property
    def message(self) -> dict[str, Any]:
        """The CS `message` object sent."""
        return self.body.get("message") or {}

    @property
    def text(self) -> str:
        """The CS message's text ('' for a form or media)."""
        return str(self.message.get("text") or "")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """The message's buttons (title, type, payload)."""
        payload = (self.message.get("attachment") or {}).get("payload") or {}
        return list(payload.get("buttons") or [])

    @property
    def template_type(self) -> str | None:
        """`request_user_info`, `media`, ... for a template attachment."""
        payload = (self.message.get("attachment") or {}).get("payload") or {}
        return payload.get("template_type")


class FakeZaloOA:
    """The OA's side of Zalo: its Open API for us, its webhook calls to us."""

    def __init__(
        self,
        *,
        app_id: str = "3141592653589793",
        oa_id: str = "2718281828459045235",
        secret_key: str = "fake-oa-secret-key",
        app_secret: str = "fake-app-secret",
        token: str = "fake-oa-access-token",
        templates: tuple[str, ...] = ("246810",),
        now: datetime | None = None,
    ) -> None:
        self.app_id, self.oa_id = app_id, oa_id
        self.secret_key, self.app_secret = secret_key, app_secret
        self.token = token
        self.valid_tokens: set[str] = {token}
        self.templates = set(templates)
        self.now = now or datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
        self.last_interaction: dict[str, datetime] = {}
        self.calls: list[Call] = []
        self.echoes = False
        self.echo_url: str | None = None
        self.sign_with = ("app_id", "secret_key")
        self._failures: list[tuple[int, str]] = []
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._echo_tasks: set[asyncio.Task[None]] = set()
        self.url = ""

    # --- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> FakeZaloOA:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._serve)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*self._echo_tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def clock(self) -> datetime:
        """The fake's time (our app can share it)."""
        return self.now

    # --- test controls -----------------------------------------------------------------

    def interact(self, user_id: str, at: datetime | None = None) -> None:
        """The user interacted with the OA at `at` (now by default)."""
        self.last_interaction[user_id] = at or self.now

    def fail_next(self, code: int, message: str = "fake failure", times: int = 1) -> None:
        """The next `times` calls answer this error (in HTTP 200)."""
        self._failures.extend([(code, message)] * times)

    def rate_limit(self, times: int = 1) -> None:
        """The next `times` calls hit the per-minute limit (-32)."""
        self.fail_next(-32, "Reached the limit of calls per minute", times)

    def sent_to(self, user_id: str) -> list[Call]:
        """CS messages accepted for one user, in order."""
        return [c for c in self.calls
                if c.path.endswith("/message/cs") and c.user_id == user_id and not c.error]

    async def wait_echoes(self) -> None:
        """Wait until the echoes posted so far have been answered."""
        while self._echo_tasks:
            await asyncio.gather(*list(self._echo_tasks), return_exceptions=True)

    def texts(self, user_id: str) -> list[str]:
        """The texts of the CS messages accepted for one user."""
        return [c.text for c in self.sent_to(user_id) if c.text]

    # --- events to our webhook ---------------------------------------------------------

    def webhook_event(
        self, event_name: str, user_id: str, *, interact: bool = True, **content: Any
    ) -> dict[str, Any]:
        """An event as Zalo sends it (ids and timestamp as strings); counts as interaction."""
        event: dict[str, Any] = {
            "app_id": self.app_id,
            "user_id_by_app": f"app{user_id}",
            "event_name": event_name,
            "timestamp": str(int(self.now.timestamp() * 1000)),
        }
        if event_name in ("follow", "unfollow"):
            event.update(oa_id=self.oa_id, source="testing",
                         follower={"id": user_id})
        else:
            event.update(sender={"id": user_id}, recipient={"id": self.oa_id})
        event.update(content)
        if interact and event_name != "unfollow":
            self.interact(user_id)
        return event

    def text_event(self, user_id: str, text: str, **kw: Any) -> dict[str, Any]:
        """`user_send_text` (also what tapping an `oa.query.show` button sends)."""
        return self.webhook_event("user_send_text", user_id,
                                  message={"msg_id": self.msg_id(), "text": text}, **kw)

    def image_event(self, user_id: str, **kw: Any) -> dict[str, Any]:
        """`user_send_image` with one image attachment."""
        url = f"https://photo-stal.zadn.vn/fake/{next(self._ids)}.jpg"
        return self.webhook_event("user_send_image", user_id, message={
            "msg_id": self.msg_id(), "text": "",
            "attachments": [{"type": "image", "payload": {"url": url, "thumbnail": url}}]}, **kw)

    def submit_info_event(self, user_id: str, **info: Any) -> dict[str, Any]:
        """`user_submit_info`: what the resident shared through the form."""
        return self.webhook_event("user_submit_info", user_id, info=info)

    def msg_id(self) -> str:
        """A fresh message id."""
        return f"{next(self._ids):032x}"

    def sign(self, raw: bytes, timestamp: str) -> str:
        """The `X-ZEvent-Signature` value for a body."""
        first = self.app_id if self.sign_with[0] == "app_id" else self.oa_id
        key = self.secret_key if self.sign_with[1] == "secret_key" else self.app_secret
        digest = hashlib.sha256(first.encode() + raw + timestamp.encode() + key.encode())
        return f"mac={digest.hexdigest()}"

    async def post_event(
        self, app_url: str, event: dict[str, Any], *, signature: str | None = None
    ) -> tuple[int, str]:
        """POST one event to our webhook as Zalo does; (status, body text)."""
        assert self._http is not None
        url = app_url if app_url.endswith(WEBHOOK_PATH) else app_url.rstrip("/") + WEBHOOK_PATH
        self.echo_url = url
        raw = json.dumps(event, ensure_ascii=False).encode()
        header = signature if signature is not None else self.sign(
            raw, str(event.get("timestamp", "")))
        async with self._http.post(url, data=raw, headers={
            "X-ZEvent-Signature": header, "Content-Type": "application/json"}) as response:
            return response.status, await response.text()

    # --- the Open API ------------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        token = request.headers.get("access_token", "")
        body: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes]] = {}
        if request.method == "GET":
            body = json.loads(request.query.get("data", "{}"))
        elif request.content_type.startswith("multipart/"):
            async for part in await request.multipart():
                files[part.name or ""] = (part.filename or "", await part.read())  # type: ignore[union-attr]
        else:
            body = await request.json()
        user_id = (body.get("recipient") or {}).get("user_id") or body.get("user_id")
        call = Call(path, token, body, user_id=user_id, files=files)
        self.calls.append(call)
        if token not in self.valid_tokens:
            return self._error(call, -216, "Access token is invalid")
        if self._failures:
            code, message = self._failures.pop(0)
            return self._error(call, code, message)
        handler = {
            "/v3.0/oa/message/cs": self._cs,
            "/v3.0/oa/message/template": self._template,
            "/v2.0/oa/upload/image": self._upload,
            "/v2.0/oa/upload/file": self._upload,
            "/v3.0/oa/user/detail": self._detail,
            "/v3.0/oa/quota/message": self._quota,
        }.get(path)
        if handler is None:
            return self._error(call, -201, f"unknown endpoint {path}")
        return handler(call)

    def _error(self, call: Call, code: int, message: str) -> web.Response:
        call.error = code
        return web.json_response({"error": code, "message": message})

    def _ok(self, data: dict[str, Any]) -> web.Response:
        return web.json_response({"data": data, "error": 0, "message": "Success"})

    def _cs(self, call: Call) -> web.Response:
        last = self.last_interaction.get(call.user_id or "")
        if last is None or self.now - last > CS_FOR:
            return self._error(call, -230,
                               "User has not interacted with the OA in the past 7 days")
        message = call.message
        text = message.get("text")
        if text is not None and (not isinstance(text, str) or len(text) > 2000):
            return self._error(call, -201, "text is invalid or longer than 2000")
        for button in call.buttons:
            if len(button.get("title", "")) > 100 or len(str(button.get("payload"))) > 1000:
                return self._error(call, -201, "button is invalid")
        if len(call.buttons) > 5:
            return self._error(call, -201, "at most 5 buttons")
        call.billed = self.now - last > FREE_FOR
        message_id = f"{next(self._ids):032x}"
        if self.echoes and self.echo_url and text:
            echo = {"app_id": self.app_id, "event_name": "oa_send_text",
                    "sender": {"id": self.oa_id}, "recipient": {"id": call.user_id},
                    "message": {"msg_id": message_id, "text": text},
                    "timestamp": str(int(self.now.timestamp() * 1000))}
            task = asyncio.ensure_future(self.post_event(self.echo_url, echo))
            self._echo_tasks.add(task)  # type: ignore[arg-type]
            task.add_done_callback(self._echo_tasks.discard)  # type: ignore[arg-type]
        return self._ok({"message_id": message_id, "user_id": call.user_id})

    def _template(self, call: Call) -> web.Response:
        if str(call.body.get("template_id")) not in self.templates:
            return self._error(call, -201, "template_id is invalid")
        return self._ok({"msg_id": f"{next(self._ids):032x}",
                         "sent_time": str(int(self.now.timestamp() * 1000))})

    def _upload(self, call: Call) -> web.Response:
        if "file" not in call.files:
            return self._error(call, -201, "no file")
        ref = f"att{next(self._ids)}"
        return self._ok({"attachment_id": ref} if call.path.endswith("image") else {"token": ref})

    def _detail(self, call: Call) -> web.Response:
        user_id = str(call.body.get("user_id"))
        last = self.last_interaction.get(user_id)
        return self._ok({"user_id": user_id, "display_name": f"User {user_id[-4:]}",
                         "user_is_follower": True,
                         "user_last_interaction_date": last.strftime("%d/%m/%Y") if last else ""})

    def _quota(self, call: Call) -> web.Response:
        last = self.last_interaction.get(str(call.body.get("user_id")))
        stamp = str(int(last.timestamp() * 1000)) if last else ""
        return self._ok({"last_interaction": stamp, "cs_reply": {"remain": 8, "total": 8}})
