"""The "who can we reach now" lines of /tiendo (storage.repos.reach), per channel."""

from __future__ import annotations

from collections.abc import Collection

from bot import texts
from bot.context import Context
from bot.normalize import number, percent
from storage.repos import reach


def channel_label(channel: str, lang: str) -> str:
    """A channel's name as residents know it ("Zalo OA", "Telegram"...)."""
    return texts.catalogue(lang).get(f"progress.channel_{channel}") or texts.catalogue(
        texts.DEFAULT_LANG
    ).get(f"progress.channel_{channel}", channel)


async def reach_lines(ctx: Context, groups: Collection[str] | None) -> list[str]:
    """Each channel's reach now and that of any channel, for some groups or the ward."""
    found = await reach.reach(ctx.session, ctx.now(), groups)
    if not found.residents:
        return [ctx.t("progress.reach_none")]
    lines = [ctx.t("progress.reach_title", residents=number(found.residents))]
    for row in found.channels:
        params = {
            "channel": channel_label(row.channel, ctx.lang),
            "count": number(row.reachable),
            "share": percent(found.share(row.reachable)),
        }
        if row.free is not None:
            lines.append(ctx.t("progress.reach_line_oa", free=number(row.free), **params))
        else:
            lines.append(ctx.t("progress.reach_line", **params))
    lines.append(ctx.t("progress.reach_any", count=number(found.any_channel),
                       share=percent(found.share(found.any_channel))))
    if any(row.free is not None for row in found.channels):
        lines.append(ctx.t("progress.reach_oa_note"))
    return lines
