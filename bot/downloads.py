"""Short-lived download links: for channels that cannot send files (Zalo) and for charts
that a platform fetches by URL. The files live in the database, so any worker serves them."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keys, texts
from bot.events import Attachment
from bot.settings import Settings
from storage.repos import downloads

ROUTE = "/dl/{token}/{filename}"


async def publish(
    session: AsyncSession,
    attachment: Attachment,
    *,
    settings: Settings,
    actor: str,
    now: datetime,
    ttl: timedelta | None = None,
) -> str:
    """Store the attachment and return its absolute link (valid for `ttl`)."""
    content = attachment.content
    data = content if isinstance(content, bytes) else Path(content).read_bytes()
    token = secrets.token_urlsafe(24)
    lifetime = ttl or timedelta(seconds=settings.download_ttl_seconds)
    await downloads.store(
        session,
        token=token,
        filename=attachment.filename,
        mime=attachment.mime,
        content=data,
        created_by=actor,
        now=now,
        expires_at=now + lifetime,
    )
    return f"{base_url(settings)}/dl/{token}/{quote(attachment.filename)}"


def base_url(settings: Settings) -> str:
    """Where residents' phones reach this server."""
    return settings.public_url or f"http://{settings.host}:{settings.port}"


async def serve(request: web.Request) -> web.Response:
    """GET /dl/{token}/{filename}: the file, or 410 once the link has expired."""
    now = request.app[keys.DISPATCHER].clock()
    async with request.app[keys.SESSIONMAKER]() as session:
        found = await downloads.fetch(session, request.match_info["token"], now)
    if found is None:
        return web.Response(
            status=410,
            content_type="text/plain",
            charset="utf-8",
            text=texts.t("downloads.expired"),
        )
    disposition = "inline" if found.mime.startswith("image/") else "attachment"
    return web.Response(
        body=found.content,
        headers={
            "Content-Type": found.mime,
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(found.filename)}",
            "Cache-Control": "private, no-store",
        },
    )
