"""Live replies: the answers to a resident's event, sent as consultation messages.

The resident has just written, so the reply is inside Zalo's free window by definition.
Replies go in order; only the last reply with buttons is remembered by the core, so the
buttons of earlier ones carry their command (bot.channels.zalo_oa.render). An image is
uploaded and sent as media; any other file becomes a download link. When the OA is not
connected (no token), the replies are logged and dropped with one warning.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import downloads, metrics, texts
from bot.channels.zalo_oa.api import OAApi, OAApiError, OANetworkError
from bot.channels.zalo_oa.render import media_message, render, split_text
from bot.channels.zalo_oa.tokens import TokenUnavailable
from bot.events import Attachment, Reply
from bot.settings import Settings
from storage.repos import chats

logger = logging.getLogger(__name__)

CHANNEL = "zalo_oa"
IMAGE_MIMES = frozenset({"image/png", "image/jpeg"})
IMAGE_MAX_BYTES = 1_000_000
RATE_WAIT, RATE_ATTEMPTS = 1.0, 3


class LiveSender:
    """Sends the replies to one event through the channel's API client (`api`)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Callable[[], datetime],
        form_image_url: Callable[[], str | None],
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.clock = clock
        self.form_image_url = form_image_url
        self.api: OAApi | None = None
        self._token_warned = False

    async def deliver(self, user_id: str, replies: Sequence[Reply]) -> None:
        """Send the replies in order; a failure is logged, never raised."""
        if not replies:
            return
        if self.api is None:
            logger.warning("Zalo OA channel not started: replies to %s dropped", user_id)
            return
        lang = await self._lang(user_id)
        last = max((i for i, reply in enumerate(replies) if reply.buttons), default=-1)
        try:
            for index, reply in enumerate(replies):
                messages = render(reply, lang, remembered=index == last,
                                  form_image_url=self.form_image_url())
                for message in messages:
                    await self._send(user_id, message)
                if reply.attachment is not None:
                    await self._attachment(user_id, reply.attachment, lang)
        except TokenUnavailable as exc:
            if not self._token_warned:
                self._token_warned = True
                logger.warning("Zalo OA has no usable token (%s): replies are dropped until "
                               "an officer connects it (`thidua zalo-oa connect`)", exc)
            metrics.SENT.labels(CHANNEL, "failed").inc()
            return
        except (OAApiError, OANetworkError) as exc:
            logger.warning("reply to Zalo OA follower %s not delivered: %s", user_id, exc)
            metrics.SENT.labels(CHANNEL, "failed").inc()
            return
        self._token_warned = False

    async def _send(self, user_id: str, message: dict[str, Any]) -> None:
        """One CS message, waiting briefly when Zalo says the minute's calls are spent."""
        assert self.api is not None
        for attempt in range(1, RATE_ATTEMPTS + 1):
            try:
                await self.api.send_cs(user_id, message)
            except OAApiError as exc:
                if not exc.rate_limited or attempt == RATE_ATTEMPTS:
                    raise
                await asyncio.sleep(RATE_WAIT * attempt)
                continue
            metrics.SENT.labels(CHANNEL, "sent").inc()
            return

    async def _attachment(self, user_id: str, attachment: Attachment, lang: str) -> None:
        assert self.api is not None
        content = attachment.content
        data = content if isinstance(content, bytes) else content.read_bytes()
        if attachment.mime in IMAGE_MIMES and len(data) <= IMAGE_MAX_BYTES:
            attachment_id = await self.api.upload_image(attachment.filename, data,
                                                        attachment.mime)
            await self._send(user_id, media_message(attachment_id, attachment.caption))
            return
        url = await self._publish(user_id, attachment)
        link = texts.t("zalo.download", lang, filename=attachment.filename, url=url,
                       minutes=self.settings.download_ttl_seconds // 60)
        body = f"{attachment.caption}\n\n{link}" if attachment.caption else link
        for piece in split_text(body):
            await self._send(user_id, {"text": piece})

    async def _publish(self, user_id: str, attachment: Attachment) -> str:
        async with self.sessionmaker() as session, session.begin():
            return await downloads.publish(session, attachment, settings=self.settings,
                                           actor=f"zalo_oa:{user_id}", now=self.clock())

    async def _lang(self, user_id: str) -> str:
        try:
            async with self.sessionmaker() as session:
                lang = (await chats.load(session, CHANNEL, user_id)).lang
        except Exception:
            logger.exception("could not read the language of Zalo OA chat %s", user_id)
            return texts.DEFAULT_LANG
        return lang or texts.DEFAULT_LANG
