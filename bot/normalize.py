"""Folding of free text so "dang ky", "Đăng ký" and "ĐĂNG KÝ" match."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_SPACES = re.compile(r"\s+")
_EDGE_PUNCT = " .,;:!?\"'()[]{}…-–—/\\"


def fold(text: str) -> str:
    """Lower-case, strip Vietnamese diacritics (đ → d), collapse spaces and edge punctuation."""
    lowered = text.replace("đ", "d").replace("Đ", "d").lower()
    decomposed = unicodedata.normalize("NFD", lowered)
    bare = "".join(
        ch
        for ch in decomposed
        if unicodedata.category(ch) not in ("Mn", "So", "Sk", "Cf")
    )
    return _SPACES.sub(" ", bare).strip(_EDGE_PUNCT)


def local_date(moment: datetime) -> str:
    """dd/mm/yyyy in Asia/Ho_Chi_Minh."""
    return moment.astimezone(LOCAL_TZ).strftime("%d/%m/%Y")


def local_datetime(moment: datetime) -> str:
    """HH:MM dd/mm/yyyy in Asia/Ho_Chi_Minh."""
    return moment.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y")


def number(value: float, decimals: int = 0) -> str:
    """Vietnamese number format: 1.234 and 85,5."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def percent(share: float, decimals: int = 1) -> str:
    """A share as a Vietnamese percentage: 0.855 -> 85,5%."""
    return f"{number(share * 100, decimals)}%"


def split_command(text: str) -> tuple[str, tuple[str, ...]] | None:
    """'/dangky@ThiDuaBot a b' -> ('dangky', ('a', 'b')); None if not a command."""
    stripped = text.strip()
    if not stripped.startswith("/") or len(stripped) < 2 or stripped[1].isspace():
        return None
    head, *args = stripped[1:].split()
    name = head.split("@", 1)[0].lower()
    if not name or not all(ch.isalnum() or ch == "_" for ch in name):
        return None
    return name, tuple(args)
