"""Exports of survey results, household registrations and nominations: CSV, XLSX, PNG.

The one way in for the chat (/xuat), the command line (`thidua export`) and the
dashboard is `build_export`:

    attachment = await build_export(
        session, ExportRequest("surveys", "xlsx", survey_id=3, groups=("05",)),
        ward=ward, role="officer", now=now, actor="resident:12", own_groups=frozenset(),
    )

Who may have what (refusals raise ExportRefused and are audited as "denied"):
- officers and admins: everything, optionally narrowed to some groups;
- leaders: survey figures of their own groups only (per-question counts and
  satisfaction; never the per-response rows, nor registrations or nominations);
- residents and guests: nothing.

Every export, and every refusal, is written to the audit log in `session`: the caller
commits it. CSV and XLSX are streamed to a temporary file and returned as a Path: the
caller deletes it once sent (`discard`), or calls `in_memory` to get bytes. PNG charts
are small and returned as bytes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import Attachment
from bot.exports.build import build
from bot.exports.charts import Chart, chart_png
from bot.exports.errors import ExportError, ExportRefused
from bot.exports.request import FORMATS, KINDS, MIME, ExportRequest
from bot.ward import WardConfig


async def build_export(
    session: AsyncSession,
    request: ExportRequest,
    *,
    ward: WardConfig,
    role: str,
    now: datetime,
    actor: str,
    own_groups: Collection[str] = (),
    lang: str = "vi",
) -> Attachment:
    """The export as an attachment, audited; raises ExportRefused or ExportError.

    `actor` names the asker in the audit log ("resident:12", "cli", ...); `own_groups`
    are a leader's groups. The attachment's caption says what it holds in one line.
    """
    return await build(session, request, ward=ward, role=role, now=now, actor=actor,
                       own_groups=frozenset(own_groups), lang=lang)


def discard(attachment: Attachment) -> None:
    """Delete the temporary file behind an attachment (nothing to do for bytes)."""
    if isinstance(attachment.content, Path):
        attachment.content.unlink(missing_ok=True)


def in_memory(attachment: Attachment) -> Attachment:
    """The same attachment with its content as bytes; the temporary file is deleted."""
    if isinstance(attachment.content, bytes):
        return attachment
    data = attachment.content.read_bytes()
    discard(attachment)
    return replace(attachment, content=data)


__all__ = [
    "FORMATS",
    "KINDS",
    "MIME",
    "Chart",
    "ExportError",
    "ExportRefused",
    "ExportRequest",
    "build_export",
    "chart_png",
    "discard",
    "in_memory",
]
