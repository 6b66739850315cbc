"""The ward (or a leader's groups) against its targets, the ranking of groups, one group.

The figures are those of /tiendo (storage.repos.progress): households registered this
year against the registration share, satisfaction in the open (else latest) survey
against its share, and nominations honoured per field against the yearly ranges.
The overview also shows who each channel can reach right now (storage.repos.reach).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keys
from bot.normalize import LOCAL_TZ
from bot.ward import WardConfig
from bot.web.dashboard import auth, render
from bot.web.dashboard.auth import Viewer
from handlers.progress_reach import channel_label
from storage.models.surveys import Survey
from storage.repos import nominations, progress, reach, surveys
from storage.repos.progress import Registration, Satisfaction

RANKING_PREVIEW = 5


@dataclass(frozen=True)
class Place:
    """A group's row in the ranking, with its place among all the ward's groups."""

    place: int
    name: str
    row: Registration
    met: bool


def year_of(moment: datetime) -> int:
    """The calendar year in Hải Phòng."""
    return moment.astimezone(LOCAL_TZ).year


async def current_survey(session: AsyncSession, moment: datetime) -> Survey | None:
    """The open survey, else the latest one."""
    return await surveys.open_survey(session, moment) or await surveys.latest_survey(
        session, moment
    )


async def figures(
    session: AsyncSession, ward: WardConfig, codes: Sequence[str] | None, moment: datetime
) -> dict[str, Any]:
    """Registrations, satisfaction, honours and waiting nominations for some groups or all."""
    year = year_of(moment)
    wanted = set(codes) if codes is not None else None
    households = {g.code: g.households for g in ward.groups if wanted is None or g.code in wanted}
    rows = await progress.registrations(session, year, households)
    survey = await current_survey(session, moment)
    satisfaction: Satisfaction | None = None
    if survey is not None:
        satisfaction = await progress.satisfaction(session, survey.id, codes)
    fields = [f.code for f in ward.fields]
    honours = await progress.honoured_by_field(session, year, fields, codes)
    _, waiting = await nominations.page(
        session, statuses=nominations.NOT_FINAL, groups=codes, limit=0
    )
    targets = ward.targets
    total = progress.combined(rows)
    return {
        "year": year,
        "registration": total,
        "registration_met": total.met(targets.household_registration_share),
        "missing": total.missing(targets.household_registration_share),
        "survey": survey,
        "survey_open": survey.is_open(moment) if survey else False,
        "satisfaction": satisfaction,
        "satisfaction_met": bool(satisfaction and satisfaction.met(targets.satisfaction_share)),
        "honours": [(field_name(ward, h.field_code), h) for h in honours],
        "waiting": waiting,
        "targets": targets,
    }


def field_name(ward: WardConfig, code: str) -> str:
    """A field's name from the ward file."""
    return next((f.name for f in ward.fields if f.code == code), code)


async def ranking(session: AsyncSession, ward: WardConfig, moment: datetime) -> list[Place]:
    """Every group ranked by its registration share."""
    households = {g.code: g.households for g in ward.groups}
    rows = await progress.registrations(session, year_of(moment), households)
    target = ward.targets.household_registration_share
    names = {g.code: g.name for g in ward.groups}
    return [
        Place(place, names[row.group_code], row, row.met(target))
        for place, row in enumerate(progress.ranking(rows), start=1)
    ]


@dataclass(frozen=True)
class ReachRow:
    """One line of the reach table: a channel (or "any channel") and whom it reaches."""

    label: str
    reachable: int
    share: float
    free: int | None = None


async def reach_rows(
    session: AsyncSession, codes: Sequence[str] | None, moment: datetime, lang: str
) -> tuple[int, list[ReachRow]]:
    """The residents counted and each channel's reach now, then any channel's."""
    found = await reach.reach(session, moment, codes)
    rows = [
        ReachRow(channel_label(r.channel, lang), r.reachable, found.share(r.reachable), r.free)
        for r in found.channels
    ]
    return found.residents, rows + [
        ReachRow("*", found.any_channel, found.share(found.any_channel))
    ]


@auth.staff()
async def overview(request: web.Request, viewer: Viewer, session: AsyncSession) -> web.Response:
    """GET /admin: the targets at a glance, and the top and bottom of the ranking."""
    ward = request.config_dict[keys.WARD]
    moment = auth.now(request)
    found = await figures(session, ward, viewer.scope(), moment)
    places = [p for p in await ranking(session, ward, moment) if viewer.may_see(p.row.group_code)]
    if len(places) > 2 * RANKING_PREVIEW:
        top, bottom = places[:RANKING_PREVIEW], places[-RANKING_PREVIEW:]
    else:
        top, bottom = places, []
    where = ward.ward.name if viewer.officer else ", ".join(
        g.name for g in ward.groups if g.code in viewer.groups)
    residents, reach_table = await reach_rows(session, viewer.scope(), moment, viewer.lang)
    return render.page(
        request, "overview.html", viewer=viewer, where=where, top=top, bottom=bottom,
        total_groups=len(ward.groups), chart=viewer.officer, residents=residents,
        reach=reach_table, **found,
    )


@auth.staff()
async def groups(request: web.Request, viewer: Viewer, session: AsyncSession) -> web.Response:
    """GET /admin/groups: groups ranked by their share of households registered."""
    ward = request.config_dict[keys.WARD]
    moment = auth.now(request)
    places = [p for p in await ranking(session, ward, moment) if viewer.may_see(p.row.group_code)]
    return render.page(
        request, "groups.html", viewer=viewer, places=places, year=year_of(moment),
        total_groups=len(ward.groups), targets=ward.targets,
        chart=viewer.officer,
    )


@auth.staff()
async def group(request: web.Request, viewer: Viewer, session: AsyncSession) -> web.Response:
    """GET /admin/groups/{code}: one group against the targets (a leader: their own only)."""
    ward = request.config_dict[keys.WARD]
    code = request.match_info["code"]
    found = ward.group(code)
    if found is None:
        return render.message(request, 404, "group_unknown", viewer=viewer)
    if not viewer.may_see(code):
        return await auth.deny(request, session, viewer.actor, 403, "not_your_group",
                               viewer=viewer, group=code)
    moment = auth.now(request)
    place = next(p for p in await ranking(session, ward, moment) if p.row.group_code == code)
    numbers = await figures(session, ward, [code], moment)
    return render.page(
        request, "group.html", viewer=viewer, group=found, place=place,
        total_groups=len(ward.groups), **numbers,
    )
