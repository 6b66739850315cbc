"""How a nomination reads in the review queue and in a leader's list: short, or in full.

A nomination is kept in a flow's data as a snapshot (plain JSON values), because a
step's question is written without touching the database.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.context import Context
from bot.normalize import local_date, number
from handlers.progress_scope import group_name
from storage.models.nominations import Nomination, NominationEvent

PAGE = 5
SHORT_DESCRIPTION = 80
_CODE = re.compile(r"^\s*nd[\s-]*(\d{4})[\s-]*(\d{1,9})\s*$", re.IGNORECASE)


def typed_code(text: str) -> str | None:
    """'nd-2026-42', 'ND 2026 0042' -> 'ND-2026-0042'; None when it is not a code."""
    found = _CODE.match(text)
    if found is None:
        return None
    return f"ND-{found.group(1)}-{int(found.group(2)):04d}"


def snapshot(nomination: Nomination, events: list[NominationEvent]) -> dict[str, Any]:
    """What the review shows of a nomination, as JSON values."""
    return {
        "id": nomination.id,
        "code": nomination.code,
        "kind": nomination.kind,
        "name": nomination.nominee_name,
        "group": nomination.group_code,
        "field": nomination.field_code,
        "created": nomination.created_at.isoformat(),
        "description": nomination.description,
        "photo": nomination.photo_ref is not None,
        "agreed": nomination.nominee_agreed_at.isoformat()
        if nomination.nominee_agreed_at else None,
        "status": nomination.status,
        "history": [[e.status, e.at.isoformat(), e.reason] for e in events],
    }


def _date(iso: str) -> str:
    return local_date(datetime.fromisoformat(iso))


def field_name(ctx: Context, code: str) -> str:
    """A field's name from the ward file."""
    return next((f.name for f in ctx.ward.fields if f.code == code), code)


def status_name(ctx: Context, status: str) -> str:
    """A status as people read it, e.g. "đã duyệt"."""
    return ctx.t(f"nominations.status.{status}")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def _marks(ctx: Context, item: dict[str, Any]) -> str:
    photo = ctx.t("review.photo_yes" if item["photo"] else "review.photo_no")
    if item["agreed"]:
        agreed = ctx.t("review.agreed_yes", date=_date(item["agreed"]))
    else:
        agreed = ctx.t("review.agreed_no")
    return f"{photo} · {agreed}"


def short(ctx: Context, place: int, item: dict[str, Any]) -> str:
    """A nomination as one entry of a list."""
    steps, day = [], None
    for status, at, _ in item["history"]:
        # The date is written once for steps taken the same day.
        shown = status_name(ctx, status) if _date(at) == day else (
            f"{_date(at)} {status_name(ctx, status)}")
        steps.append(shown)
        day = _date(at)
    history = " → ".join(steps)
    return ctx.t(
        "review.item_short",
        place=place,
        code=item["code"],
        kind=ctx.t(f"review.kind_{item['kind']}"),
        status=status_name(ctx, item["status"]),
        name=item["name"],
        group=group_name(ctx, item["group"]),
        field=field_name(ctx, item["field"]),
        date=_date(item["created"]),
        description=_shorten(item["description"], SHORT_DESCRIPTION),
        marks=_marks(ctx, item),
        history=history,
    )


def full(ctx: Context, item: dict[str, Any]) -> str:
    """A nomination opened: everything, with one line per step of its history."""
    lines = []
    for status, at, reason in item["history"]:
        line = ctx.t("review.history_line", date=_date(at), status=status_name(ctx, status))
        if reason:
            line += ctx.t("review.history_reason", reason=reason)
        lines.append(line)
    return ctx.t(
        "review.item_full",
        code=item["code"],
        kind=ctx.t(f"review.kind_{item['kind']}"),
        name=item["name"],
        group=group_name(ctx, item["group"]),
        field=field_name(ctx, item["field"]),
        date=_date(item["created"]),
        description=item["description"],
        marks=_marks(ctx, item),
        status=status_name(ctx, item["status"]),
        history="\n".join(lines),
    )


def listing(ctx: Context, items: list[dict[str, Any]], offset: int, total: int) -> str:
    """Entries numbered from offset + 1, and which of the total they are."""
    entries = [short(ctx, offset + n, item) for n, item in enumerate(items, start=1)]
    shown = ctx.t("review.shown", first=number(offset + 1), last=number(offset + len(items)),
                  total=number(total))
    return "\n\n".join([*entries, shown])
