"""Which residential groups a staff command covers: a group typed after it, or one's own.

Officers may name any group; a leader naming another group's is refused, and the
attempt goes to the audit log as "denied" (like a refused command).
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.context import Context
from bot.events import Reply
from bot.inputs import match_option
from handlers import common
from handlers.onboarding import group_options


def find_group(ctx: Context, text: str) -> str | None:
    """The code of the group `text` names ("5", "05", "tổ 5", "Tổ dân phố 5"), if any."""
    typed = text.strip()
    if typed.isdigit():
        # A bare number is a group's number, not the position of a button.
        return next((g.code for g in ctx.ward.groups
                     if typed in (g.code, g.code.lstrip("0"))), None)
    picked = match_option(group_options(ctx, {}), typed)
    return picked.value if picked else None


def group_name(ctx: Context, code: str) -> str:
    """The group's name from the ward file (its code when unknown)."""
    group = ctx.ward.group(code)
    return group.name if group else code


def in_ward_order(ctx: Context, codes: Iterable[str]) -> list[str]:
    """Group codes in the order of the ward file."""
    wanted = set(codes)
    return [g.code for g in ctx.ward.groups if g.code in wanted]


def own_groups(ctx: Context) -> str:
    """The asker's groups by name, e.g. "Tổ dân phố 5, Tổ dân phố 7"."""
    return ", ".join(group_name(ctx, code) for code in in_ward_order(ctx, ctx.groups))


async def refuse_other_group(ctx: Context, command: str, group_code: str) -> list[Reply]:
    """Refuse a leader's request about a group that is not theirs, and audit it."""
    await common.deny(ctx, f"/{command}", group=group_code)
    text = ctx.t("progress.not_your_group", group=group_name(ctx, group_code),
                 own=own_groups(ctx))
    return [Reply(text=text)]
