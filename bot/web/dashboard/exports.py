"""Export downloads and the charts on the pages, made by bot.exports (which audits them).

Officers download surveys, registrations and nominations as CSV, XLSX or PNG; a leader
only the survey figures of their own groups (bot.exports refuses the rest). A file is
streamed to the browser after the transaction that audited it has been committed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keys, texts
from bot.events import Attachment
from bot.exports import FORMATS, KINDS, ExportError, ExportRefused, ExportRequest, build_export
from bot.web.dashboard import auth, render
from bot.web.dashboard.auth import Viewer

logger = logging.getLogger(__name__)

LEADER_KINDS = ("surveys",)
CHARTS = ("surveys", "registrations", "nominations")


def kinds_for(viewer: Viewer) -> tuple[str, ...]:
    """What the viewer may download: officers everything, leaders survey figures."""
    return KINDS if viewer.officer else LEADER_KINDS


async def _build(
    request: web.Request, viewer: Viewer, session: AsyncSession, kind: str, fmt: str
) -> Attachment | web.Response:
    try:
        return await build_export(
            session, ExportRequest(kind, fmt), ward=request.config_dict[keys.WARD],
            role=viewer.role, now=auth.now(request), actor=viewer.actor,
            own_groups=viewer.groups, lang=viewer.lang,
        )
    except ExportRefused as refused:
        return render.page(request, "message.html", viewer=viewer, status=403,
                           key="export_refused", sign_in_hint=False,
                           params={"why": texts.t(refused.key, viewer.lang, **refused.params)})
    except ExportError as problem:
        return render.page(request, "message.html", viewer=viewer, status=404,
                           key="export_failed", sign_in_hint=False,
                           params={"why": texts.t(problem.key, viewer.lang, **problem.params)})


def _file_response(attachment: Attachment, disposition: str) -> web.Response:
    headers = {
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(attachment.filename)}",
        "Content-Type": attachment.mime,
    }
    content = attachment.content
    if isinstance(content, Path):
        handle = content.open("rb")
        # The open handle keeps the data readable while the file's name is already gone.
        content.unlink(missing_ok=True)
        response = web.Response(body=handle, headers=headers)
    else:
        response = web.Response(body=content, headers=headers)
    render.secure_headers(response)
    return response


@auth.staff()
async def downloads(request: web.Request, viewer: Viewer, session: AsyncSession) -> web.Response:
    """GET /admin/exports: what the viewer may download, in each format."""
    return render.page(request, "exports.html", viewer=viewer, kinds=kinds_for(viewer),
                       formats=FORMATS)


@auth.staff()
async def download(request: web.Request, viewer: Viewer, session: AsyncSession) -> web.Response:
    """GET /admin/exports/{kind}.{fmt}: the file, made now and audited."""
    kind, fmt = request.match_info["kind"], request.match_info["fmt"]
    if kind not in KINDS or fmt not in FORMATS:
        return render.message(request, 404, "export_unknown", viewer=viewer)
    if kind not in kinds_for(viewer):
        return await auth.deny(request, session, viewer.actor, 403, "officers_only",
                               viewer=viewer, export=kind)
    built = await _build(request, viewer, session, kind, fmt)
    if isinstance(built, web.Response):
        return built
    return _file_response(built, "attachment")


@auth.staff()
async def chart(request: web.Request, viewer: Viewer, session: AsyncSession) -> web.Response:
    """GET /admin/charts/{kind}.png: a chart for a page (survey charts for leaders too)."""
    kind = request.match_info["kind"]
    if kind not in CHARTS:
        return render.message(request, 404, "export_unknown", viewer=viewer)
    if kind not in kinds_for(viewer):
        return await auth.deny(request, session, viewer.actor, 403, "officers_only",
                               viewer=viewer, export=kind)
    built = await _build(request, viewer, session, kind, "png")
    if isinstance(built, web.Response):
        return built
    response = _file_response(built, "inline")
    response.headers["Cache-Control"] = "private, max-age=60"
    return response
