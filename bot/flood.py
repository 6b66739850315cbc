"""Flood control per chat: one resident sending very fast cannot slow the bot for others.

A token bucket per (channel, chat): `burst` messages at once, then `per_second`
sustained. Past it, the first refused message gets one polite answer ("Bạn gửi nhanh
quá, vui lòng chờ vài giây") and the rest are dropped silently until the bucket has a
token again; then the chat is served as before. The dispatcher asks before it opens a
database transaction, so a flood costs neither a transaction nor the write lock.

The state lives in this process only, and that is enough: it protects this process's
event loop and database connections, which is what a flood would tie up. With several
webhook workers a chat may get a few more messages through (one bucket per worker),
never fewer; and a dropped update is simply not handled, while a handled one is still
recorded once in `processed_updates`, so duplicates stay single whatever the limiter
says. Idle buckets are forgotten so memory stays bounded by the chats active recently.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    """What to do with one incoming message."""

    HANDLE = "handle"
    WARN = "warn"
    DROP = "drop"


@dataclass(frozen=True)
class FloodLimits:
    """How much one chat may send: a burst, then a sustained rate."""

    burst: float = 5.0
    per_second: float = 1.0
    max_chats: int = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


class FloodControl:
    """Token buckets per chat; `check(key)` says whether to handle, warn once or drop."""

    def __init__(self, limits: FloodLimits | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or FloodLimits()
        self.clock = clock
        self._buckets: OrderedDict[tuple[str, str], _Bucket] = OrderedDict()

    def check(self, key: tuple[str, str]) -> Verdict:
        """Take a token for this chat's message, or say how to refuse it."""
        now = self.clock()
        limits = self.limits
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = _Bucket(tokens=limits.burst, updated=now)
        else:
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(limits.burst, bucket.tokens + elapsed * limits.per_second)
            bucket.updated = now
        self._buckets[key] = bucket
        self._forget_idle(now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.warned = False
            return Verdict.HANDLE
        if bucket.warned:
            return Verdict.DROP
        bucket.warned = True
        return Verdict.WARN

    def __len__(self) -> int:
        return len(self._buckets)

    def _forget_idle(self, now: float) -> None:
        """Drop buckets that are full again (or too many): they would say HANDLE anyway."""
        refill = self.limits.burst / max(self.limits.per_second, 1e-9)
        while self._buckets:
            key, oldest = next(iter(self._buckets.items()))
            if len(self._buckets) <= self.limits.max_chats and now - oldest.updated < refill:
                return
            del self._buckets[key]
