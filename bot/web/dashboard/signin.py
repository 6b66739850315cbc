"""Signing in with the one-time link the bot sends (/web), and signing out.

GET /admin/login/{token} only shows a page that posts the link back (at once, with a
tiny script; a button otherwise): a messenger's link preview fetches the address
without running scripts, so it cannot use up the link before the officer taps it.
POST /admin/login/{token} claims the link once, checks the role again, opens a
session and sends the browser to /admin. Both sign-in and sign-out are audited.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keys
from bot.registry import STAFF
from bot.web.dashboard import auth, csrf, render
from bot.web.dashboard.auth import Viewer
from storage.models.dashboard import DashboardLink
from storage.repos import audit, dashboard


def _problem(link: DashboardLink | None, request: web.Request) -> tuple[int, str] | None:
    """Why a link cannot sign in (status, text key), or None when it can."""
    if link is None:
        return 404, "link_unknown"
    if link.used_at is not None:
        return 410, "link_used"
    if auth.now(request) >= link.expires_at:
        return 410, "link_expired"
    return None


async def login_page(request: web.Request) -> web.Response:
    """The page a sign-in link opens: it posts the link back, or says why it cannot."""
    token = request.match_info["token"]
    async with request.config_dict[keys.SESSIONMAKER]() as session:
        problem = _problem(await dashboard.peek_link(session, token), request)
    if problem is not None:
        return render.message(request, problem[0], problem[1], sign_in_hint=True)
    return render.page(request, "signin.html", action=request.path)


async def login(request: web.Request) -> web.StreamResponse:
    """Claim the link once and open a session for a leader or an officer."""
    if not csrf.same_site(request):
        return render.message(request, 403, "forbidden_form")
    token = request.match_info["token"]
    async with request.config_dict[keys.SESSIONMAKER]() as session, session.begin():
        link = await dashboard.link_for_claim(session, token)
        problem = _problem(link, request)
        if problem is not None or link is None:
            status, key = problem or (404, "link_unknown")
            return render.message(request, status, key, sign_in_hint=True)
        moment = auth.now(request)
        await dashboard.mark_used(session, link, moment)
        role, groups = await auth.current_role(
            session, link.resident_id, request.config_dict[keys.WARD]
        )
        actor = f"resident:{link.resident_id}"
        if role not in STAFF:
            return await auth.deny(request, session, actor, 403, "not_staff", role=role)
        await dashboard.purge_expired(session, moment)
        response = render.redirect("/admin")
        await auth.start_session(
            request, session, response, resident_id=link.resident_id, role=role, groups=groups
        )
        await audit.record(session, actor=actor, action="dashboard_signin", target="/admin",
                           at=moment, role=role, groups=sorted(groups) if role == "leader"
                           else None)
        return response


@auth.staff()
async def logout(request: web.Request, viewer: Viewer, session: AsyncSession) -> web.Response:
    """End the session, forget the cookie, and say so."""
    moment = auth.now(request)
    found = await dashboard.session_by_id(session, viewer.session_id)
    if found is not None:
        await dashboard.end_session(session, found, moment)
    await audit.record(session, actor=viewer.actor, action="dashboard_signout",
                       target="/admin", at=moment, role=viewer.role)
    response = render.message(request, 200, "signed_out", sign_in_hint=True)
    auth.forget_cookie(response)
    return response
