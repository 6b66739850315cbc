"""The application factory: one aiohttp server wiring storage, the core and the channels."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from bot import downloads, keys
from bot.channels import build_channels
from bot.delivery import DeliveryWorker
from bot.dispatcher import Dispatcher, flood_control
from bot.registry import Registry
from bot.scheduler import ReminderScheduler
from bot.settings import Settings
from bot.ward import WardConfig, load_ward_config
from bot.web.dashboard import setup_dashboard
from handlers import ROUTERS
from handlers.broadcast_status import run_reports
from storage import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.repos import surveys

logger = logging.getLogger(__name__)


def build_app(
    settings: Settings,
    *,
    ward: WardConfig | None = None,
    clock: Callable[[], datetime] | None = None,
    migrate: bool = True,
    deliver: bool = True,
) -> web.Application:
    """Everything `thidua serve` runs, as one aiohttp application."""
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[keys.SETTINGS] = settings
    app[keys.WARD] = ward or load_ward_config(settings.ward_config)
    engine = make_engine(settings.database_url)
    app[keys.ENGINE] = engine
    app[keys.SESSIONMAKER] = make_sessionmaker(engine)
    app[keys.DISPATCHER] = Dispatcher(
        app[keys.SESSIONMAKER], Registry(ROUTERS), app[keys.WARD], clock=clock, settings=settings,
        flood=flood_control(settings),
    )
    app.cleanup_ctx.append(_database(migrate))
    app[keys.CHANNELS] = build_channels(settings, app[keys.DISPATCHER])
    for channel in app[keys.CHANNELS].values():
        channel.setup(app)
    if deliver and settings.delivery_in_serve:
        app.cleanup_ctx.append(_delivery)
    if deliver:
        app.cleanup_ctx.append(_reminders)
    app.router.add_get(downloads.ROUTE, downloads.serve)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    setup_dashboard(app)
    return app


def _database(migrate: bool) -> Callable[[web.Application], AsyncIterator[None]]:
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        engine = app[keys.ENGINE]
        if migrate:
            await upgrade(engine)
        ward = app[keys.WARD]
        if ward.survey is not None:
            now = app[keys.DISPATCHER].clock()
            async with app[keys.SESSIONMAKER]() as session, session.begin():
                await surveys.ensure_ward_survey(session, ward.survey, now)
        yield
        await engine.dispose()

    return lifecycle


async def _delivery(app: web.Application) -> AsyncIterator[None]:
    """Run the delivery worker and the broadcast reports beside the server."""
    lease = app[keys.SETTINGS].delivery_lease_seconds
    worker = DeliveryWorker(app[keys.SESSIONMAKER], app[keys.CHANNELS], lease=lease)
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(worker.run(stop), name="delivery-worker"),
        asyncio.create_task(run_reports(app[keys.SESSIONMAKER], stop), name="broadcast-reports"),
    ]
    yield
    stop.set()
    await asyncio.gather(*tasks)


async def _reminders(app: web.Application) -> AsyncIterator[None]:
    """Fire the reminder rules (after adding the ward file's defaults); safe in every process:
    each (rule, fire time) is claimed once in the database."""
    scheduler = ReminderScheduler(app[keys.SESSIONMAKER], app[keys.WARD])
    await scheduler.start()
    yield
    await scheduler.shutdown()


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers, 503 otherwise."""
    try:
        async with request.app[keys.ENGINE].connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        logger.warning("health check failed: %s", exc)
        return web.json_response({"status": "unavailable", "database": "down"}, status=503)
    channels = sorted(request.app[keys.CHANNELS])
    return web.json_response({"status": "ok", "database": "ok", "channels": channels})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format."""
    body = generate_latest()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
