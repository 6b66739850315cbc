"""Platform-side rate limits for fake API servers: answer 429 like the real ones do."""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque


class RateLimits:
    """At most `per_second` sends in any second, and `per_chat_gap` seconds between sends
    to one chat; past either, the caller gets a retry-after, and the breach is counted."""

    def __init__(self, per_second: int = 30, per_chat_gap: float = 1.0, retry_after: int = 1):
        self.per_second = per_second
        self.per_chat_gap = per_chat_gap
        self.retry_after = retry_after
        self.window: deque[float] = deque()
        self.last_by_chat: dict[object, float] = {}
        self.refused = 0
        self.refused_by_chat: dict[object, int] = defaultdict(int)
        self.accepted_times: list[float] = []

    def check(self, chat_id: object) -> int | None:
        """None if this send is allowed now (and counts it), else seconds to wait."""
        now = time.monotonic()
        while self.window and now - self.window[0] >= 1.0:
            self.window.popleft()
        last = self.last_by_chat.get(chat_id)
        # A little slack for timer jitter on a busy machine.
        too_soon = last is not None and now - last < self.per_chat_gap * 0.95
        if len(self.window) >= self.per_second or too_soon:
            self.refused += 1
            self.refused_by_chat[chat_id] += 1
            wait = self.per_chat_gap - (now - last) if too_soon and last is not None else 1.0
            return max(self.retry_after, math.ceil(wait))
        self.window.append(now)
        self.last_by_chat[chat_id] = now
        self.accepted_times.append(now)
        return None

    def busiest_second(self) -> int:
        """The most sends accepted within any one-second window."""
        times, best, start = self.accepted_times, 0, 0
        for end in range(len(times)):
            while times[end] - times[start] >= 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best
