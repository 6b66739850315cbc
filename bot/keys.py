"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.settings import Settings
from bot.ward import WardConfig

if TYPE_CHECKING:
    from bot.dispatcher import Dispatcher
    from bot.events import Channel

SETTINGS = web.AppKey("settings", Settings)
WARD = web.AppKey("ward", WardConfig)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONMAKER = web.AppKey("sessionmaker", async_sessionmaker[AsyncSession])
DISPATCHER: web.AppKey[Dispatcher] = web.AppKey("dispatcher")
CHANNELS: web.AppKey[dict[str, Channel]] = web.AppKey("channels")
