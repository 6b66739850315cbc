"""The Zalo Official Account channel (Open API v3): signed webhook, buttons, forms.

Modules by job: `api` (the Open API client), `webhook` (signature check, 200 at once),
`events` (record each event once, process after the 200, in order per user), `inbound`
(event -> Incoming), `render` (Reply -> CS messages with `oa.query.show` buttons),
`sender` (live replies), `delivery` and `windows` (outbox messages within Zalo's
messaging windows), `tokens` and `oauth` (the OA's access token). This module wires
them and runs the lifecycle.
"""

from __future__ import annotations

import logging
import struct
import zlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot import downloads
from bot.channels.zalo_oa import events, inbound
from bot.channels.zalo_oa.api import OAApi, TokenSource
from bot.channels.zalo_oa.callback import add_callback_route
from bot.channels.zalo_oa.delivery import OutboxSender
from bot.channels.zalo_oa.sender import LiveSender
from bot.channels.zalo_oa.webhook import WEBHOOK_PATH, SignatureCheck, Webhook
from bot.dispatcher import Dispatcher
from bot.events import Capabilities, ChannelName, DeliveryResult, Reply
from bot.settings import Settings
from storage.repos import zalo_oa_tokens

logger = logging.getLogger(__name__)

FORM_IMAGE_PATH = "/zalo-oa/form.png"
__all__ = ["FORM_IMAGE_PATH", "WEBHOOK_PATH", "ZaloOAChannel"]


class ZaloOAChannel:
    """A ward's Official Account: events by signed webhook, replies as CS messages."""

    name: ChannelName = "zalo_oa"
    capabilities = Capabilities(
        buttons=True, contact_request=False, documents=False, max_text=2000, photos=True,
        user_info_form=True,
    )

    def __init__(
        self, settings: Settings, dispatcher: Dispatcher, *, tokens: TokenSource | None = None
    ) -> None:
        if not settings.zalo_oa_app_id or settings.zalo_oa_app_secret is None:
            raise ValueError("the Zalo OA channel needs THIDUA_ZALO_OA_APP_ID and _APP_SECRET")
        self.settings = settings
        self.dispatcher = dispatcher
        self._tokens = tokens
        self._own_tokens: Any = None
        self._api: OAApi | None = None
        self._oa_id: str | None = settings.zalo_oa_id
        self.live = LiveSender(dispatcher.sessionmaker, settings, dispatcher.clock,
                               self.form_image_url)
        self.outbox = OutboxSender(dispatcher.sessionmaker, settings, clock=dispatcher.clock)
        self.processor = events.EventProcessor(
            dispatcher.sessionmaker, self.handle_event, dispatcher.clock,
            keep=timedelta(seconds=settings.zalo_oa_max_event_age_seconds))
        self.webhook = Webhook(settings, SignatureCheck(settings, self.oa_id), self.record,
                               dispatcher.clock, self.oa_id)

    def oa_id(self) -> str | None:
        """The OA's id: from the settings, else learnt when it was connected."""
        return self._oa_id

    def form_image_url(self) -> str:
        """The picture on the "share your information" card, served by us."""
        return downloads.base_url(self.settings) + FORM_IMAGE_PATH

    def setup(self, app: web.Application) -> None:
        """The webhook route, the form picture, and the start/stop hook."""
        app.router.add_post(WEBHOOK_PATH, self.webhook.handle)
        app.router.add_get(FORM_IMAGE_PATH, form_image)
        add_callback_route(app, self.dispatcher.sessionmaker, self.settings,
                           clock=self.dispatcher.clock)
        app.cleanup_ctx.append(self._lifecycle)

    async def _lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        await self.start_sending()
        self.processor.start()
        logger.info("Zalo OA: webhook %s", WEBHOOK_PATH)
        try:
            yield
        finally:
            await self.processor.stop()
            await self.stop_sending()

    async def start_sending(self) -> None:
        """Open the API client (also for a process that only delivers the outbox)."""
        if self._api is not None:
            return
        tokens = self._tokens
        if tokens is None:
            from bot.channels.zalo_oa.tokens import TokenManager

            tokens = self._own_tokens = TokenManager(
                self.dispatcher.sessionmaker, self.settings, clock=self.dispatcher.clock)
        if self._oa_id is None:
            self._oa_id = await self._stored_oa_id()
        self._api = OAApi(self.settings.zalo_oa_api_url, tokens)
        self.live.api = self._api
        self.outbox.api = self._api

    async def stop_sending(self) -> None:
        """Close the API client (and the token manager this channel made)."""
        if self._api is not None:
            await self._api.close()
            self._api = self.live.api = self.outbox.api = None
        if self._own_tokens is not None:
            await self._own_tokens.close()
            self._own_tokens = None

    async def _stored_oa_id(self) -> str | None:
        try:
            async with self.dispatcher.sessionmaker() as session:
                row = await zalo_oa_tokens.get(session)
        except Exception:
            logger.exception("could not read the connected Zalo OA")
            return None
        return row.oa_id if row is not None else None

    async def record(self, event: dict[str, Any], key: str) -> bool:
        """Store one verified event (before the 200); False if it was recorded before."""
        async with self.dispatcher.sessionmaker() as session, session.begin():
            new = await events.record(session, event, key, self.dispatcher.clock())
        if new:
            self.processor.wake()
        return new

    async def handle_event(self, event: dict[str, Any], key: str) -> None:
        """Process one recorded event: through the core, then the replies to the resident."""
        incoming = inbound.to_incoming(event, key, self.dispatcher.clock())
        if incoming is None:
            return
        replies = await self.dispatcher.dispatch(incoming, self.capabilities)
        await self.live.deliver(incoming.chat_id, replies)

    async def send(self, chat_id: str, reply: Reply) -> DeliveryResult:
        """Deliver one outbox message within Zalo's windows (bot.channels.zalo_oa.delivery)."""
        return await self.outbox.send(chat_id, reply)

    async def idle(self, timeout: float = 30.0) -> None:
        """Wait until every recorded event is processed and answered."""
        await self.processor.idle(timeout)


async def form_image(request: web.Request) -> web.Response:
    """GET /zalo-oa/form.png: the small picture on the form card."""
    return web.Response(body=FORM_PNG, content_type="image/png",
                        headers={"Cache-Control": "public, max-age=86400"})


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain-coloured PNG, made once at import (no image file to ship)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * height, 9)) + chunk(b"IEND", b""))


FORM_PNG = _png(320, 160, (0, 104, 255))
