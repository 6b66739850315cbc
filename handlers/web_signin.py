"""/web (alias /dashboard): a leader or an officer gets a link that signs them in to the
web dashboard once, within 10 minutes. Residents are refused (and audited) by the registry.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from bot.context import Context
from bot.downloads import base_url
from bot.events import Reply
from bot.normalize import local_datetime
from bot.registry import STAFF, Router
from bot.settings import load_settings
from storage.repos import audit, dashboard

router = Router()

LINK_TTL = timedelta(minutes=10)


def sign_in_url(ctx: Context, token: str) -> str:
    """Where the link points: this server's public address."""
    return f"{base_url(ctx.settings or load_settings())}/admin/login/{token}"


@router.command("web", "dashboard", roles=STAFF, menu="dashboard.menu", order=47,
                phrases=("trang quản trị", "đăng nhập web", "quản trị web"))
async def web_link(ctx: Context) -> list[Reply]:
    """A one-time sign-in link to the dashboard, valid for 10 minutes."""
    assert ctx.resident is not None
    token = secrets.token_urlsafe(32)
    now = ctx.now()
    await dashboard.create_link(
        ctx.session, token=token, resident_id=ctx.resident.id, role=ctx.role, now=now,
        expires_at=now + LINK_TTL,
    )
    await audit.record(ctx.session, actor=ctx.actor, action="dashboard_link", target="/admin",
                       at=now, role=ctx.role, channel=ctx.incoming.channel)
    text = ctx.t("dashboard.link", url=sign_in_url(ctx, token),
                 minutes=int(LINK_TTL.total_seconds() // 60),
                 until=local_datetime(now + LINK_TTL))
    return [Reply(text=text)]
