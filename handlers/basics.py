"""Help, menu and cancel: the ways out of anywhere."""

from __future__ import annotations

from bot import flows
from bot.context import Context
from bot.events import Reply
from bot.registry import EVERYONE, GUEST, STAFF, Router
from handlers import common

router = Router()


@router.command("trogiup", "help", roles=EVERYONE,
                phrases=("trợ giúp", "giúp", "hướng dẫn", "giúp đỡ"))
async def help_(ctx: Context) -> list[Reply]:
    """What the bot does and the commands the asker may use."""
    lines = [ctx.t("help.intro", ward=ctx.ward.ward.name)]
    for command in ctx.registry.menu(ctx.role):
        lines.append(f"/{command.name} — {ctx.t(command.menu_label or '')}")
    lines.append(ctx.t("help.always"))
    replies = [Reply(text="\n".join(lines))]
    flow = flows.active_flow(ctx)
    if flow is not None:
        replies.append(flows.busy_reply(ctx, flow))
    elif ctx.role == GUEST:
        replies.append(Reply(text=ctx.t("help.guest")))
    else:
        replies.extend(common.menu(ctx))
    return replies


@router.command("huy", "cancel", roles=EVERYONE,
                phrases=("hủy", "huỷ", "hủy bỏ", "thoát", "dừng", "stop"))
async def cancel(ctx: Context) -> list[Reply]:
    """Drop whatever is in progress."""
    return common.cancel(ctx)


@router.command("menu", "danhmuc", phrases=("danh mục", "chức năng"))
async def show_menu(ctx: Context) -> list[Reply]:
    """The menu for the asker's role."""
    if flows.active_flow(ctx) is not None:
        return [flows.busy_reply(ctx, flows.active_flow(ctx))]  # type: ignore[arg-type]
    return common.menu(ctx)


@router.command("menudan", "residentmenu", roles=STAFF)
async def resident_menu(ctx: Context) -> list[Reply]:
    """For leaders and officers: the things every resident can do."""
    return common.menu(ctx, residents=True)
