"""Replies shared by every handler: the menu, the fallback, cancel, the join gate."""

from __future__ import annotations

import logging

from bot import flows
from bot.context import Context
from bot.events import Button, Reply
from bot.registry import GUEST, RESIDENT
from storage.repos import audit

logger = logging.getLogger(__name__)


def menu(ctx: Context, intro_key: str = "menu.title", *, residents: bool = False) -> list[Reply]:
    """The menu for the asker's role, as buttons (numbered where a channel has none).

    Leaders and officers first see their own work, with one button to the residents'
    menu, so that neither list is longer than a phone screen.
    """
    commands = ctx.registry.menu(ctx.role)
    staff = ctx.role not in (GUEST, RESIDENT)
    if staff:
        work = [c for c in commands if RESIDENT not in c.roles]
        commands = [c for c in commands if c not in work] if residents else work
    rows = [(Button(ctx.t(c.menu_label or ""), f"cmd:{c.name}"),) for c in commands]
    if staff:
        label, command = ("staff_button", "menu") if residents else ("residents_button", "menudan")
        rows.append((Button(ctx.t(f"menu.{label}"), f"cmd:{command}"),))
    return [Reply(text=ctx.t(intro_key), buttons=tuple(rows))]


async def require_join(ctx: Context) -> list[Reply]:
    """A guest must agree and choose a group before anything else."""
    from handlers.onboarding import ONBOARDING

    return await flows.start(ctx, ONBOARDING)


async def fallback(ctx: Context) -> list[Reply]:
    """Whatever we did not understand leads to the menu (or to joining)."""
    if ctx.role == GUEST:
        return await require_join(ctx)
    kind = ctx.incoming.kind
    key = "fallback.media" if kind in ("media", "contact") else "fallback.text"
    if kind == "user_info":  # a platform's form answered outside registration: not kept
        key = "user_info.outside"
    return [Reply(text=ctx.t(key)), *menu(ctx)]


def unknown_command_reply(ctx: Context) -> Reply:
    """A slash command we do not have."""
    return Reply(text=ctx.t("fallback.unknown_command", command=ctx.incoming.command or ""))


def cancel(ctx: Context) -> list[Reply]:
    """Drop the flow in progress, if any, and show the menu."""
    flow = flows.active_flow(ctx)
    if flow is None:
        text = ctx.t("cancel.nothing")
    else:
        flows.clear(ctx)
        text = ctx.t("cancel.done", title=ctx.t(flow.title_key))
    if ctx.role == GUEST:
        return [Reply(text=text + "\n\n" + ctx.t("cancel.guest_hint"), remove_keyboard=True)]
    return [Reply(text=text, remove_keyboard=True), *menu(ctx)]


async def deny(ctx: Context, target: str, **details: object) -> None:
    """Log and audit a refused attempt (a command, a group, a record) by the asker."""
    logger.warning(
        "refused %s to %s user %s with role %s",
        target, ctx.incoming.channel, ctx.incoming.user_id, ctx.role,
    )
    await audit.record(
        ctx.session, actor=ctx.actor, action="denied", target=target, at=ctx.now(),
        role=ctx.role, channel=ctx.incoming.channel, **details,
    )
