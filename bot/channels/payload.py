"""Reading untrusted JSON from platforms (Zalo's ids and times come as strings or numbers)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def as_dict(value: object) -> dict[str, Any]:
    """The value if it is an object, else an empty one."""
    return value if isinstance(value, dict) else {}


def id_text(value: object) -> str:
    """An id as text ('' when it is missing or of another type)."""
    if isinstance(value, bool) or value is None:
        return ""
    return str(value).strip() if isinstance(value, str | int) else ""


def epoch_moment(value: object) -> datetime | None:
    """A Unix time in seconds or milliseconds (number or digits), or None."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    seconds = value / 1000 if value > 100_000_000_000 else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None
