"""What can be asked for: the kinds, the formats, and a request with its filters."""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("surveys", "registrations", "nominations")
FORMATS = ("csv", "xlsx", "png")
MIME = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "png": "image/png",
}


@dataclass(frozen=True)
class ExportRequest:
    """What to export: the kind, the format and optional filters.

    `year` defaults to the current (Hải Phòng) year; `survey_id` to the open survey,
    else the latest (or the latest opened in `year` when a year is given); `groups`
    (codes, e.g. ("05",); "5" is accepted too) to every group the role may see.
    """

    kind: str
    fmt: str
    year: int | None = None
    survey_id: int | None = None
    groups: tuple[str, ...] | None = None
