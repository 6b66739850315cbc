"""Cutting long texts into messages a platform accepts, at natural boundaries.

Lengths are counted in UTF-16 code units (emoji count twice), as Telegram counts them
and never less than Zalo does.
"""

from __future__ import annotations

_SENTENCE_ENDS = (". ", "! ", "? ", "… ", ".\t", "!\t", "?\t")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def fitting(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` UTF-16 code units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` units, cut at a paragraph, line, sentence or word if possible."""
    pieces: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        window = rest[: max(fitting(rest, limit), 1)]
        cut = _boundary(window)
        piece, rest = window[:cut].rstrip(), rest[cut:].lstrip()
        if piece:
            pieces.append(piece)
    if rest.strip():
        pieces.append(rest)
    return pieces


def _boundary(window: str) -> int:
    """Where to cut a window: the last good boundary in its second half, else its end."""
    floor = len(window) // 2
    for separators in (("\n\n",), ("\n",), _SENTENCE_ENDS, (" ", "\t")):
        found = [window.rfind(sep) + len(sep) for sep in separators if sep in window]
        best = max(found, default=0)
        if best > floor:
            return best
    return len(window)
