"""Sending to Zalo chats: replies to an update (numbered choices, in order per chat) and
outbox messages for the delivery worker, each ending as one DeliveryResult."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from functools import partial

from bot import downloads, metrics, texts
from bot.channels.zalo.api import ZaloApi, ZaloApiError
from bot.channels.zalo.outbound import delivery_failure, send_reply
from bot.channels.zalo.render import render
from bot.dispatcher import Dispatcher
from bot.events import Attachment, DeliveryResult, Reply
from bot.settings import Settings
from storage.repos import chats

logger = logging.getLogger(__name__)

CHANNEL = "zalo"
BACKOFF_START = 1.0
INLINE_ATTEMPTS, INLINE_WAIT_MAX = 3, 5.0


class Sender:
    """Sends through the channel's API client once it is started (`api`)."""

    def __init__(self, settings: Settings, dispatcher: Dispatcher) -> None:
        self.settings = settings
        self.dispatcher = dispatcher
        self.api: ZaloApi | None = None
        self._replying: dict[str, asyncio.Task[None]] = {}
        self._token_reported = False

    def reply_later(self, chat_id: str, replies: list[Reply]) -> None:
        """Send in the background, behind the replies still going to this chat."""
        if not replies:
            return
        previous = self._replying.get(chat_id)
        task = asyncio.create_task(self._reply_after(previous, chat_id, replies))
        self._replying[chat_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._replying.get(chat_id) is done:
                del self._replying[chat_id]

        task.add_done_callback(forget)

    async def _reply_after(
        self, previous: asyncio.Task[None] | None, chat_id: str, replies: list[Reply]
    ) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        try:
            await self.deliver(chat_id, replies)
        except Exception:
            logger.exception("replies to Zalo chat %s failed", chat_id)

    async def idle(self, timeout: float | None = None) -> None:
        """Wait until the replies in hand are sent; past `timeout`, drop the rest."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while pending := [task for task in self._replying.values() if not task.done()]:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                logger.warning("Zalo replies to %d chats were still unsent; dropped",
                               len(pending))
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                return
            await asyncio.wait(pending, timeout=left)

    async def deliver(self, chat_id: str, replies: Sequence[Reply]) -> None:
        """Send the replies to an update in order, waiting briefly when asked to slow down.

        Only the last reply with buttons gets numbers: those are the ones the core matches
        a typed number against.
        """
        if not replies:
            return
        needs_lang = any(reply.buttons or reply.attachment for reply in replies)
        lang = await self._lang(chat_id) if needs_lang else texts.DEFAULT_LANG
        numbered = max((i for i, reply in enumerate(replies) if reply.buttons), default=-1)
        for index, reply in enumerate(replies):
            send = partial(self._send, chat_id, reply, lang=lang, numbered=index == numbered)
            result = await send()
            attempts = 1
            while result.status == "retry_after" and attempts < INLINE_ATTEMPTS:
                wait = result.retry_after if result.retry_after is not None else BACKOFF_START
                if wait > INLINE_WAIT_MAX:
                    break
                await asyncio.sleep(wait)
                result = await send()
                attempts += 1
            if result.status == "blocked":
                logger.info("Zalo chat %s cannot be reached; replies dropped", chat_id)
                return
            if result.status != "sent":
                logger.warning(
                    "reply to Zalo chat %s not delivered: %s %s",
                    chat_id, result.status, result.reason,
                )

    async def send(self, chat_id: str, reply: Reply) -> DeliveryResult:
        """Deliver one outbox message; its buttons read as words to type (no numbers)."""
        return await self._send(chat_id, reply, lang=None, numbered=False)

    async def _send(
        self, chat_id: str, reply: Reply, *, lang: str | None, numbered: bool
    ) -> DeliveryResult:
        try:
            if self.api is None:
                raise RuntimeError("the Zalo channel is not started")
            if lang is None:
                # Only our own hints need the chat's language: plain text needs no lookup.
                needs = bool(reply.buttons or reply.attachment)
                lang = await self._lang(chat_id) if needs else texts.DEFAULT_LANG
            message_id = await send_reply(
                self.api,
                chat_id,
                render(reply, lang, numbered=numbered),
                reply.attachment,
                publish=partial(self._publish, chat_id),
                lang=lang,
                link_minutes=self.settings.download_ttl_seconds // 60,
            )
        except Exception as exc:  # the delivery worker decides, so nothing escapes
            result = delivery_failure(exc)
            self._report(chat_id, exc, result)
        else:
            self._token_reported = False
            result = DeliveryResult("sent", message_id=message_id)
        metrics.SENT.labels(CHANNEL, result.status).inc()
        return result

    def _report(self, chat_id: str, exc: Exception, result: DeliveryResult) -> None:
        """One clear line for a wrong token (not one per message), the raw code otherwise."""
        if isinstance(exc, ZaloApiError) and exc.bad_token:
            if not self._token_reported:
                self._token_reported = True
                logger.error(
                    "Zalo rejected THIDUA_ZALO_TOKEN (error %s: %s): nothing can be sent "
                    "until the token is fixed", exc.error_code, exc.description,
                )
        elif result.status == "blocked":
            logger.info("Zalo chat %s cannot be reached (%s)", chat_id, result.reason)
        elif result.status == "failed":
            logger.warning("send to Zalo chat %s failed: %s", chat_id, result.reason)
        else:
            logger.info("send to Zalo chat %s will be retried: %s", chat_id, result.reason)

    async def _lang(self, chat_id: str) -> str:
        """The chat's language for the channel's own hints (Vietnamese if unknown)."""
        try:
            async with self.dispatcher.sessionmaker() as session:
                state = await chats.load(session, CHANNEL, chat_id)
                lang = state.lang
        except Exception:
            logger.exception("could not read the language of Zalo chat %s", chat_id)
            return texts.DEFAULT_LANG
        return lang or texts.DEFAULT_LANG

    async def _publish(
        self, chat_id: str, attachment: Attachment, ttl: timedelta | None
    ) -> str:
        """A download link to the attachment, stored in the database."""
        async with self.dispatcher.sessionmaker() as session, session.begin():
            return await downloads.publish(
                session,
                attachment,
                settings=self.settings,
                actor=f"zalo:{chat_id}",
                now=self.dispatcher.clock(),
                ttl=ttl,
            )
