"""Progress against the ward's targets (/tiendo), for a leader's groups or the whole ward.

    /tiendo            leader: their groups · officer: the ward, top 5 and bottom 5 groups
    /tiendo tatca      officer: every group ranked ("Xem tất cả")
    /tiendo <group>    one group (a leader only their own: refused and audited otherwise)

Three figures for the (Hải Phòng) year: households registered against the
registration share, satisfaction in the open (else latest) survey against its share,
and nominations honoured per field against the yearly ranges. The figures come from
storage.repos.progress. Then who the bot can reach right now, per channel
(handlers.progress_reach).
"""

from __future__ import annotations

from bot.context import Context
from bot.events import Button, Reply
from bot.normalize import LOCAL_TZ, fold, local_date, number, percent
from bot.registry import OFFICERS, STAFF, Router
from handlers.progress_reach import reach_lines
from handlers.progress_scope import find_group, group_name, in_ward_order, refuse_other_group
from storage.repos import progress, surveys
from storage.repos.progress import Honours, Registration

router = Router()

SHOWN_AT_EACH_END = 5
ALL_WORDS = ("tatca", "tat ca", "xem tat ca", "all")


def _year(ctx: Context) -> int:
    return ctx.now().astimezone(LOCAL_TZ).year


def registration_line(ctx: Context, row: Registration) -> str:
    """'312/780 hộ (40,0%) — mục tiêu 50%: còn thiếu 78 hộ', or met with a ✅."""
    target = ctx.ward.targets.household_registration_share
    params = {
        "registered": number(row.registered),
        "households": number(row.households),
        "share": percent(row.share),
        "target": percent(target, 0),
        "missing": number(row.missing(target)),
    }
    key = "progress.households_met" if row.met(target) else "progress.households_short"
    return ctx.t(key, **params)


async def _survey_lines(ctx: Context, groups: list[str] | None) -> list[str]:
    now = ctx.now()
    survey = await surveys.open_survey(ctx.session, now) or await surveys.latest_survey(
        ctx.session, now
    )
    if survey is None:
        return [ctx.t("progress.survey_none")]
    target = ctx.ward.targets.satisfaction_share
    figures = await progress.satisfaction(ctx.session, survey.id, groups)
    if survey.is_open(now):
        which = ctx.t("progress.survey_open")
    else:
        which = ctx.t("progress.survey_closed", date=local_date(survey.closes_at or now))
    if figures.counted == 0:
        return [ctx.t("progress.survey_title", which=which),
                ctx.t("progress.survey_empty", target=percent(target, 0))]
    key = "progress.survey_met" if figures.met(target) else "progress.survey_short"
    line = ctx.t(key, share=percent(figures.share), count=number(figures.counted),
                 target=percent(target, 0))
    return [ctx.t("progress.survey_title", which=which), line]


def _honour_lines(ctx: Context, rows: list[Honours], *, with_targets: bool) -> list[str]:
    targets = ctx.ward.targets
    names = {f.code: f.name for f in ctx.ward.fields}
    lines = [ctx.t("progress.honours_title", year=_year(ctx))]
    for row in rows:
        if with_targets:
            collectives = _against(row.collectives, targets.honoured_collectives_per_field)
            individuals = _against(row.individuals, targets.honoured_individuals_per_field)
        else:
            collectives, individuals = number(row.collectives), number(row.individuals)
        lines.append(ctx.t("progress.honours_line", field=names.get(row.field_code, ""),
                           collectives=collectives, individuals=individuals))
    low_c, high_c = targets.honoured_collectives_per_field
    low_i, high_i = targets.honoured_individuals_per_field
    key = "progress.honours_targets" if with_targets else "progress.honours_ward_targets"
    lines.append(ctx.t(key, collectives=f"{low_c}–{high_c}", individuals=f"{low_i}–{high_i}"))
    return lines


def _against(count: int, target: tuple[int, int]) -> str:
    mark = " ✅" if count >= target[0] else ""
    return f"{number(count)}/{target[0]}–{target[1]}{mark}"


def _rank_line(ctx: Context, place: int, row: Registration) -> str:
    met = row.met(ctx.ward.targets.household_registration_share)
    return ctx.t("progress.rank_line", place=place, group=group_name(ctx, row.group_code),
                 share=percent(row.share), registered=number(row.registered),
                 households=number(row.households), mark=" ✅" if met else "")


def _households(ctx: Context, codes: list[str]) -> dict[str, int]:
    wanted = set(codes)
    return {g.code: g.households for g in ctx.ward.groups if g.code in wanted}


async def groups_view(ctx: Context, codes: list[str]) -> Reply:
    """Progress of some groups (a leader's, or one an officer named)."""
    year = _year(ctx)
    rows = await progress.registrations(ctx.session, year, _households(ctx, codes))
    names = ", ".join(group_name(ctx, code) for code in codes)
    parts = [ctx.t("progress.title", year=year, where=names)]
    lines = [ctx.t("progress.households_title")]
    for row in rows:
        prefix = f"{group_name(ctx, row.group_code)}: " if len(rows) > 1 else ""
        lines.append(prefix + registration_line(ctx, row))
    if len(rows) > 1:
        lines.append(ctx.t("progress.together") + registration_line(ctx, progress.combined(rows)))
    parts.append("\n".join(lines))
    parts.append("\n".join(await _survey_lines(ctx, codes)))
    fields = [f.code for f in ctx.ward.fields]
    honours = await progress.honoured_by_field(ctx.session, year, fields, codes)
    parts.append("\n".join(_honour_lines(ctx, honours, with_targets=False)))
    parts.append("\n".join(await reach_lines(ctx, codes)))
    return Reply(text="\n\n".join(parts))


async def ward_view(ctx: Context, *, everyone: bool) -> Reply:
    """The ward's progress with the groups ranked by registration share."""
    year = _year(ctx)
    households = {g.code: g.households for g in ctx.ward.groups}
    rows = await progress.registrations(ctx.session, year, households)
    parts = [ctx.t("progress.title", year=year, where=ctx.ward.ward.name)]
    parts.append(ctx.t("progress.households_title") + "\n"
                 + registration_line(ctx, progress.combined(rows)))
    parts.append("\n".join(await _survey_lines(ctx, None)))
    fields = [f.code for f in ctx.ward.fields]
    honours = await progress.honoured_by_field(ctx.session, year, fields)
    parts.append("\n".join(_honour_lines(ctx, honours, with_targets=True)))
    parts.append("\n".join(await reach_lines(ctx, None)))
    ranked = progress.ranking(rows)
    places = list(enumerate(ranked, start=1))
    lines = [ctx.t("progress.ranking_title")]
    buttons: tuple[tuple[Button, ...], ...] = ()
    if everyone or len(places) <= 2 * SHOWN_AT_EACH_END:
        lines += [_rank_line(ctx, place, row) for place, row in places]
    else:
        lines += [_rank_line(ctx, place, row) for place, row in places[:SHOWN_AT_EACH_END]]
        lines.append("…")
        lines += [_rank_line(ctx, place, row) for place, row in places[-SHOWN_AT_EACH_END:]]
        buttons = ((Button(ctx.t("progress.see_all"), "cmd:tiendo:tatca"),),)
    parts.append("\n".join(lines))
    return Reply(text="\n\n".join(parts), buttons=buttons)


@router.command("tiendo", "progress", roles=STAFF, menu="progress.menu", order=42,
                phrases=("tiến độ", "tiến độ thi đua", "xem tiến độ"))
async def show_progress(ctx: Context) -> list[Reply]:
    """Progress for the asker's groups, the ward (officers), or a group named after it."""
    typed = " ".join(ctx.incoming.args).strip()
    officer = ctx.role in OFFICERS
    if typed and fold(typed) not in ALL_WORDS:
        code = find_group(ctx, typed)
        if code is None:
            return [Reply(text=ctx.t("progress.unknown_group", text=typed))]
        if not ctx.may_act_on(code):
            return await refuse_other_group(ctx, "tiendo", code)
        return [await groups_view(ctx, [code])]
    if officer:
        return [await ward_view(ctx, everyone=bool(typed))]
    codes = in_ward_order(ctx, ctx.groups)
    if not codes:
        return [Reply(text=ctx.t("progress.no_groups"))]
    return [await groups_view(ctx, codes)]
