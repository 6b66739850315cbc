"""The Telegram channel: start/stop (webhook or long polling), update handling, send.

python-telegram-bot is the transport only: `telegram.Bot` for the API calls (over
aiohttp, answers kept as JSON: `transport`) and `Update.de_json` for parsing;
conversation state stays in our database. Parsing lives in `inbound`, rendering in
`outbound`; this module runs the lifecycle.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator, Sequence

from aiohttp import web
from telegram import Update
from telegram.error import InvalidToken, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot import metrics
from bot.channels.telegram.inbound import to_incoming
from bot.channels.telegram.outbound import (
    answer_press,
    delivery_failure,
    mark_pressed,
    retry_seconds,
    send_reply,
)
from bot.channels.telegram.transport import AiohttpRequest, RawBot
from bot.dispatcher import Dispatcher
from bot.events import Capabilities, ChannelName, DeliveryResult, Reply
from bot.settings import Settings

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query"]
BACKOFF_START, BACKOFF_MAX = 1.0, 60.0
INLINE_ATTEMPTS, INLINE_WAIT_MAX = 3, 5.0
DRAIN_TIMEOUT = 10.0
POOL_SIZE = 32


class TelegramStartError(RuntimeError):
    """The channel cannot start; the message is one line for the operator."""


class TelegramChannel:
    """Telegram through python-telegram-bot, by webhook when a URL is set, else polling."""

    name: ChannelName = "telegram"
    capabilities = Capabilities(
        buttons=True, contact_request=True, documents=True, max_text=4096
    )

    def __init__(self, settings: Settings, dispatcher: Dispatcher) -> None:
        if settings.telegram_token is None:
            raise ValueError("the Telegram channel needs THIDUA_TELEGRAM_TOKEN")
        self.settings = settings
        self.dispatcher = dispatcher
        self._bot: RawBot | None = None
        self._poller: asyncio.Task[None] | None = None
        self._batch: asyncio.Future[None] | None = None

    @property
    def bot(self) -> RawBot:
        """The started Bot API client."""
        if self._bot is None:
            raise RuntimeError("the Telegram channel is not started")
        return self._bot

    @property
    def webhook_mode(self) -> bool:
        """True when Telegram pushes updates to us; False when we poll."""
        return bool(self.settings.telegram_webhook_url)

    def setup(self, app: web.Application) -> None:
        """Add the start/stop hook and, in webhook mode, the webhook route."""
        # httpx logs every request URL at INFO, and Bot API URLs contain the token.
        httpx_logger = logging.getLogger("httpx")
        if httpx_logger.level == logging.NOTSET:
            httpx_logger.setLevel(logging.WARNING)
        app.cleanup_ctx.append(self._lifecycle)
        if self.webhook_mode:
            app.router.add_post(WEBHOOK_PATH, self.webhook)

    async def _lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        bot = await self._start_bot()
        self._bot = bot
        try:
            if self.webhook_mode:
                await bot.set_webhook(
                    url=self.settings.telegram_webhook_url or "",
                    secret_token=self._secret(),
                    allowed_updates=ALLOWED_UPDATES,
                )
                logger.info("Telegram @%s: webhook %s", bot.username, WEBHOOK_PATH)
            else:
                await bot.delete_webhook()
                self._poller = asyncio.create_task(self._poll(), name="telegram-polling")
                logger.info("Telegram @%s: long polling", bot.username)
            yield
        finally:
            await self._stop_polling()
            await bot.shutdown()
            self._bot = None

    async def start_sending(self) -> None:
        """Start the API client only, for a process that sends but does not receive."""
        if self._bot is None:
            self._bot = await self._start_bot()

    async def stop_sending(self) -> None:
        """Close the API client started by start_sending."""
        if self._bot is not None:
            await self._bot.shutdown()
            self._bot = None

    async def _stop_polling(self) -> None:
        """Stop asking for updates; let the batch in hand finish (bounded), then stop."""
        if self._poller is None:
            return
        self._poller.cancel()
        await asyncio.gather(self._poller, return_exceptions=True)
        self._poller = None
        batch, self._batch = self._batch, None
        if batch is not None and not batch.done():
            _, pending = await asyncio.wait({batch}, timeout=DRAIN_TIMEOUT)
            for unfinished in pending:
                logger.warning("Telegram updates still in hand at shutdown were cancelled")
                unfinished.cancel()
                await asyncio.gather(unfinished, return_exceptions=True)

    async def _start_bot(self) -> RawBot:
        token = self.settings.telegram_token
        assert token is not None
        api = self.settings.telegram_api_url
        # Sends over aiohttp, a pool of connections (the delivery worker sends in
        # parallel); the long poll keeps PTB's transport, one connection.
        bot = RawBot(
            token.get_secret_value(),
            base_url=f"{api}/bot",
            base_file_url=f"{api}/file/bot",
            request=AiohttpRequest(connection_pool_size=POOL_SIZE),
            get_updates_request=HTTPXRequest(connection_pool_size=1),
        )
        try:
            await bot.initialize()
        except InvalidToken:
            # PTB's own message repeats the token; say which setting is wrong instead.
            logger.error("Telegram rejected THIDUA_TELEGRAM_TOKEN (401 Unauthorized)")
            await bot.shutdown()
            raise TelegramStartError("Telegram rejected THIDUA_TELEGRAM_TOKEN") from None
        except TelegramError as exc:
            await bot.shutdown()
            raise TelegramStartError(
                f"cannot reach the Telegram Bot API at {api} ({type(exc).__name__})"
            ) from None
        return bot

    def _secret(self) -> str:
        secret = self.settings.telegram_webhook_secret
        return secret.get_secret_value() if secret is not None else ""

    async def webhook(self, request: web.Request) -> web.Response:
        """Telegram's POST: check the secret, parse, dispatch, answer; 200 once handled."""
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        expected = self._secret().encode()
        if not expected or not hmac.compare_digest(given, expected):
            metrics.REJECTED.labels("telegram", "secret").inc()
            logger.warning("Telegram webhook call with a wrong secret from %s", request.remote)
            return web.Response(status=401, text="unauthorized")
        try:
            data = await request.json()
        except ValueError:
            metrics.REJECTED.labels("telegram", "payload").inc()
            return web.Response(status=400, text="invalid JSON")
        update = parse_update(data, self.bot)
        if update is None:
            metrics.REJECTED.labels("telegram", "payload").inc()
            return web.Response(status=400, text="not a Telegram update")
        await self.handle_update(update)
        return web.Response(text="ok")

    async def handle_update(self, update: Update) -> None:
        """Turn one update into replies and deliver them; ignored kinds are dropped."""
        callback = update.callback_query
        if callback is not None:
            await answer_press(self.bot, callback)
        try:
            incoming = to_incoming(update)
        except (TypeError, ValueError, AttributeError) as exc:
            logger.warning("Telegram update %s ignored: %s", update.update_id, exc)
            return
        if incoming is None:
            logger.debug("Telegram update %s ignored", update.update_id)
            return
        replies = await self.dispatcher.dispatch(incoming, self.capabilities)
        if callback is not None and replies:
            await mark_pressed(self.bot, callback)
        await self.deliver(incoming.chat_id, replies)

    async def deliver(self, chat_id: str, replies: Sequence[Reply]) -> None:
        """Send the replies to an update in order, waiting briefly when asked to slow down."""
        for reply in replies:
            result = await self.send(chat_id, reply)
            attempts = 1
            while result.status == "retry_after" and attempts < INLINE_ATTEMPTS:
                wait = result.retry_after if result.retry_after is not None else BACKOFF_START
                if wait > INLINE_WAIT_MAX:
                    break
                await asyncio.sleep(wait)
                result = await self.send(chat_id, reply)
                attempts += 1
            if result.status == "blocked":
                logger.info("Telegram chat %s blocked the bot; replies dropped", chat_id)
                return
            if result.status != "sent":
                logger.warning(
                    "reply to Telegram chat %s not delivered: %s %s",
                    chat_id, result.status, result.reason,
                )

    async def send(self, chat_id: str, reply: Reply) -> DeliveryResult:
        """Deliver one reply to one chat; every failure becomes a DeliveryResult."""
        try:
            message_id = await send_reply(self.bot, chat_id, reply)
        except Exception as exc:  # the delivery worker decides, so nothing escapes
            result = delivery_failure(exc)
            if result.status == "failed":
                logger.warning("send to Telegram chat %s failed: %s", chat_id, result.reason)
        else:
            result = DeliveryResult("sent", message_id=message_id)
        metrics.SENT.labels("telegram", result.status).inc()
        return result

    async def _poll(self) -> None:
        """Long-poll getUpdates; a batch is confirmed (next offset) only once handled."""
        offset: int | None = None
        delay = BACKOFF_START
        timeout = self.settings.telegram_poll_timeout
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES
                )
            except InvalidToken:
                logger.error(
                    "Telegram rejected THIDUA_TELEGRAM_TOKEN (revoked?); polling stopped"
                )
                return
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
                continue
            except Exception as exc:  # network trouble, 409 Conflict, 5xx: back off
                logger.warning("Telegram getUpdates failed (%s); retry in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            delay = BACKOFF_START
            if updates:
                # Shielded: a shutdown stops the polling, not the handling of what we took.
                self._batch = asyncio.ensure_future(self._handle_batch(updates))
                await asyncio.shield(self._batch)
                self._batch = None
                offset = max(update.update_id for update in updates) + 1

    async def _handle_batch(self, updates: Sequence[Update]) -> None:
        """Chats in parallel, each chat's updates in order."""
        by_chat: dict[int | None, list[Update]] = {}
        for update in updates:
            chat = update.effective_chat
            by_chat.setdefault(chat.id if chat else None, []).append(update)
        await asyncio.gather(*(self._handle_in_order(batch) for batch in by_chat.values()))

    async def _handle_in_order(self, updates: list[Update]) -> None:
        for update in updates:
            try:
                await self.handle_update(update)
            except Exception:
                logger.exception("Telegram update %s failed", update.update_id)


def parse_update(data: object, bot: RawBot | None) -> Update | None:
    """An Update from a webhook body, or None when the body is not one."""
    if not isinstance(data, dict):
        return None
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return None
    try:
        update = Update.de_json(data, bot)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        logger.warning("Telegram update %s could not be parsed: %s", update_id, exc)
        return None
    messages = (update.message, update.edited_message, update.channel_post,
                update.edited_channel_post)
    if any(m is not None and getattr(m, "chat", None) is None for m in messages):
        logger.warning("Telegram update %s has a message without a chat", update_id)
        return None  # PTB accepts `"chat": null`; Telegram never sends it
    try:
        to_incoming(update)
    except (TypeError, ValueError, AttributeError) as exc:
        logger.warning("Telegram update %s has fields of the wrong type: %s", update_id, exc)
        return None
    return update
