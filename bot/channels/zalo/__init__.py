"""The Zalo channel on the Zalo Bot API: start/stop (webhook or long polling), updates, send.

A thin aiohttp client (`api`) talks to Zalo; parsing lives in `inbound`, the text a
resident reads in `render` (numbered choices: Zalo's bot has no buttons), the API calls
and error meanings in `outbound`, sending and its outcomes in `sender`; this module runs
the lifecycle.

Long polling by default: getUpdates has no offset, so a redelivered message is known by
its message id (the dispatcher records each once). With THIDUA_ZALO_WEBHOOK_URL, Zalo
POSTs to /zalo/webhook with our secret in `X-Bot-Api-Secret-Token`; the update is
handled (and committed) before the 200, and the replies are sent just after it, in order
per chat, so Zalo never waits on our sends.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from aiohttp import web

from bot import downloads, metrics
from bot.channels.zalo.api import ZaloApi, ZaloApiError, ZaloNetworkError
from bot.channels.zalo.inbound import to_incoming, updates_in
from bot.channels.zalo.sender import Sender
from bot.dispatcher import Dispatcher
from bot.events import Capabilities, ChannelName, DeliveryResult, Incoming, Reply
from bot.settings import Settings

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/zalo/webhook"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
BACKOFF_START, BACKOFF_MAX = 1.0, 60.0
DRAIN_TIMEOUT = 10.0
MIN_POLL_GAP = 1.0


class ZaloStartError(RuntimeError):
    """The channel cannot start; the message is one line for the operator."""


class ZaloChannel:
    """Zalo's bot, by webhook when a URL is set, else by long polling."""

    name: ChannelName = "zalo"
    capabilities = Capabilities(
        buttons=False, contact_request=False, documents=False, max_text=2000, photos=True
    )

    def __init__(self, settings: Settings, dispatcher: Dispatcher) -> None:
        if settings.zalo_token is None:
            raise ValueError("the Zalo channel needs THIDUA_ZALO_TOKEN")
        self.settings = settings
        self.dispatcher = dispatcher
        self.bot_name = ""
        self._api: ZaloApi | None = None
        self._poller: asyncio.Task[None] | None = None
        self._batch: asyncio.Future[None] | None = None
        self.sender = Sender(settings, dispatcher)

    @property
    def api(self) -> ZaloApi:
        """The started API client."""
        if self._api is None:
            raise RuntimeError("the Zalo channel is not started")
        return self._api

    @property
    def webhook_mode(self) -> bool:
        """True when Zalo pushes updates to us; False when we poll."""
        return bool(self.settings.zalo_webhook_url)

    def setup(self, app: web.Application) -> None:
        """Add the start/stop hook and, in webhook mode, the webhook route."""
        app.cleanup_ctx.append(self._lifecycle)
        if self.webhook_mode:
            app.router.add_post(WEBHOOK_PATH, self.webhook)

    async def _lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        api = await self._start_api()
        self._api = self.sender.api = api
        try:
            if self.webhook_mode:
                await self._set_webhook(api)
                logger.info("Zalo bot %s: webhook %s", self.bot_name, WEBHOOK_PATH)
            else:
                try:
                    await api.delete_webhook()
                except (ZaloApiError, ZaloNetworkError) as exc:
                    logger.warning("Zalo deleteWebhook failed (%s); polling anyway", exc)
                self._poller = asyncio.create_task(self._poll(), name="zalo-polling")
                logger.info("Zalo bot %s: long polling", self.bot_name)
            yield
        finally:
            await self._stop_polling()
            await self.sender.idle(DRAIN_TIMEOUT)
            await api.close()
            self._api = self.sender.api = None

    async def start_sending(self) -> None:
        """Start the API client only, for a process that sends but does not receive."""
        if self._api is None:
            self._api = self.sender.api = await self._start_api()

    async def stop_sending(self) -> None:
        """Close the API client started by start_sending."""
        if self._api is not None:
            await self._api.close()
            self._api = self.sender.api = None

    async def _start_api(self) -> ZaloApi:
        token = self.settings.zalo_token
        assert token is not None
        api = ZaloApi(self.settings.zalo_api_url, token.get_secret_value())
        try:
            me = await api.get_me()
        except ZaloApiError as exc:
            await api.close()
            if exc.bad_token:
                logger.error(
                    "Zalo rejected THIDUA_ZALO_TOKEN (error %s: %s)", exc.error_code,
                    exc.description,
                )
                raise ZaloStartError("Zalo rejected THIDUA_ZALO_TOKEN") from None
            raise ZaloStartError(f"Zalo Bot API refused getMe: {exc}") from None
        except ZaloNetworkError as exc:
            await api.close()
            raise ZaloStartError(
                f"cannot reach the Zalo Bot API at {self.settings.zalo_api_url}: {exc}"
            ) from None
        self.bot_name = str(me.get("account_name") or me.get("display_name") or me.get("id"))
        if not self.settings.public_url:
            logger.warning(
                "THIDUA_PUBLIC_URL is not set: charts and download links sent on Zalo point "
                "at %s, which residents' phones cannot reach", downloads.base_url(self.settings),
            )
        return api

    async def _set_webhook(self, api: ZaloApi) -> None:
        try:
            await api.set_webhook(self.settings.zalo_webhook_url or "", self._secret())
        except (ZaloApiError, ZaloNetworkError) as exc:
            logger.error("Zalo setWebhook failed: %s", exc)
            raise ZaloStartError(
                f"Zalo did not accept THIDUA_ZALO_WEBHOOK_URL: {exc}"
            ) from None

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
                logger.warning("Zalo updates still in hand at shutdown were cancelled")
                unfinished.cancel()
                await asyncio.gather(unfinished, return_exceptions=True)

    def _secret(self) -> str:
        secret = self.settings.zalo_webhook_secret
        return secret.get_secret_value() if secret is not None else ""

    # --- receiving ----------------------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        """Zalo's POST: check the secret, handle each update, answer 200 (even to junk)."""
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        expected = self._secret().encode()
        if not expected or not hmac.compare_digest(given, expected):
            metrics.REJECTED.labels("zalo", "secret").inc()
            logger.warning("Zalo webhook call with a wrong secret from %s", request.remote)
            return web.Response(status=401, text="unauthorized")
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        updates = updates_in(body)
        if not updates:
            # A 4xx would only make Zalo send the same junk again.
            metrics.REJECTED.labels("zalo", "payload").inc()
            logger.warning("Zalo webhook body is not an update; ignored")
            return web.Response(text="ignored")
        for update in updates:
            incoming = self._parse(update)
            if incoming is None:
                continue
            replies = await self.dispatcher.dispatch(incoming, self.capabilities)
            self.sender.reply_later(incoming.chat_id, replies)
        return web.Response(text="ok")

    def _parse(self, update: dict[str, Any]) -> Incoming | None:
        """The update as an Incoming; None (and logged) for what we do not handle."""
        try:
            return to_incoming(update, self.dispatcher.clock())
        except Exception:  # a shape nobody foresaw must not cost Zalo a 5xx
            metrics.REJECTED.labels("zalo", "payload").inc()
            logger.exception("Zalo update could not be read; ignored")
            return None

    async def handle_update(self, update: dict[str, Any]) -> None:
        """Turn one update into replies and send them; ignored kinds are dropped."""
        incoming = self._parse(update)
        if incoming is None:
            return
        replies = await self.dispatcher.dispatch(incoming, self.capabilities)
        await self.deliver(incoming.chat_id, replies)

    async def _poll(self) -> None:
        """Long-poll getUpdates (one update, a list, or 408 when nothing came)."""
        delay = BACKOFF_START
        timeout = self.settings.zalo_poll_timeout
        while True:
            started = time.monotonic()
            try:
                updates = await self.api.get_updates(timeout)
            except (ZaloApiError, ZaloNetworkError) as exc:
                if isinstance(exc, ZaloApiError) and exc.bad_token:
                    logger.error(
                        "Zalo rejected THIDUA_ZALO_TOKEN (error %s, revoked or reset?); "
                        "polling stopped", exc.error_code,
                    )
                    return
                wait = delay
                if isinstance(exc, ZaloApiError) and exc.rate_limited and exc.retry_after:
                    wait = exc.retry_after
                logger.warning("Zalo getUpdates failed (%s); retry in %.0f s", exc, wait)
                await asyncio.sleep(wait)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            delay = BACKOFF_START
            if updates:
                # Shielded: a shutdown stops the polling, not the handling of what we took.
                self._batch = asyncio.ensure_future(self._handle_batch(updates))
                await asyncio.shield(self._batch)
                self._batch = None
            elif time.monotonic() - started < MIN_POLL_GAP:
                await asyncio.sleep(MIN_POLL_GAP)  # an instant empty answer must not spin

    async def _handle_batch(self, updates: Sequence[dict[str, Any]]) -> None:
        """Chats in parallel, each chat's updates in order."""
        by_chat: dict[str, list[dict[str, Any]]] = {}
        for update in updates:
            message = update.get("message")
            chat = message.get("chat") if isinstance(message, dict) else None
            key = str(chat.get("id")) if isinstance(chat, dict) else ""
            by_chat.setdefault(key, []).append(update)
        await asyncio.gather(*(self._handle_in_order(batch) for batch in by_chat.values()))

    async def _handle_in_order(self, updates: list[dict[str, Any]]) -> None:
        for update in updates:
            try:
                await self.handle_update(update)
            except Exception:
                logger.exception("Zalo update failed")

    # --- sending ------------------------------------------------------------------------

    async def deliver(self, chat_id: str, replies: Sequence[Reply]) -> None:
        """Send the replies to an update in order (the choices of the last one numbered)."""
        await self.sender.deliver(chat_id, replies)

    async def send(self, chat_id: str, reply: Reply) -> DeliveryResult:
        """Deliver one outbox message; every failure becomes a DeliveryResult."""
        return await self.sender.send(chat_id, reply)

    async def idle(self, timeout: float | None = None) -> None:
        """Wait until the replies in hand are sent (webhook mode sends after the 200)."""
        await self.sender.idle(timeout)
