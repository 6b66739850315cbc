"""Outbox messages to OA followers, within Zalo's messaging windows.

The channel's `send(chat_id, reply)` (what the delivery worker calls) hands over to
`OutboxSender.send`. It reads when the follower last interacted, picks the window
(bot.channels.zalo_oa.windows) and then:

- FREE / PAID: the consultation message (CS), rendered as for any outbox message;
- TEMPLATE: the ward's approved template, our text in its one parameter;
- HOLD: nothing is sent; DeliveryResult("held") keeps the row in the outbox until the
  resident writes again (the webhook calls storage.repos.outbox.release_held).

What Zalo answers becomes what the worker needs: -230/-232 (no interaction in 7 days)
→ held, and the window is remembered as closed (or the template goes instead); -32 (the
per-minute limit) and the OA's daily quotas → retry_after, so the worker pauses the
channel instead of dropping; a follower who left, blocked or is banned → blocked; no
usable token → retry_after five minutes, logged once.

A long reply goes as several CS messages. If a later piece is refused, the pieces already
sent are remembered (in this process) so the retry does not send them twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import metrics, texts
from bot.channels.zalo_oa.api import OAApiError, OANetworkError
from bot.channels.zalo_oa.render import cut, render
from bot.channels.zalo_oa.tokens import TokenUnavailable
from bot.channels.zalo_oa.windows import Window, closed_before, window_for
from bot.events import DeliveryResult, Reply
from bot.settings import Settings
from storage.repos import chats, zalo_oa_followers

logger = logging.getLogger(__name__)

CHANNEL = "zalo_oa"
PER_MINUTE_WAIT = 60.0  # -32: the app's 4,000 calls a minute are spent
QUOTA_WAIT = 3600.0  # the OA's daily quota is spent: try again in an hour
TOKEN_WAIT = 300.0  # not connected, or the refresh failed: officers must act
# Zalo's template info gives each parameter a maximum length; custom text parameters
# commonly allow about this much, and a shorter text is always accepted.
TEMPLATE_PARAM_LIMIT = 100
DAILY_QUOTA_CODES = frozenset({-211, -144})
# The recipient's own quota (-218) or the legacy 48 h rules (-305/-311): it waits for
# their next message rather than pausing every other resident's.
HOLD_CODES = frozenset({-218, -305, -311})
REMEMBERED_PROGRESS = 10_000


class OAClient(Protocol):
    """The two calls the outbox needs (bot.channels.zalo_oa.api.OAApi)."""

    async def send_cs(self, user_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """A consultation message to one user."""

    async def send_template(
        self, user_id: str, template_id: str, template_data: dict[str, Any]
    ) -> dict[str, Any]:
        """An approved template message to one user."""


class OutboxSender:
    """Sends outbox messages through the OA API (`api`, set once the channel started)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        api: OAClient | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.api = api
        self.clock = clock or (lambda: datetime.now(UTC))
        # How long the worker pauses the channel: the per-minute limit, a spent daily
        # quota, no usable token.
        self.per_minute_wait, self.quota_wait = PER_MINUTE_WAIT, QUOTA_WAIT
        self.token_wait = TOKEN_WAIT
        self._sent_pieces: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._token_reported = False

    async def send(self, chat_id: str, reply: Reply) -> DeliveryResult:
        """Deliver one outbox message to the follower `chat_id` (their OA user id)."""
        try:
            result = await self._send(chat_id, reply)
        except Exception as exc:  # the delivery worker decides, so nothing escapes
            result = self._failure(chat_id, exc)
        else:
            self._token_reported = False
        metrics.SENT.labels(CHANNEL, result.status).inc()
        return result

    async def _send(self, chat_id: str, reply: Reply) -> DeliveryResult:
        if self.api is None:
            return DeliveryResult("retry_after", retry_after=self.token_wait,
                                  reason="the Zalo OA channel is not started")
        now = self.clock()
        async with self.sessionmaker() as session:
            last = await zalo_oa_followers.last_interaction(session, chat_id)
            lang = (await chats.load(session, CHANNEL, chat_id)).lang or texts.DEFAULT_LANG
        window = window_for(last, now, self.settings)
        if window is Window.HOLD:
            return DeliveryResult("held", reason="outside Zalo's messaging window")
        if window is Window.TEMPLATE:
            return await self._send_template(chat_id, reply)
        try:
            message_id = await self._send_cs(chat_id, render(reply, lang, remembered=False))
        except OAApiError as exc:
            if not exc.outside_window:
                raise
            await self._close_window(chat_id, now)
            if self.settings.zalo_oa_template_id:
                return await self._send_template(chat_id, reply)
            return DeliveryResult("held", reason=f"Zalo OA error {exc.code}: {exc.message}")
        if window is Window.PAID:
            logger.info("billed consultation message to Zalo OA follower %s", chat_id)
        return DeliveryResult("sent", message_id=message_id)

    async def _send_cs(self, chat_id: str, messages: list[dict[str, Any]]) -> str | None:
        """The pieces in order, starting after those a refused earlier try already sent."""
        key = (chat_id, _digest(messages))
        start = self._sent_pieces.pop(key, 0)
        message_id: str | None = None
        assert self.api is not None
        for index in range(start, len(messages)):
            try:
                data = await self.api.send_cs(chat_id, messages[index])
            except Exception:
                if index:
                    self._remember(key, index)
                raise
            message_id = _message_id(data) or message_id
        return message_id

    async def _send_template(self, chat_id: str, reply: Reply) -> DeliveryResult:
        template_id = self.settings.zalo_oa_template_id
        assert self.api is not None and template_id
        text = cut(" ".join(reply.text.split()), TEMPLATE_PARAM_LIMIT)
        data = await self.api.send_template(
            chat_id, template_id, {self.settings.zalo_oa_template_param: text}
        )
        return DeliveryResult("sent", message_id=_message_id(data))

    async def _close_window(self, chat_id: str, now: datetime) -> None:
        """Zalo knows better than our records: the window is shut until they write."""
        async with self.sessionmaker() as session, session.begin():
            await zalo_oa_followers.close_window(session, chat_id, closed_before(now))

    def _remember(self, key: tuple[str, str], sent: int) -> None:
        self._sent_pieces[key] = sent
        while len(self._sent_pieces) > REMEMBERED_PROGRESS:
            self._sent_pieces.popitem(last=False)

    def _failure(self, chat_id: str, exc: Exception) -> DeliveryResult:
        """What a failed send means for the delivery worker, logged at its level."""
        if isinstance(exc, TokenUnavailable) or isinstance(exc, OAApiError) and exc.token_rejected:
            if not self._token_reported:
                self._token_reported = True
                logger.error(
                    "Zalo OA messages wait: no usable access token (%s). Run "
                    "`thidua zalo-oa connect` if the connection stopped", exc,
                )
            return DeliveryResult("retry_after", retry_after=self.token_wait, reason=str(exc))
        result = failure(exc, per_minute_wait=self.per_minute_wait, quota_wait=self.quota_wait)
        if result.status == "failed":
            logger.warning("send to Zalo OA follower %s failed: %s", chat_id, result.reason)
        else:
            logger.info("Zalo OA follower %s: %s (%s)", chat_id, result.status, result.reason)
        return result


def failure(
    exc: Exception, *, per_minute_wait: float = PER_MINUTE_WAIT, quota_wait: float = QUOTA_WAIT
) -> DeliveryResult:
    """A failed API call as a DeliveryResult (see the module docstring)."""
    if isinstance(exc, OANetworkError):
        return DeliveryResult("retry_after", retry_after=None, reason=f"network: {exc}")
    if not isinstance(exc, OAApiError):
        return DeliveryResult("failed", reason=f"{type(exc).__name__}: {exc}")
    reason = f"Zalo OA error {exc.code}: {exc.message or 'no message'}"
    if exc.rate_limited:
        return DeliveryResult("retry_after", retry_after=per_minute_wait, reason=reason)
    if exc.code in DAILY_QUOTA_CODES:
        return DeliveryResult("retry_after", retry_after=quota_wait, reason=reason)
    if exc.outside_window or exc.code in HOLD_CODES:
        return DeliveryResult("held", reason=reason)
    if exc.unreachable:
        return DeliveryResult("blocked", reason=reason)
    if exc.server_error:
        return DeliveryResult("retry_after", retry_after=None, reason=reason)
    return DeliveryResult("failed", reason=reason)


def _digest(messages: list[dict[str, Any]]) -> str:
    raw = json.dumps(messages, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(raw).hexdigest()


def _message_id(data: dict[str, Any]) -> str | None:
    value = data.get("message_id") or data.get("msg_id")  # CS / template answers
    return str(value) if value not in (None, "") else None
