"""Reading what an export produced, as a person opening the file would."""

from __future__ import annotations

import csv
import io
import struct
from typing import Any

import openpyxl
from openpyxl.workbook import Workbook

from bot.events import Attachment
from bot.exports import ExportRequest, build_export, in_memory
from tests.exports.seed import NOW


async def export(sessionmaker, ward, kind: str, fmt: str, *, role: str = "officer",
                 own_groups: tuple[str, ...] = (), actor: str = "test",
                 **filters: Any) -> Attachment:
    """Build an export in its own committed transaction, with its content as bytes."""
    async with sessionmaker() as session, session.begin():
        made = await build_export(session, ExportRequest(kind, fmt, **filters), ward=ward,
                                  role=role, now=NOW, actor=actor, own_groups=own_groups)
    return in_memory(made)


def workbook(attachment: Attachment) -> Workbook:
    """The XLSX opened with openpyxl."""
    assert attachment.filename.endswith(".xlsx")
    return openpyxl.load_workbook(io.BytesIO(attachment.content))


def rows(book: Workbook, sheet: str) -> list[tuple[Any, ...]]:
    """Every row of a sheet as values."""
    return [tuple(row) for row in book[sheet].iter_rows(values_only=True)]


def every_text(book: Workbook) -> str:
    """All cell values of all sheets, as one text."""
    return "\n".join(
        str(value) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
        for value in row if value is not None
    )


def csv_rows(attachment: Attachment) -> list[list[str]]:
    """The CSV as Excel reads it: BOM first, UTF-8, CRLF lines."""
    data = attachment.content
    assert data.startswith(b"\xef\xbb\xbf"), data[:10]
    text = data[3:].decode("utf-8")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text, newline="")))


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])
