"""`thidua serve` (or `deliver`) with suggested changes applied in memory, to measure them.

    python bench/variants.py VARIANT[,VARIANT...] serve|deliver

Each variant patches one thing the benchmark found slow (the code on disk is not
touched); `bench/ingest.py --variant NAME` runs the server this way. The variants are
the suggestions written up in docs/performance.md:

- `sqlite-one-connection`: SQLite engine with one pooled connection, so updates queue
  for the single writer in asyncio instead of sleeping in SQLite's busy handler.
- `quiet-access-log`: no aiohttp access-log line per webhook call.
- `telegram-aiohttp`: the Telegram channel's Bot API calls over aiohttp
  (bench/aiohttp_request.py) instead of PTB's default httpx transport.
- `sniffio`: httpcore without its failing `import sniffio` on every lock it makes.
- `no-raw-copy`: the Telegram adapter without `raw=update.to_dict()`, which re-serializes
  every parsed update for a field nothing reads.
- `pacer-grid`: the delivery pacer schedules the next send from the previous slot, not
  from the moment the event loop woke up (asyncio wakes a little late every time).
- `pacer-window`: the grid, plus a guard that mirrors the platform's rule (never the
  31st send within 1.02 s of the 30th before it), so jitter cannot cause a 429.
- `flood`: per-chat flood control (bot/flood.py) called first by the dispatcher, to try
  it in the web chat before it is wired in.
- `delivery-batch-300`: `thidua deliver` claiming 300 outbox rows at a time, not 60, so
  the pause between batches (when no message goes out) comes 5 times less often.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def sqlite_one_connection() -> None:
    """make_engine(...) with pool_size=1, max_overflow=0 for SQLite."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    import storage
    import storage.engine as engine_module

    original = engine_module.make_engine

    def make_engine(url: str, *, echo: bool = False):  # type: ignore[no-untyped-def]
        if make_url(url).get_backend_name() != "sqlite":
            return original(url, echo=echo)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30},
                                     pool_size=1, max_overflow=0, pool_timeout=60)
        engine_module._configure_sqlite(engine)
        return engine

    engine_module.make_engine = make_engine
    storage.make_engine = make_engine
    import bot.app

    bot.app.make_engine = make_engine  # type: ignore[attr-defined]


def telegram_aiohttp() -> None:
    """The Telegram channel's API calls through bench/aiohttp_request.py, not httpx."""
    import bot.channels.telegram as telegram
    from bench.aiohttp_request import AiohttpRequest

    def request(connection_pool_size: int = 1, **_: object) -> AiohttpRequest:
        return AiohttpRequest(connection_pool_size)

    telegram.HTTPXRequest = request  # type: ignore[assignment,misc]


def sniffio_present() -> None:
    """What `pip install sniffio` gives httpcore: no failing import on every lock."""
    import types

    shim = types.ModuleType("sniffio")
    shim.current_async_library = lambda: "asyncio"  # type: ignore[attr-defined]
    sys.modules.setdefault("sniffio", shim)


def pacer_grid() -> None:
    """The delivery pacer keeps its grid of send times when a wake-up comes a little late."""
    import asyncio
    import time

    from bot.delivery import Pacer

    async def acquire(self: Pacer) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                start = max(self.next_at, self.paused_until)
                if now >= start:
                    behind = now - self.next_at
                    base = self.next_at if 0 <= behind < self.interval / 2 else now
                    self.next_at = base + self.interval
                    return
                await asyncio.sleep(start - now)

    Pacer.acquire = acquire  # type: ignore[method-assign]


def pacer_window() -> None:
    """The pacer keeps its grid and never lets 30 sends fall within 1.02 s of each other."""
    import asyncio
    import time
    from collections import deque

    from bot.delivery import Pacer

    guard = 0.02

    async def acquire(self: Pacer) -> None:
        async with self._lock:
            sent = self.__dict__.setdefault("_sent", deque())
            per_window = round(1.0 / self.interval * (1.0 + 0.02))  # the platform's rate
            while True:
                now = time.monotonic()
                start = max(self.next_at, self.paused_until)
                if len(sent) >= per_window:
                    start = max(start, sent[0] + 1.0 + guard)
                if now >= start:
                    late = now - self.next_at
                    base = self.next_at if 0 <= late < self.interval else now
                    self.next_at = base + self.interval
                    sent.append(now)
                    while len(sent) > per_window:
                        sent.popleft()
                    return
                await asyncio.sleep(start - now)

    Pacer.acquire = acquire  # type: ignore[method-assign]


def no_raw_copy() -> None:
    """Incoming.raw without PTB's `update.to_dict()` (nothing reads it)."""
    from datetime import UTC

    import bot.channels.telegram.inbound as inbound
    from bot.events import Incoming

    def base(update, chat_id, user, received_at):  # type: ignore[no-untyped-def]
        return Incoming(
            channel=inbound.CHANNEL, update_id=str(update.update_id), chat_id=str(chat_id),
            user_id=str(user.id), received_at=received_at.astimezone(UTC), kind="other",
            display_name=user.full_name or None, lang_hint=user.language_code,
            raw={"update_id": update.update_id})

    inbound._base = base


def flood() -> None:
    """The dispatcher asks bot/flood.py first, as docs/performance.md proposes."""
    import bot.dispatcher as dispatcher
    from bot import texts
    from bot.events import Reply
    from bot.flood import FloodControl, Verdict

    for lang, line in (("vi", "Bạn gửi nhanh quá, vui lòng chờ vài giây."),
                       ("en", "You are sending messages too fast. Please wait a few seconds.")):
        texts.catalogue(lang).setdefault("flood.slow_down", line)
    original = dispatcher.Dispatcher.dispatch
    control = FloodControl()

    async def dispatch(self, incoming, capabilities):  # type: ignore[no-untyped-def]
        verdict = control.check((incoming.channel, incoming.chat_id))
        if verdict is Verdict.WARN:
            return [Reply(text=texts.t("flood.slow_down", incoming.lang_hint or "vi"))]
        if verdict is Verdict.DROP:
            return []
        return await original(self, incoming, capabilities)

    dispatcher.Dispatcher.dispatch = dispatch  # type: ignore[method-assign]


def delivery_batch_300() -> None:
    """The delivery worker claims 300 messages at a time instead of 60."""
    import bot.delivery as delivery
    import bot.worker_cli as worker_cli

    class Worker(delivery.DeliveryWorker):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            kwargs.setdefault("batch", 300)
            super().__init__(*args, **kwargs)

    worker_cli.DeliveryWorker = Worker  # type: ignore[misc]


def quiet_access_log() -> None:
    """Access-log lines only at WARNING and above (none for 200s)."""
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


VARIANTS: dict[str, Callable[[], None]] = {
    "sqlite-one-connection": sqlite_one_connection,
    "quiet-access-log": quiet_access_log,
    "telegram-aiohttp": telegram_aiohttp,
    "sniffio": sniffio_present,
    "delivery-batch-300": delivery_batch_300,
    "no-raw-copy": no_raw_copy,
    "pacer-grid": pacer_grid,
    "pacer-window": pacer_window,
    "flood": flood,
}


def main() -> int:
    """Apply the variants named in argv[1], then run the `thidua` CLI with the rest."""
    for name in filter(None, sys.argv[1].split(",")):
        VARIANTS[name]()
    from bot.__main__ import main as thidua

    return thidua(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
