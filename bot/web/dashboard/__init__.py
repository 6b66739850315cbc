"""The web dashboard at /admin for leaders and officers (see docs/architecture.md).

    /admin                     the ward (a leader: their groups) against its targets
    /admin/groups[/{code}]     groups ranked by households registered; one group
    /admin/nominations[/{id}]  the queue; officers approve, reject, honour
    /admin/surveys             survey results with the chart
    /admin/broadcasts          broadcasts with their delivery figures
    /admin/reminders           reminder rules; officers pause and resume them
    /admin/exports             CSV / XLSX / PNG downloads
    /admin/login/{token}       the one-time link from /web; POST /admin/logout signs out

`build_app` calls `setup_dashboard(app)` once.
"""

from __future__ import annotations

from aiohttp import web

from bot.web.dashboard import auth, exports, messaging, nominations, overview, render, signin
from bot.web.dashboard import surveys as survey_pages

STATIC = render.TEMPLATES.parent / "static"


def setup_dashboard(app: web.Application) -> None:
    """Add the dashboard's pages, its static files and its template environment (once)."""
    if render.ENVIRONMENT in app:
        return
    app[render.ENVIRONMENT] = render.environment()
    app[auth.SIGNER] = {}
    routes = app.router
    routes.add_get("/admin", overview.overview)
    routes.add_get("/admin/", overview.overview)
    routes.add_get("/admin/login/{token}", signin.login_page)
    routes.add_post("/admin/login/{token}", signin.login)
    routes.add_post("/admin/logout", signin.logout)
    routes.add_get("/admin/groups", overview.groups)
    routes.add_get("/admin/groups/{code}", overview.group)
    routes.add_get("/admin/nominations", nominations.queue)
    routes.add_get("/admin/nominations/{id}", nominations.item)
    routes.add_post("/admin/nominations/{id}", nominations.act)
    routes.add_get("/admin/surveys", survey_pages.results)
    routes.add_get("/admin/broadcasts", messaging.broadcast_list)
    routes.add_get("/admin/reminders", messaging.reminder_list)
    routes.add_post("/admin/reminders/{id}", messaging.reminder_change)
    routes.add_get("/admin/exports", exports.downloads)
    routes.add_get("/admin/exports/{kind:[a-z]+}.{fmt:[a-z]+}", exports.download)
    routes.add_get("/admin/charts/{kind:[a-z]+}.png", exports.chart)
    routes.add_static("/admin/static", STATIC, name=render.STATIC_ROUTE, append_version=True)


__all__ = ["setup_dashboard"]
