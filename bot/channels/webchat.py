"""The web chat: a phone-sized page on our own server, a real channel like the others.

The browser asks once for an identity (a random token it keeps in localStorage), sends
each message with its own id (so a retried request is handled once), gets the answers
in the response, and polls for anything sent to it later (broadcasts, reminders).
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from bot import keys, metrics
from bot.dispatcher import Dispatcher
from bot.events import Capabilities, DeliveryResult, Incoming, Reply
from bot.normalize import split_command
from storage.repos import webchat as inbox

logger = logging.getLogger(__name__)

PAGE = Path(__file__).parent.parent / "web" / "webchat.html"
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_TEXT = 4000


class WebchatChannel:
    """Serves the chat page and its small JSON API."""

    name = "webchat"
    capabilities = Capabilities(
        buttons=True, contact_request=False, documents=True, max_text=4000, photos=False
    )

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self._page: str | None = None

    def setup(self, app: web.Application) -> None:
        """Add the page and the API routes."""
        self.app = app
        app.router.add_get("/", self.page)
        app.router.add_post("/webchat/api/session", self.new_session)
        app.router.add_post("/webchat/api/messages", self.receive)
        app.router.add_get("/webchat/api/inbox", self.fetch_inbox)

    async def page(self, request: web.Request) -> web.Response:
        """The chat page, titled with the ward's name."""
        if self._page is None:
            ward = request.app[keys.WARD].ward
            self._page = PAGE.read_text(encoding="utf-8").replace("{{ward_name}}", ward.name)
        return web.Response(text=self._page, content_type="text/html", charset="utf-8")

    async def new_session(self, request: web.Request) -> web.Response:
        """A fresh identity for a browser that has none."""
        return web.json_response({"client_id": secrets.token_urlsafe(32)})

    async def receive(self, request: web.Request) -> web.Response:
        """One message or button press from the browser; the answers come back at once."""
        try:
            body = await request.json()
        except ValueError:
            return _problem(400, "invalid JSON")
        if not isinstance(body, dict):
            return _problem(400, "expected an object")
        client_id, message_id = body.get("client_id"), body.get("message_id")
        if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
            metrics.REJECTED.labels("webchat", "client_id").inc()
            return _problem(400, "bad client_id")
        if not isinstance(message_id, str) or not MESSAGE_ID.match(message_id):
            return _problem(400, "bad message_id")
        incoming = _to_incoming(client_id, message_id, body)
        if incoming is None:
            return _problem(400, "a message needs text (at most 4000 characters) or a button")
        replies = await self.dispatcher.dispatch(incoming, self.capabilities)
        return web.json_response({"replies": [render(r) for r in replies]})

    async def fetch_inbox(self, request: web.Request) -> web.Response:
        """Messages sent to this browser after `after` (its last seen id)."""
        client_id = request.query.get("client_id", "")
        if not CLIENT_ID.match(client_id):
            return _problem(400, "bad client_id")
        try:
            after = int(request.query.get("after", "0"))
        except ValueError:
            return _problem(400, "bad after")
        async with request.app[keys.SESSIONMAKER]() as session:
            rows = await inbox.since(session, client_id, after)
        return web.json_response(
            {"messages": [{"id": row.id, **row.payload} for row in rows]}
        )

    async def send(self, chat_id: str, reply: Reply) -> DeliveryResult:
        """Queue a message for the browser to fetch on its next poll."""
        async with self.app[keys.SESSIONMAKER]() as session, session.begin():
            message_id = await inbox.push(session, chat_id, render(reply))
        metrics.SENT.labels("webchat", "sent").inc()
        return DeliveryResult("sent", message_id=str(message_id))


def _to_incoming(client_id: str, message_id: str, body: dict[str, Any]) -> Incoming | None:
    text, button = body.get("text"), body.get("button")
    common: dict[str, Any] = {
        "channel": "webchat",
        "update_id": message_id,
        "chat_id": client_id,
        "user_id": client_id,
        "received_at": datetime.now(UTC),
        "raw": body,
    }
    if isinstance(button, str) and 0 < len(button.encode()) <= 64:
        return Incoming(kind="button", button=button, **common)
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        return None
    command = split_command(text)
    if command is not None:
        return Incoming(kind="command", command=command[0], args=command[1], **common)
    return Incoming(kind="text", text=text, **common)


def render(reply: Reply) -> dict[str, Any]:
    """A reply as the page draws it."""
    rendered: dict[str, Any] = {
        "text": reply.text,
        "buttons": [[{"label": b.label, "data": b.data} for b in row] for row in reply.buttons],
    }
    if reply.request_contact:
        rendered["input_hint"] = "tel"
    if reply.attachment is not None:
        content = reply.attachment.content
        data = content if isinstance(content, bytes) else Path(content).read_bytes()
        encoded = base64.b64encode(data).decode()
        rendered["attachment"] = {
            "filename": reply.attachment.filename,
            "caption": reply.attachment.caption,
            "href": f"data:{reply.attachment.mime};base64,{encoded}",
        }
    return rendered


def _problem(status: int, detail: str) -> web.Response:
    return web.json_response({"error": detail}, status=status)
