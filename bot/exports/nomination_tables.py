"""Nominations sent during a year (officers only): the list with status and dates, counts
per field and status, and the honours of the year per field against the ward's ranges."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.exports.charts import Bar, Chart, Panel
from bot.exports.tables import (
    Column,
    Export,
    Line,
    Row,
    Scope,
    Table,
    Words,
    group_label,
    groups_line,
    local,
    rows_of,
)
from bot.normalize import number
from bot.ward import WardConfig
from storage.models.nominations import STATUSES
from storage.repos import exports as repo
from storage.repos import progress
from storage.repos.progress import Honours


def _list_table(session: AsyncSession, ward: WardConfig, scope: Scope, words: Words) -> Table:
    columns = (
        Column(words("col.code"), width=15), Column(words("col.kind"), width=10),
        Column(words("col.nominee"), width=28), Column(words("col.group"), width=16),
        Column(words("col.field"), width=22), Column(words("col.status"), width=22),
        Column(words("col.sent_on"), "date", 12), Column(words("col.changed_on"), "date", 13),
        Column(words("col.honoured_on"), "date", 13), Column(words("col.reason"), width=40),
    )
    fields = {f.code: f.name for f in ward.fields}
    kinds = {k: texts.t(f"review.kind_{k}", words.lang) for k in ("individual", "collective")}
    statuses = {s: texts.t(f"nominations.status.{s}", words.lang) for s in STATUSES}
    start, end = progress.year_bounds(scope.year)

    async def rows() -> AsyncIterator[list[Row]]:
        async for batch in repo.nominations_between(session, start, end, scope.group_filter):
            yield [
                (code, kinds.get(kind, kind), nominee, group_label(ward, group),
                 fields.get(field, field), statuses.get(status, status), local(created),
                 local(changed), local(honoured), reason)
                for code, kind, nominee, group, field, status, created, changed, honoured, reason
                in batch
            ]

    return Table(words("sheet.nominations"), columns, rows)


def _status_table(ward: WardConfig, counts: dict[tuple[str, str], int], words: Words) -> Table:
    columns = (Column(words("col.field"), width=24),
               *(Column(texts.t(f"nominations.status.{s}", words.lang).capitalize(), "int", 13)
                 for s in STATUSES),
               Column(words("col.total"), "int", 10))
    body: list[Row] = []
    for field in ward.fields:
        per_status = [counts.get((field.code, s), 0) for s in STATUSES]
        body.append((field.name, *per_status, sum(per_status)))
    totals = [sum(row[i] for row in body) for i in range(1, len(STATUSES) + 2)]
    body.append((words("total"), *totals))
    return Table(words("sheet.by_field"), columns, rows_of(body), tall_header=True)


def _honours_table(ward: WardConfig, honours: list[Honours], words: Words) -> Table:
    low_c, high_c = ward.targets.honoured_collectives_per_field
    low_i, high_i = ward.targets.honoured_individuals_per_field
    columns = (
        Column(words("col.field"), width=24), Column(words("col.collectives"), "int", 12),
        Column(words("col.collective_target"), width=14), Column(words("col.met"), width=10),
        Column(words("col.individuals"), "int", 12),
        Column(words("col.individual_target"), width=14), Column(words("col.met"), width=10),
    )
    names = {f.code: f.name for f in ward.fields}

    def met(count: int, low: int) -> str:
        return words("met_yes") if count >= low else words("met_no")

    body = [
        (names.get(h.field_code, h.field_code), h.collectives, f"{low_c}–{high_c}",
         met(h.collectives, low_c), h.individuals, f"{low_i}–{high_i}",
         met(h.individuals, low_i))
        for h in honours
    ]
    return Table(words("sheet.honours"), columns, rows_of(body), tall_header=True)


def _chart(ward: WardConfig, honours: list[Honours], year: int, words: Words) -> Chart:
    names = {f.code: f.name for f in ward.fields}
    targets = ward.targets
    panels = []
    for key, attribute, band in (
        ("collectives", "collectives", targets.honoured_collectives_per_field),
        ("individuals", "individuals", targets.honoured_individuals_per_field),
    ):
        bars = tuple(
            Bar(names.get(h.field_code, h.field_code), getattr(h, attribute),
                note=number(getattr(h, attribute)),
                tone="met" if getattr(h, attribute) >= band[0] else "short")
            for h in honours
        )
        panels.append(Panel(words(f"chart.honours_{key}", low=band[0], high=band[1]), bars,
                            band=(float(band[0]), float(band[1]))))
    legend = (("met", words("chart.honours_met")), ("short", words("chart.honours_short")))
    return Chart(words("chart.honours_title", year=year), tuple(panels), legend,
                 note=words("chart.honours_note"))


async def nomination_export(session: AsyncSession, scope: Scope, ward: WardConfig,
                            now: datetime, words: Words) -> Export:
    """Nominations of the year for this scope: tables, summary and chart."""
    start, end = progress.year_bounds(scope.year)
    counts = await repo.nomination_counts(session, start, end, scope.group_filter)
    fields = [f.code for f in ward.fields]
    honours = await progress.honoured_by_field(session, scope.year, fields, scope.group_filter)
    sent = sum(counts.values())
    honoured_c = sum(h.collectives for h in honours)
    honoured_i = sum(h.individuals for h in honours)
    summary = (
        Line(words("summary.ward"), ward.ward.name),
        Line(words("summary.what"), words("title.nominations")),
        Line(words("summary.year"), str(scope.year)),
        Line(words("summary.groups"), groups_line(ward, scope, words)),
        Line(words("summary.exported_at"), now, "datetime"),
        Line(words("summary.sent"), sent, "int"),
        *(Line(texts.t(f"nominations.status.{s}", words.lang).capitalize(),
               sum(n for (_, status), n in counts.items() if status == s), "int")
          for s in STATUSES),
        Line(words("summary.honoured_collectives"), honoured_c, "int"),
        Line(words("summary.honoured_individuals"), honoured_i, "int"),
    )
    tables = (_list_table(session, ward, scope, words), _status_table(ward, counts, words),
              _honours_table(ward, honours, words))
    headline = words("headline.nominations", sent=number(sent),
                     honoured=number(honoured_c + honoured_i))
    return Export(
        title=words("title.nominations_of", year=scope.year), stem=f"de-cu-{scope.year}",
        headline=headline, summary=summary, tables=tables,
        chart=_chart(ward, honours, scope.year, words), chart_rows=honoured_c + honoured_i,
    )
