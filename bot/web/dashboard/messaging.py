"""Broadcasts with their delivery figures, and the reminder rules (officers pause/resume)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keys, texts
from bot.normalize import LOCAL_TZ
from bot.ward import WardConfig
from bot.web.dashboard import auth, render
from bot.web.dashboard.auth import Viewer
from handlers import reminder_rules as rules
from handlers import reminder_service
from handlers.broadcast_service import audience_label, where
from handlers.broadcast_status import figures
from storage.models.broadcasts import Broadcast
from storage.models.reminders import ACTIVE, DELETED, PAUSED
from storage.repos import broadcasts, reminders

EXCERPT = 140
SHOWN = 50


def _may_see(viewer: Viewer, broadcast: Broadcast) -> bool:
    """As in chat (/tinhtrang): a leader sees their own and those to their groups only."""
    if viewer.officer or broadcast.author_resident_id == viewer.resident_id:
        return True
    return bool(broadcast.groups) and set(broadcast.groups) <= viewer.groups


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1].rstrip() + "…"


@auth.staff()
async def broadcast_list(
    request: web.Request, viewer: Viewer, session: AsyncSession
) -> web.Response:
    """GET /admin/broadcasts: the latest broadcasts the viewer may see, with their figures."""
    ward = request.config_dict[keys.WARD]
    rows = []
    for broadcast in await broadcasts.recent(session, SHOWN):
        if not _may_see(viewer, broadcast):
            continue
        year = broadcast.created_at.astimezone(LOCAL_TZ).year
        rows.append({
            "id": broadcast.id,
            "at": broadcast.created_at,
            "where": where(ward, broadcast.groups, viewer.lang),
            "audience": audience_label(broadcast.audience, viewer.lang, year),
            "text": _excerpt(broadcast.text),
            "recipients": broadcast.recipients,
            "messages": broadcast.messages,
            "figures": figures(await broadcasts.counts(session, broadcast)),
        })
    return render.page(request, "broadcasts.html", viewer=viewer, rows=rows)


def _rule_audience(ward: WardConfig, audience: str, lang: str) -> str:
    if audience.startswith("campaign:"):
        code = audience.removeprefix("campaign:")
        name = next((c.name for c in ward.campaigns if c.code == code), code)
        return texts.t("reminders.audience_campaign_named", lang, campaign=name)
    return texts.t(f"reminders.audience_{audience}", lang)


def _rule_groups(ward: WardConfig, groups: list[str] | None, lang: str) -> str:
    if not groups:
        return texts.t("reminders.whole_ward", lang)
    if len(groups) > 3:
        return texts.t("reminders.some_groups", lang, count=len(groups))
    return ", ".join(g.name if (g := ward.group(code)) else code for code in groups)


@auth.staff(officers_only=True)
async def reminder_list(
    request: web.Request, viewer: Viewer, session: AsyncSession
) -> web.Response:
    """GET /admin/reminders: every rule with its schedule in words, audience and last send."""
    ward = request.config_dict[keys.WARD]
    moment = auth.now(request)
    fired = await reminders.last_fires(session)
    rows = []
    for rule in await reminders.live(session):
        upcoming = rules.next_fires(rule.cron, moment, count=1)
        rows.append({
            "id": rule.id,
            "name": rule.name,
            "status": rule.status,
            "schedule": rules.describe(rule.cron, viewer.lang),
            "audience": _rule_audience(ward, rule.audience, viewer.lang),
            "groups": _rule_groups(ward, rule.groups, viewer.lang),
            "next": rules.when(upcoming[0]) if upcoming and rule.status == ACTIVE else None,
            "last": fired.get(rule.id),
            "message": _excerpt(rule.message),
        })
    notice = request.query.get("done")
    return render.page(request, "reminders.html", viewer=viewer, rows=rows,
                       notice=notice if notice in ("paused", "resumed") else None,
                       when=rules.when)


@auth.staff(officers_only=True)
async def reminder_change(
    request: web.Request, viewer: Viewer, session: AsyncSession
) -> web.Response:
    """POST /admin/reminders/{id}: pause or resume a rule (audited by the reminder service)."""
    raw = request.match_info["id"]
    rule = await reminders.get(session, int(raw)) if raw.isdigit() and len(raw) < 10 else None
    if rule is None or rule.status == DELETED:
        return render.message(request, 404, "reminder_unknown", viewer=viewer)
    action = str((await request.post()).get("action", ""))
    status = {"pause": PAUSED, "resume": ACTIVE}.get(action)
    if status is None:
        return render.message(request, 400, "unknown_action", viewer=viewer)
    await reminder_service.set_status(session, rule, status, actor=viewer.actor,
                                      at=auth.now(request))
    done = "paused" if status == PAUSED else "resumed"
    return render.redirect(f"/admin/reminders?done={done}")
