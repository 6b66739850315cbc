"""XLSX in constant memory: a summary sheet first, then one sheet per table.

xlsxwriter's constant_memory mode flushes each row to a per-sheet temporary file as
soon as the next one starts, so a sheet of 100,000 rows costs no more memory than one
of ten. Rows must therefore be written in order, sheet by sheet; the summary is the
first tab but is written last, when the row counts are known. Headers are bold,
wrapped and frozen; dates are real dates shown dd/mm/yyyy; shares are numbers shown as
percentages; texts are always written as text (never as formulas).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from bot.exports.tables import Export, Kind, Line, Table, Words, write_batches
from bot.normalize import LOCAL_TZ

CellWriter = Callable[[Worksheet, int, int, Any], None]


class _Formats:
    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.header = book.add_format({"bold": True, "text_wrap": True, "valign": "top",
                                       "bg_color": "#E8EEF7", "bottom": 1})
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.label = book.add_format({"bold": True, "valign": "top"})
        self.text = book.add_format({"valign": "top"})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self.int = book.add_format({"num_format": "#,##0", "valign": "top"})
        self.date = book.add_format({"num_format": "dd/mm/yyyy", "align": "left",
                                     "valign": "top"})
        self.datetime = book.add_format({"num_format": "dd/mm/yyyy hh:mm", "align": "left",
                                         "valign": "top"})
        self.percent = book.add_format({"num_format": "0.0%", "valign": "top"})

    def writer(self, kind: Kind) -> CellWriter:
        """How one cell of this kind is written (blank for None)."""
        number_format = {"int": self.int, "percent": self.percent}.get(kind)
        if number_format is not None:
            def number(sheet: Worksheet, row: int, col: int, value: Any) -> None:
                if value is None:
                    sheet.write_blank(row, col, None)
                else:
                    sheet.write_number(row, col, value, number_format)
            return number
        if kind in ("date", "datetime"):
            moment_format = self.date if kind == "date" else self.datetime

            def moment(sheet: Worksheet, row: int, col: int, value: Any) -> None:
                if value is None:
                    sheet.write_blank(row, col, None)
                else:
                    sheet.write_datetime(row, col, naive_local(value), moment_format)
            return moment

        def text(sheet: Worksheet, row: int, col: int, value: Any) -> None:
            if value is None or value == "":
                sheet.write_blank(row, col, None)
            else:
                sheet.write_string(row, col, str(value), self.text)
        return text


def naive_local(value: date | datetime) -> date | datetime:
    """Excel has no time zones: an aware instant becomes Hải Phòng wall time."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(LOCAL_TZ).replace(tzinfo=None)
    return value


async def _write_table(sheet: Worksheet, table: Table, formats: _Formats) -> int:
    writers = [formats.writer(column.kind) for column in table.columns]
    for col, column in enumerate(table.columns):
        sheet.set_column(col, col, column.width)
    sheet.set_row(0, 75 if table.tall_header else 32)
    for col, column in enumerate(table.columns):
        sheet.write_string(0, col, column.title, formats.header)
    sheet.freeze_panes(1, 0)

    def write(batch: list[tuple[Any, ...]], first: int) -> None:
        for offset, values in enumerate(batch, start=first + 1):
            for col, (write_cell, value) in enumerate(zip(writers, values, strict=True)):
                write_cell(sheet, offset, col, value)

    count = await write_batches(table.rows, write)
    sheet.autofilter(0, 0, max(count, 1), len(table.columns) - 1)
    return count


def _write_summary(sheet: Worksheet, export: Export, counts: list[int],
                   formats: _Formats, words: Words) -> None:
    sheet.set_column(0, 0, 38)
    sheet.set_column(1, 1, 62)
    sheet.write_string(0, 0, export.title, formats.title)
    lines = [*export.summary, Line(words("summary.sheets"), "")]
    lines += [Line(table.sheet, words("summary.rows", count=f"{count:,}".replace(",", ".")))
              for table, count in zip(export.tables, counts, strict=True)]
    for row, line in enumerate(lines, start=2):
        sheet.write_string(row, 0, line.label, formats.label)
        if line.kind == "text":
            if line.value:
                sheet.write_string(row, 1, str(line.value), formats.wrap)
        else:
            formats.writer(line.kind)(sheet, row, 1, line.value)


async def write_xlsx(export: Export, path: Path, words: Words) -> int:
    """Write the workbook to `path`; returns the number of rows of the main table."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    try:
        formats = _Formats(book)
        summary = book.add_worksheet(words("sheet.summary"))
        counts = []
        for table in export.tables:
            counts.append(await _write_table(book.add_worksheet(table.sheet), table, formats))
        _write_summary(summary, export, counts, formats, words)
        summary.activate()
    finally:
        await asyncio.to_thread(book.close)
    return counts[0] if counts else 0
