"""The nomination queue: officers approve, reject (with a reason) and honour; leaders read
their groups' nominations only.

Every change goes through handlers.nomination_review (history, the nominator's notice
through the outbox) and into the audit log, exactly as a review in chat does.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keys
from bot.ward import WardConfig
from bot.web.dashboard import auth, render
from bot.web.dashboard.auth import Viewer
from bot.web.dashboard.overview import field_name
from handlers import nomination_review as service
from storage.models.nominations import (
    APPROVED,
    HONOURED,
    REJECTED,
    STATUSES,
    UNDER_REVIEW,
    Nomination,
)
from storage.repos import audit
from storage.repos import nominations as repo

PAGE = 20
REASON_LIMITS = (5, 500)
WAITING = "waiting"
ACTIONS = {"under_review": UNDER_REVIEW, "approve": APPROVED, "honour": HONOURED,
           "reject": REJECTED}
NOTICES = ("changed", "agreement_recorded")


def _int(raw: str | None, default: int = 0) -> int:
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else default


def _snapshot(ward: WardConfig, nomination: Nomination) -> dict[str, Any]:
    group = ward.group(nomination.group_code)
    return {
        "id": nomination.id,
        "code": nomination.code,
        "kind": nomination.kind,
        "name": nomination.nominee_name,
        "group": group.name if group else nomination.group_code,
        "group_code": nomination.group_code,
        "field": field_name(ward, nomination.field_code),
        "created": nomination.created_at,
        "description": nomination.description,
        "photo": nomination.photo_ref is not None,
        "agreed": nomination.nominee_agreed_at,
        "status": nomination.status,
        "reason": nomination.status_reason,
    }


@auth.staff()
async def queue(request: web.Request, viewer: Viewer, session: AsyncSession) -> web.Response:
    """GET /admin/nominations: filtered by status, group and field, 20 to a page."""
    ward = request.config_dict[keys.WARD]
    status = request.query.get("status", WAITING)
    if status not in (WAITING, "all", *STATUSES):
        status = WAITING
    group = request.query.get("group") or None
    if group is not None and ward.group(group) is None:
        group = None
    if group is not None and not viewer.may_see(group):
        return await auth.deny(request, session, viewer.actor, 403, "not_your_group",
                               viewer=viewer, group=group)
    field = request.query.get("field") or None
    if field is not None and all(f.code != field for f in ward.fields):
        field = None
    statuses = (repo.NOT_FINAL if status == WAITING else None if status == "all"
                else (status,))
    groups = [group] if group else viewer.scope()
    offset = _int(request.query.get("offset"))
    found, total = await repo.page(
        session, statuses=statuses, groups=groups, field_code=field,
        newest_first=status != WAITING, offset=offset, limit=PAGE,
    )
    shown_groups = [g for g in ward.groups if viewer.may_see(g.code)]
    return render.page(
        request, "nominations.html", viewer=viewer,
        items=[_snapshot(ward, n) for n in found], total=total, offset=offset, page_size=PAGE,
        chosen=status, group=group, field=field, statuses=STATUSES,
        groups=shown_groups, fields=ward.fields,
    )


async def _visible(
    request: web.Request, viewer: Viewer, session: AsyncSession, *, lock: bool = False
) -> Nomination | web.Response:
    """The nomination named in the address, or a 404 (also for another group's: audited)."""
    nomination_id = _int(request.match_info["id"], -1)
    nomination = await repo.get(session, nomination_id) if nomination_id > 0 else None
    if nomination is None:
        return render.message(request, 404, "nomination_unknown", viewer=viewer)
    if not viewer.may_see(nomination.group_code):
        # Another group's nomination is answered like a missing one: nothing leaks.
        return await auth.deny(request, session, viewer.actor, 404, "nomination_unknown",
                               viewer=viewer, nomination=nomination.id)
    return nomination


async def _item_page(
    request: web.Request,
    viewer: Viewer,
    session: AsyncSession,
    nomination: Nomination,
    *,
    status: int = 200,
    error: str | None = None,
    error_params: dict[str, Any] | None = None,
    reason: str = "",
) -> web.Response:
    ward = request.config_dict[keys.WARD]
    history = await repo.history(session, nomination.id)
    allowed = service.TRANSITIONS.get(nomination.status, frozenset())
    notice = request.query.get("done")
    return render.page(
        request, "nomination.html", viewer=viewer, status=status,
        item=_snapshot(ward, nomination), history=history,
        allowed=allowed, final=nomination.status not in repo.NOT_FINAL,
        notice=notice if notice in NOTICES else None,
        error=error, error_params=error_params or {}, reason=reason,
        reason_limits=REASON_LIMITS,
    )


@auth.staff()
async def item(request: web.Request, viewer: Viewer, session: AsyncSession) -> web.Response:
    """GET /admin/nominations/{id}: one nomination in full, with the actions allowed."""
    nomination = await _visible(request, viewer, session)
    if isinstance(nomination, web.Response):
        return nomination
    return await _item_page(request, viewer, session, nomination)


@auth.staff(officers_only=True)
async def act(request: web.Request, viewer: Viewer, session: AsyncSession) -> web.Response:
    """POST /admin/nominations/{id}: change the status, or record the nominee's agreement."""
    nomination = await _visible(request, viewer, session)
    if isinstance(nomination, web.Response):
        return nomination
    form = await request.post()
    action = str(form.get("action", ""))
    reason = str(form.get("reason", "")).strip()
    moment = auth.now(request)
    if action == "agree":
        if nomination.status not in repo.NOT_FINAL:
            return await _item_page(request, viewer, session, nomination, status=409,
                                    error="dashboard.final")
        await service.record_nominee_agreement(session, nomination.id, moment)
        await audit.record(session, actor=viewer.actor, action="nominee_agreement",
                           target=f"nomination:{nomination.id}", at=moment,
                           code=nomination.code, channel="dashboard")
        return render.redirect(f"/admin/nominations/{nomination.id}?done=agreement_recorded")
    status = ACTIONS.get(action)
    if status is None:
        return await _item_page(request, viewer, session, nomination, status=400,
                                error="dashboard.unknown_action")
    if status == REJECTED and not REASON_LIMITS[0] <= len(reason) <= REASON_LIMITS[1]:
        limits = {"minimum": REASON_LIMITS[0], "maximum": REASON_LIMITS[1],
                  "length": len(reason)}
        return await _item_page(request, viewer, session, nomination, status=400,
                                error="dashboard.reason_length", error_params=limits,
                                reason=reason)
    try:
        await service.change_status(
            session, nomination.id, status, reason=reason or None, now=moment,
            actor_resident_id=viewer.resident_id,
        )
    except service.ReviewError as problem:
        return await _item_page(request, viewer, session, nomination, status=409,
                                error=problem.key, error_params=problem.params, reason=reason)
    await audit.record(session, actor=viewer.actor, action="nomination_status",
                       target=f"nomination:{nomination.id}", at=moment,
                       code=nomination.code, status=status, channel="dashboard")
    return render.redirect(f"/admin/nominations/{nomination.id}?done=changed")
