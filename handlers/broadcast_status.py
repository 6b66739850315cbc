"""How a broadcast is going: /tinhtrang for its author, and the reports sent to them.

`report_finished_broadcasts` runs beside the delivery worker: once every message of a
broadcast is sent, held, failed or found blocked, the author is told the figures through the
outbox (once, key `broadcast-report:{id}`); a broadcast still going after a minute
gets one progress note first (key `broadcast-progress:{id}`). Held messages (Zalo OA:
outside its messaging window) go out by themselves when the resident next writes, so
they do not keep a broadcast from finishing; the report and /tinhtrang count them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import texts
from bot.context import Context
from bot.events import Button, Reply
from bot.normalize import local_date, local_datetime, number
from bot.outbox import notify_resident
from bot.registry import OFFICERS
from handlers import common
from handlers.broadcast_service import audience_label, local_year, where
from storage.models.broadcasts import Broadcast
from storage.repos import broadcasts

logger = logging.getLogger(__name__)

PROGRESS_AFTER = timedelta(minutes=1)
REPORT_EVERY = 5.0
EXCERPT = 80


def figures(counts: dict[str, int]) -> dict[str, int]:
    """Outbox statuses as the author reads them: sent, waiting, held, failed, unreachable."""
    return {
        "sent": counts.get("sent", 0),
        "waiting": sum(counts.get(s, 0) for s in broadcasts.WAITING),
        "held": counts.get("held", 0),
        "failed": counts.get("failed", 0),
        "unreachable": counts.get("blocked", 0),
    }


def _formatted(found: dict[str, int]) -> dict[str, str]:
    return {name: number(value) for name, value in found.items()}


def may_see(ctx: Context, broadcast: Broadcast) -> bool:
    """Officers see every broadcast; a leader their own and those to their groups only."""
    if ctx.role in OFFICERS:
        return True
    if ctx.resident is not None and broadcast.author_resident_id == ctx.resident.id:
        return True
    return bool(broadcast.groups) and set(broadcast.groups) <= ctx.groups


async def status(ctx: Context) -> list[Reply]:
    """/tinhtrang [số]: a broadcast's figures now (the latest one the asker may see)."""
    visible = [b for b in await broadcasts.recent(ctx.session) if may_see(ctx, b)]
    if ctx.incoming.args:
        raw = ctx.incoming.args[0].lstrip("#")
        if not raw.isdigit():
            return [Reply(text=ctx.t("broadcasts.status_bad_id"))]
        chosen = await broadcasts.get(ctx.session, int(raw))
        if chosen is None:
            return [Reply(text=ctx.t("broadcasts.status_not_found", id=raw))]
        if not may_see(ctx, chosen):
            await common.deny(ctx, f"broadcast:{chosen.id}", command="/tinhtrang")
            return [Reply(text=ctx.t("broadcasts.status_not_yours", id=chosen.id))]
    elif visible:
        chosen = visible[0]
    else:
        return [Reply(text=ctx.t("broadcasts.status_none"))]
    found = figures(await broadcasts.counts(ctx.session, chosen))
    text = ctx.t(
        "broadcasts.status",
        id=chosen.id,
        when=local_datetime(chosen.created_at),
        where=where(ctx.ward, chosen.groups, ctx.lang),
        audience=audience_label(chosen.audience, ctx.lang, local_year(chosen.created_at)),
        excerpt=_excerpt(chosen.text),
        **_formatted(found),
    )
    if found["held"]:
        text += "\n" + ctx.t("broadcasts.status_held", held=number(found["held"]))
    if not found["waiting"]:
        text += "\n" + ctx.t("broadcasts.status_done")
    others = [b for b in visible if b.id != chosen.id][:5]
    if not others:
        return [Reply(text=text)]
    rows = tuple(
        (
            Button(
                ctx.t("broadcasts.status_other_button", id=b.id, date=local_date(b.created_at)),
                f"cmd:tinhtrang:{b.id}",
            ),
        )
        for b in others
    )
    return [Reply(text=text), Reply(text=ctx.t("broadcasts.status_others"), buttons=rows)]


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1].rstrip() + "…"


async def report_finished_broadcasts(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime
) -> int:
    """Queue the final report of every finished broadcast (and progress notes); how many."""
    told = 0
    async with sessionmaker() as session, session.begin():
        for broadcast in await broadcasts.unreported(session):
            found = figures(await broadcasts.counts(session, broadcast))
            finished = found["waiting"] == 0
            if not finished and (
                broadcast.progress_at is not None or now - broadcast.created_at < PROGRESS_AFTER
            ):
                continue
            if finished:
                broadcast.reported_at = now
            else:
                broadcast.progress_at = now
            told += await _tell_author(session, broadcast, found, finished)
    return told


async def _tell_author(
    session: AsyncSession, broadcast: Broadcast, found: dict[str, int], finished: bool
) -> int:
    lang = await broadcasts.author_lang(session, broadcast)
    if lang is None or broadcast.author_resident_id is None:
        return 0
    if finished:
        text = texts.t(
            "broadcasts.report",
            lang,
            id=broadcast.id,
            when=local_datetime(broadcast.created_at),
            **_formatted(found),
        )
        if found["held"]:
            text += "\n" + texts.t("broadcasts.report_held", lang, held=number(found["held"]))
        key = f"broadcast-report:{broadcast.id}"
    else:
        total = sum(found.values())
        text = texts.t(
            "broadcasts.progress",
            lang,
            id=broadcast.id,
            sent=number(found["sent"]),
            total=number(total),
            waiting=number(found["waiting"]),
        )
        key = f"broadcast-progress:{broadcast.id}"
    queued = await notify_resident(
        session, broadcast.author_resident_id, Reply(text=text), key=key, kind="notification"
    )
    return int(queued > 0)


async def run_reports(
    sessionmaker: async_sessionmaker[AsyncSession],
    stop: asyncio.Event,
    *,
    every: float = REPORT_EVERY,
    clock: Callable[[], datetime] | None = None,
) -> None:
    """Call report_finished_broadcasts every `every` seconds until `stop` is set."""
    now = clock or (lambda: datetime.now(UTC))
    while not stop.is_set():
        try:
            await report_finished_broadcasts(sessionmaker, now())
        except Exception:
            logger.exception("broadcast reports failed; trying again shortly")
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
        except TimeoutError:
            pass
