"""From a request to an audited attachment: check the role, gather, write, record.

This is the one place every way in (chat, command line, dashboard) goes through, so no
export and no refusal escapes the audit log.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import Attachment
from bot.exports.charts import chart_png
from bot.exports.csv_writer import write_csv
from bot.exports.errors import ExportError, ExportRefused
from bot.exports.household_tables import household_export
from bot.exports.nomination_tables import nomination_export
from bot.exports.request import FORMATS, KINDS, MIME, ExportRequest
from bot.exports.survey_tables import survey_export
from bot.exports.tables import Export, Scope, Words, ward_order
from bot.exports.xlsx_writer import write_xlsx
from bot.normalize import LOCAL_TZ, local_date
from bot.ward import WardConfig
from storage.models.surveys import Survey
from storage.repos import audit, progress, surveys
from storage.repos import exports as repo

logger = logging.getLogger(__name__)

STAFF = ("leader", "officer", "admin")
OFFICERS = ("officer", "admin")
MAKERS = {"surveys": survey_export, "registrations": household_export,
          "nominations": nomination_export}


def _groups(ward: WardConfig, wanted: tuple[str, ...]) -> tuple[str, ...]:
    """The ward's codes for typed groups ("5" is "05"); ExportError for one it lacks."""
    found = []
    for typed in wanted:
        code = next((g.code for g in ward.groups
                     if typed.strip() in (g.code, g.code.lstrip("0"))), None)
        if code is None:
            raise ExportError("exports.unknown_group", group=typed)
        found.append(code)
    return tuple(ward_order(ward, set(found)))


def check_access(request: ExportRequest, ward: WardConfig, role: str,
                 own_groups: frozenset[str]) -> tuple[tuple[str, ...], bool]:
    """The groups the export covers and whether that is the whole ward, or a refusal."""
    if request.kind not in KINDS or request.fmt not in FORMATS:
        raise ExportError("exports.bad_request", kind=request.kind, fmt=request.fmt)
    if role not in STAFF:
        raise ExportRefused("exports.refused")
    if role not in OFFICERS and request.kind != "surveys":
        raise ExportRefused("exports.officers_only")
    wanted = _groups(ward, request.groups) if request.groups else None
    if role in OFFICERS:
        return wanted or tuple(g.code for g in ward.groups), wanted is None
    if not own_groups:
        raise ExportRefused("exports.no_groups")
    if wanted is not None and not set(wanted) <= own_groups:
        raise ExportRefused("exports.not_your_group")
    return wanted or tuple(ward_order(ward, own_groups)), False


async def _survey(session: AsyncSession, request: ExportRequest, now: datetime) -> Survey:
    if request.survey_id is not None:
        survey = await surveys.get(session, request.survey_id)
    elif request.year is not None:
        survey = await repo.latest_survey_opened_between(
            session, *progress.year_bounds(request.year))
    else:
        survey = await surveys.open_survey(session, now) or await surveys.latest_survey(
            session, now)
    if survey is None:
        raise ExportError("exports.no_survey")
    return survey


async def _scope(session: AsyncSession, request: ExportRequest, ward: WardConfig, role: str,
                 own_groups: frozenset[str], now: datetime) -> Scope:
    groups, ward_wide = check_access(request, ward, role, own_groups)
    year = request.year or now.astimezone(LOCAL_TZ).year
    if not 2000 <= year <= 2100:
        raise ExportError("exports.bad_year", year=year)
    survey = await _survey(session, request, now) if request.kind == "surveys" else None
    return Scope(request.kind, request.fmt, year, groups, ward_wide,
                 officer=role in OFFICERS, survey=survey)


def _filename(export: Export, scope: Scope, now: datetime) -> str:
    part = "" if scope.ward_wide else "-to-" + "-".join(scope.groups[:4])
    return f"{export.stem}{part}-{now.astimezone(LOCAL_TZ):%Y%m%d-%H%M}.{scope.fmt}"


async def _write(export: Export, scope: Scope, words: Words) -> tuple[bytes | Path, int]:
    if scope.fmt == "png":
        return await asyncio.to_thread(chart_png, export.chart), export.chart_rows
    handle, name = tempfile.mkstemp(prefix="thidua-export-", suffix=f".{scope.fmt}")
    os.close(handle)
    path = Path(name)
    try:
        if scope.fmt == "csv":
            rows = await write_csv(export.tables[0], path)
        else:
            rows = await write_xlsx(export, path, words)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, rows


def _filters(request: ExportRequest) -> dict[str, object]:
    return {"year": request.year, "survey": request.survey_id,
            "groups": list(request.groups) if request.groups else None}


async def build(session: AsyncSession, request: ExportRequest, *, ward: WardConfig, role: str,
                now: datetime, actor: str, own_groups: frozenset[str],
                lang: str) -> Attachment:
    """See bot.exports.build_export."""
    try:
        scope = await _scope(session, request, ward, role, own_groups, now)
    except ExportRefused as refused:
        logger.warning("refused export %s/%s to %s (%s)", request.kind, request.fmt, actor, role)
        await audit.record(session, actor=actor, action="denied", at=now,
                           target=f"export:{request.kind}", role=role, format=request.fmt,
                           reason=refused.key, **_filters(request))
        raise
    words = Words(lang)
    export = await MAKERS[scope.kind](session, scope, ward, now, words)
    content, rows = await _write(export, scope, words)
    await audit.record(
        session, actor=actor, action="export", at=now, target=scope.kind, format=scope.fmt,
        rows=rows, role=role, year=scope.year,
        survey=scope.survey.id if scope.survey else None,
        groups=None if scope.ward_wide else list(scope.groups),
    )
    caption = words("caption", title=export.title, headline=export.headline,
                    date=local_date(now))
    return Attachment(_filename(export, scope, now), MIME[scope.fmt], content, caption)
