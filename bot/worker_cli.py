"""`thidua deliver`: only the delivery worker, for a process of its own per bot token.

No web server, no polling or webhook: it sends what the outbox holds through the
channels the settings enable (each started for sending only), reports finished
broadcasts to their authors, and stops cleanly on SIGTERM or SIGINT. Run it beside
`thidua serve` with THIDUA_DELIVERY_IN_SERVE=false. THIDUA_DELIVERY_LEASE_SECONDS
sets how long a claimed message waits before another worker may take it after a crash.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from contextlib import AsyncExitStack

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import keys
from bot.channels import build_channels
from bot.delivery import DeliveryWorker
from bot.dispatcher import Dispatcher
from bot.events import Channel
from bot.registry import Registry
from bot.scheduler import ReminderScheduler
from bot.settings import Settings
from bot.ward import WardConfig
from handlers import ROUTERS
from handlers.broadcast_status import run_reports
from storage import make_engine, make_sessionmaker
from storage.migrate import upgrade

logger = logging.getLogger(__name__)

COMMANDS: tuple[str, ...] = ("deliver",)
# A new process knows nothing of what the one before it sent in the last second;
# waiting that long keeps a restart from overrunning the platform's per-second limit.
RATE_WINDOW = 1.0


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `deliver` to the `thidua` parser."""
    commands.add_parser(
        "deliver",
        help="run only the delivery worker (no web server) until SIGTERM/SIGINT",
    )


async def run(args: argparse.Namespace, settings: Settings, ward: WardConfig) -> int:
    """Deliver until told to stop; returns the exit code."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
    except OSError as exc:
        print(f"thidua: cannot reach the database: {exc}", file=sys.stderr)
        await engine.dispose()
        return 1
    sessionmaker = make_sessionmaker(engine)
    try:
        async with AsyncExitStack() as started:
            try:
                channels = await _start_channels(settings, ward, sessionmaker, started)
            except Exception as exc:  # e.g. a rejected token: one line for the operator
                print(f"thidua: cannot start sending: {exc}", file=sys.stderr)
                return 1
            if not channels:
                print("thidua: no channel is enabled, nothing to deliver", file=sys.stderr)
                return 2
            worker = DeliveryWorker(sessionmaker, channels, lease=settings.delivery_lease_seconds)
            reminders = ReminderScheduler(sessionmaker, ward)
            await reminders.start()
            started.push_async_callback(reminders.shutdown)
            print(
                f"thidua-bot: delivering for {', '.join(sorted(channels))} "
                "(SIGTERM or Ctrl+C to stop)",
                flush=True,
            )
            await _pause(stop, RATE_WINDOW)
            await asyncio.gather(worker.run(stop), run_reports(sessionmaker, stop))
    finally:
        await engine.dispose()
    logger.info("delivery stopped")
    return 0


async def _start_channels(
    settings: Settings,
    ward: WardConfig,
    sessionmaker: async_sessionmaker[AsyncSession],
    started: AsyncExitStack,
) -> dict[str, Channel]:
    """The enabled channels, started for sending only (stopped when `started` closes)."""
    # Channels are built as `serve` builds them; the dispatcher is never used to receive.
    dispatcher = Dispatcher(sessionmaker, Registry(ROUTERS), ward)
    channels = build_channels(settings, dispatcher)
    # The app is never run: it only hands the channels the sessions they write with.
    app = web.Application()
    app[keys.SETTINGS] = settings
    app[keys.WARD] = ward
    app[keys.SESSIONMAKER] = sessionmaker
    for channel in channels.values():
        channel.setup(app)
        start = getattr(channel, "start_sending", None)
        if start is not None:
            await start()
            started.push_async_callback(channel.stop_sending)  # type: ignore[attr-defined]
    return channels


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
