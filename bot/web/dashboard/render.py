"""Pages from Jinja2 templates (autoescaped), the catalogue's texts, and safe headers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from aiohttp import web

from bot import keys, texts
from bot.normalize import local_date, local_datetime, number, percent

if TYPE_CHECKING:
    from bot.web.dashboard.auth import Viewer

TEMPLATES = Path(__file__).parent.parent / "templates"
ENVIRONMENT = web.AppKey("dashboard_templates", jinja2.Environment)
STATIC_ROUTE = "dashboard_static"

# Pages need nothing from elsewhere: no scripts but our own file, no frames, and no
# Referer to other sites (a sign-in link never leaks). "no-referrer" would make browsers
# send "Origin: null" on our own forms, which the CSRF check refuses.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def environment() -> jinja2.Environment:
    """The template environment: HTML escaped everywhere, unknown names are errors."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        number=number,
        percent=percent,
        date=_date,
        datetime=_datetime,
    )
    return env


def _date(moment: datetime | None) -> str:
    return local_date(moment) if moment else "—"


def _datetime(moment: datetime | None) -> str:
    return local_datetime(moment) if moment else "—"


def secure_headers(response: web.StreamResponse) -> web.StreamResponse:
    """Add the dashboard's security headers to a response."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def page(
    request: web.Request,
    template: str,
    *,
    viewer: Viewer | None = None,
    status: int = 200,
    **context: Any,
) -> web.Response:
    """Render a template for the viewer (in their language) as an HTML response."""
    lang = viewer.lang if viewer else texts.DEFAULT_LANG

    def t(key: str, **params: Any) -> str:
        return texts.t(f"dashboard.{key}", lang, **params)

    def tr(key: str, **params: Any) -> str:
        return texts.t(key, lang, **params)

    def static(filename: str) -> str:
        return str(request.app.router[STATIC_ROUTE].url_for(filename=filename))

    env = request.config_dict[ENVIRONMENT]
    html = env.get_template(template).render(
        t=t,
        tr=tr,
        static=static,
        lang=lang,
        viewer=viewer,
        ward=request.config_dict[keys.WARD],
        path=request.path,
        **context,
    )
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    secure_headers(response)
    return response


def message(
    request: web.Request,
    status: int,
    key: str,
    *,
    viewer: Viewer | None = None,
    sign_in_hint: bool = False,
    **params: Any,
) -> web.Response:
    """A short page that says what happened (title and text from `dashboard.<key>`)."""
    return page(
        request,
        "message.html",
        viewer=viewer,
        status=status,
        key=key,
        params=params,
        sign_in_hint=sign_in_hint,
    )


def redirect(location: str) -> web.Response:
    """See other: after a form, the browser loads `location` with GET."""
    response = web.Response(status=303, headers={"Location": location})
    secure_headers(response)
    return response
