"""CSV that Excel opens with Vietnamese intact: UTF-8 with a BOM, commas, CRLF.

Only the main table goes into a CSV. Rows are written batch by batch as they arrive
(in a worker thread, while the next batch is read), so memory stays flat however many
rows there are. Dates are dd/mm/yyyy, shares 85,5%; a text that Excel would take for a formula
(=, +, -, @ first) is prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.exports.tables import Kind, Row, Table, write_batches
from bot.normalize import LOCAL_TZ, percent

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: str) -> str:
    """Text that a spreadsheet will not run as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def cell(value: Any, kind: Kind) -> str:
    """One value as the CSV shows it."""
    if value is None:
        return ""
    if kind == "percent":
        return percent(value)
    if kind == "date" and isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if kind == "datetime" and isinstance(value, datetime):
        return value.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y")
    if kind == "int":
        return str(int(value))
    return safe_text(str(value))


async def write_csv(table: Table, path: Path) -> int:
    """Write the table with its header to `path`; returns the number of rows."""
    kinds = [column.kind for column in table.columns]
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow([column.title for column in table.columns])

        def write(batch: list[Row], first: int) -> None:
            writer.writerows([cell(v, k) for v, k in zip(row, kinds, strict=True)]
                             for row in batch)

        return await write_batches(table.rows, write)
