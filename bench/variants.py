"""`thidua serve` (or `deliver`) with changes applied in memory, to measure them.

    python bench/variants.py VARIANT[,VARIANT...] serve|deliver

Each variant patches one thing (the code on disk is not touched); `bench/ingest.py
--variant NAME` runs the server this way. Ideas not taken yet, or measured and left:

- `quiet-access-log`: no aiohttp access-log line per webhook call.
- `sniffio`: httpcore without its failing `import sniffio` on every lock it makes
  (only the long poll still goes through httpx).
- `delivery-batch-300`: `thidua deliver` claiming 300 outbox rows at a time, not 60.

And the suggestions already applied, undone, to measure what each brings in one run:

- `httpx-transport`: the Telegram channel's Bot API calls through PTB's default
  `HTTPXRequest` again, and every answer parsed into PTB objects (as before #7).
- `sqlite-pool`: SQLAlchemy's default pool (5 + 10 connections) for SQLite again.
- `raw-copy`: the Telegram adapter fills `Incoming.raw` with `update.to_dict()` again.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def sniffio_present() -> None:
    """What `pip install sniffio` gives httpcore: no failing import on every lock."""
    import types

    shim = types.ModuleType("sniffio")
    shim.current_async_library = lambda: "asyncio"  # type: ignore[attr-defined]
    sys.modules.setdefault("sniffio", shim)


def httpx_transport() -> None:
    """PTB's default transport (httpx) and PTB objects from every answer, as before #7."""
    from telegram import Message
    from telegram.request import HTTPXRequest

    import bot.channels.telegram as telegram
    from bot.channels.telegram.transport import RawBot

    def request(connection_pool_size: int = 1, **_: object) -> HTTPXRequest:
        return HTTPXRequest(connection_pool_size=connection_pool_size, pool_timeout=10.0)

    async def call(self: RawBot, endpoint: str, **params: object) -> object:
        result = await self._post(endpoint, params)
        if isinstance(result, dict):
            Message.de_json(result, self)  # what PTB's send_message did with every answer
        return result

    telegram.AiohttpRequest = request  # type: ignore[assignment,misc]
    RawBot.call = call  # type: ignore[method-assign]


def sqlite_pool() -> None:
    """make_engine(...) for SQLite with SQLAlchemy's default pool (5 + 10 connections)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    import bot.app
    import storage
    import storage.engine as engine_module

    original = engine_module.make_engine

    def make_engine(url: str, *, echo: bool = False):  # type: ignore[no-untyped-def]
        if not url.startswith("sqlite"):
            return original(url, echo=echo)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        engine_module._configure_sqlite(engine)
        return engine

    engine_module.make_engine = make_engine
    storage.make_engine = make_engine
    bot.app.make_engine = make_engine  # type: ignore[attr-defined]


def raw_copy() -> None:
    """Incoming.raw filled with PTB's `update.to_dict()` again."""
    from dataclasses import replace

    import bot.channels.telegram as telegram
    import bot.channels.telegram.inbound as inbound

    original = inbound.to_incoming

    def to_incoming(update):  # type: ignore[no-untyped-def]
        incoming = original(update)
        return None if incoming is None else replace(incoming, raw=update.to_dict())

    inbound.to_incoming = to_incoming
    telegram.to_incoming = to_incoming  # type: ignore[attr-defined]


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
    "quiet-access-log": quiet_access_log,
    "sniffio": sniffio_present,
    "delivery-batch-300": delivery_batch_300,
    "httpx-transport": httpx_transport,
    "sqlite-pool": sqlite_pool,
    "raw-copy": raw_copy,
}


def main() -> int:
    """Apply the variants named in argv[1], then run the `thidua` CLI with the rest."""
    for name in filter(None, sys.argv[1].split(",")):
        VARIANTS[name]()
    from bot.__main__ import main as thidua

    return thidua(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
