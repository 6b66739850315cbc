"""The delivery worker: the only sender of outbox messages.

It claims due rows in small batches (a lease marks them as being sent), sends them
within each platform's limits (messages per second for the bot, a gap per chat), and
records every outcome: sent, retried after the platform's retry-after or a backoff,
held (the platform would refuse it now: it waits for the resident's next message),
blocked (the chat is marked unreachable), or failed. After a crash, rows whose lease
ran out are claimed again, so nothing is lost; at most the messages in flight at the
crash can be sent twice.

Only real failures count toward `max_attempts`: waiting out a platform's retry-after (a
rate limit, a spent quota) or a messaging window is the platform slowing us down, so a
message held back that way is never given up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import metrics
from bot.events import Channel, DeliveryResult
from bot.outbox import payload_to_reply
from handlers.reminder_rules import deliverable_at
from storage.models import OutboxMessage
from storage.repos import outbox, residents

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """A platform's sending limits."""

    per_second: float = 30.0
    per_chat_gap: float = 1.0


# Zalo OA: 4,000 API calls a minute per app (about 66 a second), kept well under.
DEFAULT_LIMITS = {
    "telegram": Limits(30.0, 1.0),
    "zalo": Limits(5.0, 1.0),
    "zalo_oa": Limits(50.0, 0.5),
}
UNLIMITED = Limits(1000.0, 0.0)


class Pacer:
    """Spaces sends evenly at `rate` per second, a little under it, and keeps to that grid
    when the event loop wakes late (counting from `now` would lose the lateness on every
    send). It also mirrors the platform's own rule, never more than `rate` sends within
    one second plus a guard, so jitter on the way cannot make the platform count more."""

    def __init__(self, rate: float, margin: float = 0.02, guard: float = 0.02) -> None:
        self.interval = (1.0 + margin) / max(rate, 0.001)
        self.guard = guard
        self.next_at = 0.0
        self.paused_until = 0.0
        self.recent: deque[float] = deque(maxlen=max(1, int(rate)))
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """Hold every send for `seconds` (the platform said 429)."""
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    async def acquire(self) -> None:
        """Wait for this send's slot."""
        async with self._lock:
            while True:
                now = time.monotonic()
                start = max(self.next_at, self.paused_until)
                if len(self.recent) == self.recent.maxlen:
                    start = max(start, self.recent[0] + 1.0 + self.guard)
                if now >= start:
                    late = now - self.next_at
                    base = self.next_at if 0 <= late < self.interval else now
                    self.next_at = base + self.interval
                    self.recent.append(now)
                    return
                await asyncio.sleep(start - now)


class DeliveryWorker:
    """Sends what is in the outbox through the channels, within their limits."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        channels: dict[str, Channel],
        *,
        limits: dict[str, Limits] | None = None,
        clock: Callable[[], datetime] | None = None,
        batch: int = 60,
        lease: float = 60.0,
        max_attempts: int = 8,
        idle_wait: float = 0.5,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.channels = channels
        self.clock = clock or (lambda: datetime.now(UTC))
        self.batch, self.lease, self.max_attempts, self.idle_wait = (
            batch,
            lease,
            max_attempts,
            idle_wait,
        )
        chosen = {**DEFAULT_LIMITS, **(limits or {})}
        self.limits = {name: chosen.get(name, UNLIMITED) for name in channels}
        self.pacers = {name: Pacer(self.limits[name].per_second) for name in channels}
        self.last_to_chat: dict[tuple[str, str], float] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; a failing batch is logged and retried."""
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except Exception:
                logger.exception("delivery batch failed; retrying shortly")
                handled = 0
            if handled == 0:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=self.idle_wait)
                except TimeoutError:
                    pass

    async def run_once(self) -> int:
        """Claim one batch and send it; returns how many messages were handled."""
        now = self.clock()
        async with self.sessionmaker() as session, session.begin():
            rows = await outbox.claim_batch(
                session,
                list(self.channels),
                now=now,
                lease_until=now + timedelta(seconds=self.lease),
                limit=self.batch,
            )
        if not rows:
            return 0
        rows = await self._hold_quiet_reminders(rows, now)
        by_chat: dict[tuple[str, str], list[OutboxMessage]] = {}
        for row in rows:
            by_chat.setdefault((row.channel, row.chat_id), []).append(row)
        await asyncio.gather(*(self._send_chat(chat, items) for chat, items in by_chat.items()))
        return len(rows)

    async def _hold_quiet_reminders(
        self, rows: list[OutboxMessage], now: datetime
    ) -> list[OutboxMessage]:
        """Reminders that reach the front of the queue in quiet hours wait until 07:00."""
        opens = deliverable_at(now)
        if opens <= now:
            return rows
        held = [row for row in rows if row.kind == "reminder"]
        if held:
            async with self.sessionmaker() as session, session.begin():
                for row in held:
                    await outbox.finish(
                        session, row.id, status="pending", now=now, not_before=opens,
                        counted=False,
                    )
        return [row for row in rows if row.kind != "reminder"]

    async def _send_chat(self, chat: tuple[str, str], rows: list[OutboxMessage]) -> None:
        """One chat's messages in order, spaced by the platform's per-chat gap."""
        for position, row in enumerate(rows):
            result = await self._send_one(chat, row)
            if result.status == "held":
                await self._hold(rows[position + 1 :], result)
                return
            if result.status != "sent":
                await self._release(rows[position + 1 :])
                return

    async def _send_one(self, chat: tuple[str, str], row: OutboxMessage) -> DeliveryResult:
        channel_name, chat_id = chat
        gap = self.limits[channel_name].per_chat_gap
        waited = self.last_to_chat.get(chat, 0.0) + gap - time.monotonic()
        if waited > 0:
            await asyncio.sleep(waited)
        await self.pacers[channel_name].acquire()
        try:
            result = await self.channels[channel_name].send(chat_id, payload_to_reply(row.payload))
        except Exception as exc:  # an adapter bug must not stop the worker
            logger.exception("send to %s:%s failed", channel_name, chat_id)
            result = DeliveryResult("failed", reason=f"{type(exc).__name__}: {exc}")
        self.last_to_chat[chat] = time.monotonic()
        await self._record(row, result)
        return result

    async def _record(self, row: OutboxMessage, result: DeliveryResult) -> None:
        now = self.clock()
        async with self.sessionmaker() as session, session.begin():
            if result.status == "sent":
                await outbox.finish(
                    session, row.id, status="sent", now=now, platform_message_id=result.message_id
                )
            elif result.status == "blocked":
                await outbox.finish(
                    session, row.id, status="blocked", now=now, error=result.reason
                )
                await residents.mark_unreachable(session, row.channel, row.chat_id, now)
                logger.info(
                    "%s chat %s blocked the bot; skipped from now on", row.channel, row.chat_id
                )
            elif result.status == "held":
                await outbox.finish(
                    session, row.id, status="held", now=now, error=result.reason, counted=False
                )
                logger.info("%s chat %s: message held (%s)", row.channel, row.chat_id,
                            result.reason)
            elif result.status == "retry_after" and result.retry_after is not None:
                # The platform said when: slow the whole channel down, and do not count it.
                self.pacers[row.channel].pause(result.retry_after)
                await outbox.finish(
                    session,
                    row.id,
                    status="pending",
                    now=now,
                    not_before=now + timedelta(seconds=result.retry_after),
                    error=result.reason or "retry",
                    counted=False,
                )
            elif result.status == "retry_after" and row.attempts < self.max_attempts:
                delay = min(300.0, 2.0**row.attempts)
                await outbox.finish(
                    session,
                    row.id,
                    status="pending",
                    now=now,
                    not_before=now + timedelta(seconds=delay),
                    error=result.reason or "retry",
                )
            else:
                reason = result.reason or result.status
                await outbox.finish(session, row.id, status="failed", now=now, error=reason)
                logger.warning("giving up on outbox %s to %s: %s", row.id, row.channel, reason)
        metrics.DELIVERED.labels(row.channel, result.status).inc()

    async def _hold(self, rows: list[OutboxMessage], result: DeliveryResult) -> None:
        """The rest of a chat's batch waits with the message just held (same chat, same
        window), keeping its order for when the resident writes again."""
        if not rows:
            return
        now = self.clock()
        async with self.sessionmaker() as session, session.begin():
            for row in rows:
                await outbox.finish(
                    session, row.id, status="held", now=now, error=result.reason, counted=False
                )

    async def _release(self, rows: list[OutboxMessage]) -> None:
        """Put back the rest of a chat's batch so it keeps its order on the next pass."""
        if not rows:
            return
        now = self.clock()
        async with self.sessionmaker() as session, session.begin():
            for row in rows:
                await outbox.finish(
                    session, row.id, status="pending", now=now, not_before=now, counted=False
                )
