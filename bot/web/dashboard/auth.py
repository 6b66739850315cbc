"""Who is looking at a page: the signed session cookie, the session row, the role today.

A page handler is wrapped by `staff(...)`: it opens one transaction, finds the session
behind the cookie, ends it after 30 minutes without activity, checks the role against
role_grants again (a changed role ends the session), checks the form token and the
Origin of every POST, and refuses officers' pages to leaders; every refusal is audited.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import itsdangerous
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keys, texts
from bot.downloads import base_url
from bot.registry import LEADER, OFFICERS, RANK, RESIDENT, STAFF
from bot.ward import WardConfig
from bot.web.dashboard import csrf, render
from storage.models.dashboard import DashboardSession
from storage.repos import audit, dashboard, roles

logger = logging.getLogger(__name__)

IDLE = timedelta(minutes=30)
LONGEST = timedelta(hours=12)
COOKIE = "thidua_admin"
_SALT = "thidua-dashboard-session"
SIGNER = web.AppKey("dashboard_signer", dict)

Handler = Callable[[web.Request, "Viewer", AsyncSession], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Viewer:
    """The signed-in leader or officer, as checked on this request."""

    session_id: int
    resident_id: int
    role: str
    groups: frozenset[str]
    csrf: str
    lang: str

    @property
    def actor(self) -> str:
        """How the audit log names them (as in chat)."""
        return f"resident:{self.resident_id}"

    @property
    def officer(self) -> bool:
        """Officers (and admins) see the whole ward and may act."""
        return self.role in OFFICERS

    def may_see(self, group_code: str) -> bool:
        """Officers see every group; a leader only their own."""
        return self.officer or group_code in self.groups

    def scope(self) -> list[str] | None:
        """The groups to filter by: None (every group) for officers."""
        return None if self.officer else sorted(self.groups)

    def title(self, ward: WardConfig) -> str:
        """'Cán bộ phường' or 'Tổ trưởng Tổ dân phố 5, Tổ dân phố 7'."""
        name = texts.t(f"roles.name_{self.role}", self.lang)
        if self.officer:
            return name
        groups = ", ".join(g.name for g in ward.groups if g.code in self.groups)
        return f"{name} {groups}".strip()


def now(request: web.Request) -> datetime:
    """The app's clock (controllable in tests)."""
    return request.config_dict[keys.DISPATCHER].clock()


async def current_role(
    session: AsyncSession, resident_id: int, ward: WardConfig
) -> tuple[str, frozenset[str]]:
    """The resident's highest role today and, for a leader, their groups."""
    grants = await roles.grants_of(session, resident_id)
    if not grants:
        return RESIDENT, frozenset()
    role = max((g.role for g in grants), key=RANK.index)
    if role == LEADER:
        return role, frozenset(g.group_code for g in grants if g.group_code)
    return role, frozenset(g.code for g in ward.groups)


async def _serializer(
    request: web.Request, session: AsyncSession
) -> itsdangerous.URLSafeSerializer:
    holder = request.config_dict[SIGNER]
    if "serializer" not in holder:
        key = await dashboard.signing_key(
            session, "cookie", secrets.token_urlsafe(48), now(request)
        )
        holder["serializer"] = itsdangerous.URLSafeSerializer(key, salt=_SALT)
    return holder["serializer"]


async def start_session(
    request: web.Request,
    session: AsyncSession,
    response: web.StreamResponse,
    *,
    resident_id: int,
    role: str,
    groups: frozenset[str],
) -> DashboardSession:
    """Store a new session and set its signed cookie on `response`."""
    token = secrets.token_urlsafe(32)
    moment = now(request)
    found = await dashboard.create_session(
        session,
        token=token,
        resident_id=resident_id,
        role=role,
        groups=groups,
        csrf_token=secrets.token_urlsafe(32),
        now=moment,
        expires_at=moment + IDLE,
    )
    signed = (await _serializer(request, session)).dumps(token)
    secure = request.secure or base_url(request.config_dict[keys.SETTINGS]).startswith("https")
    response.set_cookie(
        COOKIE, signed, path="/admin", httponly=True, samesite="Lax", secure=secure
    )
    return found


def forget_cookie(response: web.StreamResponse) -> None:
    """Tell the browser to drop the session cookie."""
    response.del_cookie(COOKIE, path="/admin")


async def _session_of(request: web.Request, session: AsyncSession) -> DashboardSession | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        token = (await _serializer(request, session)).loads(raw)
    except itsdangerous.BadSignature:
        logger.warning("dashboard cookie with a bad signature from %s", request.remote)
        return None
    if not isinstance(token, str):
        return None
    return await dashboard.session_by_token(session, token)


async def deny(
    request: web.Request,
    session: AsyncSession,
    actor: str,
    status: int,
    key: str,
    *,
    viewer: Viewer | None = None,
    **details: Any,
) -> web.Response:
    """Audit a refused request and answer with a short page saying why."""
    logger.warning("dashboard refused %s %s to %s (%s)", request.method, request.path, actor, key)
    await audit.record(
        session, actor=actor, action="denied", target=request.path[:80], at=now(request),
        channel="dashboard", reason=key, **details,
    )
    return render.message(request, status, key, viewer=viewer)


async def _viewer(
    request: web.Request, session: AsyncSession
) -> tuple[Viewer, DashboardSession] | web.Response:
    """The checked viewer, or the page to answer instead (session ended if need be)."""
    found = await _session_of(request, session)
    moment = now(request)
    if found is None or found.ended_at is not None:
        return render.message(request, 401, "sign_in_needed", sign_in_hint=True)
    if moment >= found.expires_at or moment >= found.created_at + LONGEST:
        await dashboard.end_session(session, found, moment)
        answer = render.message(request, 401, "session_expired", sign_in_hint=True)
        forget_cookie(answer)
        return answer
    resident = await dashboard.resident(session, found.resident_id)
    if resident is None:
        await dashboard.end_session(session, found, moment)
        return render.message(request, 401, "sign_in_needed", sign_in_hint=True)
    role, groups = await current_role(session, found.resident_id, request.config_dict[keys.WARD])
    if role != found.role or role not in STAFF:
        await dashboard.end_session(session, found, moment)
        answer = await deny(request, session, f"resident:{found.resident_id}", 403,
                            "role_changed", was=found.role, role=role)
        forget_cookie(answer)
        return answer
    viewer = Viewer(found.id, found.resident_id, role, groups, found.csrf_token, resident.lang)
    return viewer, found


def staff(*, officers_only: bool = False) -> Callable[[Handler], Callable[..., Any]]:
    """Wrap a page handler: one transaction, the checked viewer, CSRF on every POST."""

    def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def page(request: web.Request) -> web.StreamResponse:
            sessionmaker = request.config_dict[keys.SESSIONMAKER]
            async with sessionmaker() as session, session.begin():
                checked = await _viewer(request, session)
                if isinstance(checked, web.Response):
                    return checked
                viewer, found = checked
                if request.method == "POST" and not await csrf.valid_form(request, viewer.csrf):
                    return await deny(request, session, viewer.actor, 403, "forbidden_form",
                                      viewer=viewer)
                if officers_only and not viewer.officer:
                    return await deny(request, session, viewer.actor, 403, "officers_only",
                                      viewer=viewer, role=viewer.role)
                moment = now(request)
                await dashboard.touch(session, found, moment, moment + IDLE)
                return await handler(request, viewer, session)

        page.__name__ = handler.__name__
        page.__doc__ = handler.__doc__
        return page

    return wrap
