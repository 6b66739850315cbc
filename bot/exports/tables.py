"""The shape of an export before it has a format: a summary, tables of typed columns, a chart.

A table's rows are produced lazily, in batches, when a writer asks for them: the CSV
writer reads only the first (main) table, the XLSX writer every table in order, and a
chart needs none. Cells are plain values (str, int, float share, date, datetime, None);
the column says how a writer shows them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from bot import texts
from bot.exports.charts import Chart
from bot.normalize import LOCAL_TZ
from bot.ward import WardConfig
from storage.models.surveys import Survey

Kind = Literal["text", "int", "date", "datetime", "percent"]
Row = tuple[Any, ...]
RowSource = Callable[[], AsyncIterator[list[Row]]]


@dataclass(frozen=True)
class Column:
    """A column's title, the kind of its cells, and its width in characters."""

    title: str
    kind: Kind = "text"
    width: float = 14


@dataclass(frozen=True)
class Table:
    """One sheet of an XLSX (the first table is also the CSV)."""

    sheet: str
    columns: tuple[Column, ...]
    rows: RowSource
    tall_header: bool = False


@dataclass(frozen=True)
class Line:
    """One line of the summary sheet: a label and a value of some kind."""

    label: str
    value: Any
    kind: Kind = "text"


@dataclass(frozen=True)
class Export:
    """Everything one export can show; writers pick what their format holds."""

    title: str
    stem: str
    headline: str
    summary: tuple[Line, ...]
    tables: tuple[Table, ...]
    chart: Chart
    chart_rows: int


@dataclass(frozen=True)
class Scope:
    """A request checked against the asker's role: what exactly to export."""

    kind: str
    fmt: str
    year: int
    groups: tuple[str, ...]
    ward_wide: bool
    officer: bool
    survey: Survey | None = None

    @property
    def group_filter(self) -> tuple[str, ...] | None:
        """The groups to narrow queries to, or None for the whole ward."""
        return None if self.ward_wide else self.groups


def rows_of(rows: Iterable[Row]) -> RowSource:
    """A row source for rows already in memory (figures, not records)."""
    materialized = list(rows)

    async def source() -> AsyncIterator[list[Row]]:
        yield materialized

    return source


async def write_batches(rows: RowSource, write: Callable[[list[Row], int], None]) -> int:
    """Write batches in a worker thread while the next is read; returns the rows written.

    `write(batch, first)` gets the index of the batch's first row; batches are written
    one at a time, in order.
    """
    pending: asyncio.Future[None] | None = None
    count = 0
    try:
        async for batch in rows():
            if pending is not None:
                await pending
            pending = asyncio.ensure_future(asyncio.to_thread(write, batch, count))
            count += len(batch)
    finally:
        if pending is not None:
            await pending
    return count


def local(moment: datetime | None) -> date | None:
    """The Hải Phòng calendar date of a UTC instant."""
    return moment.astimezone(LOCAL_TZ).date() if moment is not None else None


class Words:
    """Catalogue texts of the exports in one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, key: str, **params: Any) -> str:
        """The text `exports.<key>`."""
        return texts.t(f"exports.{key}", self.lang, **params)


def group_label(ward: WardConfig, code: str) -> str:
    """A group's name from the ward file, or its code for a group the file no longer has."""
    group = ward.group(code)
    return group.name if group else code


def groups_line(ward: WardConfig, scope: Scope, words: Words) -> str:
    """The groups filter as the summary says it."""
    if scope.ward_wide:
        return words("all_groups")
    return ", ".join(group_label(ward, code) for code in scope.groups)


def ward_order(ward: WardConfig, codes: Collection[str]) -> list[str]:
    """Codes in the ward file's order, codes it does not know after them."""
    known = [g.code for g in ward.groups if g.code in codes]
    return known + sorted(set(codes) - set(known))
