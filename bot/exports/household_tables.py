"""Household registrations for a year: per group against the target, per campaign, and the
list of households (head, address, phone: officers only, as is this whole export)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

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
from bot.normalize import number, percent
from bot.phones import display_phone
from bot.ward import WardConfig
from storage.repos import exports as repo
from storage.repos import progress
from storage.repos.progress import Registration


def _group_table(rows: list[tuple[str, Registration]], target: float, words: Words) -> Table:
    columns = (
        Column(words("col.group"), width=22), Column(words("col.households"), "int", 13),
        Column(words("col.registered"), "int", 13), Column(words("col.share"), "percent", 11),
        Column(words("col.target"), "percent", 10), Column(words("col.met"), width=12),
        Column(words("col.missing"), "int", 12),
    )
    body = [
        (label, row.households, row.registered, row.share if row.households else None, target,
         words("met_yes") if row.met(target) else words("met_no"), row.missing(target))
        for label, row in rows
    ]
    return Table(words("sheet.by_group"), columns, rows_of(body), tall_header=True)


def _campaign_table(ward: WardConfig, scope: Scope, counts: dict[tuple[str, str], int],
                    households: dict[str, int], words: Words) -> Table:
    columns = (Column(words("col.group"), width=22), Column(words("col.campaign"), width=46),
               Column(words("col.registered"), "int", 13),
               Column(words("col.share_of_group"), "percent", 13))
    total_households = sum(households.values())
    everyone = words("ward_total") if scope.ward_wide else words("groups_total")
    body: list[Row] = []
    for campaign in ward.campaigns:
        count = sum(n for (_, code), n in counts.items() if code == campaign.code)
        body.append((everyone, campaign.name, count,
                     count / total_households if total_households else None))
    for group_code in scope.groups:
        for campaign in ward.campaigns:
            count = counts.get((group_code, campaign.code), 0)
            size = households.get(group_code, 0)
            body.append((group_label(ward, group_code), campaign.name, count,
                         count / size if size else None))
    return Table(words("sheet.by_campaign"), columns, rows_of(body), tall_header=True)


def _household_table(session: AsyncSession, ward: WardConfig, scope: Scope,
                     words: Words) -> Table:
    columns = (
        Column(words("col.group"), width=16), Column(words("col.head"), width=24),
        Column(words("col.address"), width=34), Column(words("col.phone"), width=15),
        Column(words("col.members"), "int", 10), Column(words("col.campaigns"), width=48),
        Column(words("col.registered_on"), "date", 13), Column(words("col.registered_by"),
                                                               width=20),
    )
    campaigns = {c.code: c.name for c in ward.campaigns}

    async def rows() -> AsyncIterator[list[Row]]:
        async for batch in repo.registered_households(session, scope.year, scope.group_filter):
            yield [
                (group_label(ward, group), head, address, display_phone(phone), members,
                 "; ".join(campaigns.get(code, code) for code in chosen or ()),
                 local(pledged_at), words(f"by_{consent_by}"))
                for group, head, address, phone, members, chosen, pledged_at, consent_by in batch
            ]

    return Table(words("sheet.households"), columns, rows, tall_header=True)


def _chart(rows: list[tuple[str, Registration]], target: float, year: int,
           words: Words) -> Chart:
    bars = tuple(
        Bar(label, row.share, note=words("chart.registration_note", share=percent(row.share, 0),
                                         registered=number(row.registered),
                                         households=number(row.households)),
            tone="met" if row.met(target) else "short")
        for label, row in rows
    )
    panel = Panel(words("chart.registration_panel", year=year), bars, target=target,
                  target_label=words("chart.target_line", target=percent(target, 0)),
                  percent=True, total_last=True)
    legend = (("met", words("met_yes")), ("short", words("met_no")))
    return Chart(words("chart.registration_title"), (panel,), legend,
                 note=words("chart.registration_source"))


async def household_export(session: AsyncSession, scope: Scope, ward: WardConfig,
                           now: datetime, words: Words) -> Export:
    """Registrations of the year for this scope: tables, summary and chart."""
    target = ward.targets.household_registration_share
    households = {g.code: g.households for g in ward.groups if g.code in scope.groups}
    registrations = await progress.registrations(session, scope.year, households)
    total = progress.combined(registrations)
    everyone = words("ward_total") if scope.ward_wide else words("groups_total")
    rows = [(group_label(ward, r.group_code), r) for r in registrations] + [(everyone, total)]
    counts = await repo.campaigns_by_group(session, scope.year, scope.group_filter)
    tables = (
        _group_table(rows, target, words),
        _campaign_table(ward, scope, counts, households, words),
        _household_table(session, ward, scope, words),
    )
    met = sum(1 for r in registrations if r.met(target))
    summary = (
        Line(words("summary.ward"), ward.ward.name),
        Line(words("summary.what"), words("title.registrations")),
        Line(words("summary.year"), str(scope.year)),
        Line(words("summary.groups"), groups_line(ward, scope, words)),
        Line(words("summary.exported_at"), now, "datetime"),
        Line(words("summary.registered"), total.registered, "int"),
        Line(words("summary.households"), total.households, "int"),
        Line(words("summary.share"), total.share if total.households else None, "percent"),
        Line(words("summary.target"), target, "percent"),
        Line(words("summary.verdict"), words("met_yes") if total.met(target)
             else words("met_no")),
        Line(words("summary.groups_met"), f"{met}/{len(registrations)}"),
    )
    headline = words("headline.registrations", registered=number(total.registered),
                     households=number(total.households), share=percent(total.share))
    return Export(
        title=words("title.registrations_of", year=scope.year),
        stem=f"dang-ky-ho-{scope.year}", headline=headline, summary=summary, tables=tables,
        chart=_chart(rows, target, scope.year, words), chart_rows=total.registered,
    )
