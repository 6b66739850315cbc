"""GET /zalo-oa/callback: where Zalo sends the officer's browser after the permission page.

The answer is a small Vietnamese page for the officer, never a stack trace: connected,
this link is no longer usable (unknown, expired or used state: nothing is stored), access
not granted, or Zalo unreachable (reload later; the request stays pending).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import keys, texts
from bot.channels.zalo_oa import connect
from bot.settings import Settings

logger = logging.getLogger(__name__)

ROUTE = "/zalo-oa/callback"
ACTOR = "zalo_oa_callback"
PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;
line-height:1.5}}</style></head>
<body><h1>{title}</h1><p>{message}</p></body></html>
"""


def add_callback_route(
    app: web.Application,
    sessionmaker: async_sessionmaker[AsyncSession] | None,
    settings: Settings,
    clock: Callable[[], datetime] | None = None,
) -> None:
    """Register the callback; without a sessionmaker the app's own is used per request."""

    async def callback(request: web.Request) -> web.Response:
        maker = sessionmaker if sessionmaker is not None else request.app[keys.SESSIONMAKER]
        try:
            return await _handle(request, maker, settings, clock)
        except Exception:
            logger.exception("Zalo OA callback failed")
            return page("oauth.went_wrong", 500)

    app.router.add_get(ROUTE, callback)


async def _handle(
    request: web.Request,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Callable[[], datetime] | None,
) -> web.Response:
    query = request.query
    state = query.get("state", "")
    code = query.get("code", "")
    if not state:
        return page("oauth.link_unusable", 400)
    if not code:
        error = query.get("error") or query.get("error_reason") or "no code in the redirect"
        if not await connect.decline(sessionmaker, state=state, error=error[:200], clock=clock):
            return page("oauth.link_unusable", 400)
        logger.warning("Zalo OA connection not granted: %s", error[:200])
        return page("oauth.not_approved", 400)
    try:
        done = await connect.finish(
            sessionmaker,
            settings,
            state=state,
            code=code,
            oa_id=query.get("oa_id") or None,
            actor=ACTOR,
            via="callback",
            clock=clock,
        )
    except connect.ConnectError as problem:
        logger.warning("Zalo OA callback: %s", problem.key)
        return page(problem.key, problem.status, **problem.params)
    logger.info("Zalo OA %s connected through the callback", done.oa_id)
    return page("oauth.connected", 200, oa_id=done.oa_id)


def page(key: str, status: int, **params: str) -> web.Response:
    """The officer's answer page in Vietnamese."""
    body = PAGE.format(
        title=html.escape(texts.t("oauth.page_title")),
        message=html.escape(texts.t(key, **params)),
    )
    return web.Response(text=body, status=status, content_type="text/html")
