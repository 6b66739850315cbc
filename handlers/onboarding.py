"""Joining: a welcome, consent to the data notice, the residential group, the menu.

    CONSENT --yes--> GROUP --> joined, menu
        \\--no--> nothing stored; /batdau to try again

Nothing about a person is stored until they agree: before that only the chat's flow
state exists. /doito changes the group later; /ngonngu switches Vietnamese/English.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot import flows, texts
from bot.context import Context
from bot.events import Button, Reply
from bot.flows import DONE, Flow, Step
from bot.inputs import Choice, Option
from bot.registry import EVERYONE, GUEST, Router
from handlers import common
from handlers.consent import consent_step
from storage.repos import residents

router = Router()
CONSENT_VERSION = "2026-11"


def _consent_prompt(ctx: Context, data: dict[str, Any]) -> str:
    ward = ctx.ward.ward
    return ctx.t(
        "onboarding.consent",
        ward=ward.name,
        controller=ward.data_controller,
    )






def group_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    """The ward's residential groups, in the order of the ward file."""
    options = []
    for group in ctx.ward.groups:
        short = group.code.lstrip("0") or group.code
        aliases = (f"tổ {short}", f"tdp {short}", f"tổ dân phố {short}", f"to {group.code}")
        options.append(Option(group.code, group.name, aliases=aliases))
    return options


def _group_prompt(ctx: Context, data: dict[str, Any]) -> str:
    return ctx.t("onboarding.choose_group", ward=ctx.ward.ward.name)


async def _finish(ctx: Context, data: dict[str, Any]) -> list[Reply]:
    if data.get("declined"):
        return [Reply(text=ctx.t("onboarding.declined"), remove_keyboard=True)]
    group = ctx.ward.group(data["group"])
    incoming = ctx.incoming
    ctx.resident = await residents.join(
        ctx.session,
        channel=incoming.channel,
        user_id=incoming.user_id,
        chat_id=incoming.chat_id,
        group_code=data["group"],
        lang=ctx.lang,
        consent_at=datetime.fromisoformat(data["consent_at"]),
        consent_version=CONSENT_VERSION,
    )
    ctx.role = "resident"
    welcome = ctx.t("onboarding.joined", group=group.name if group else data["group"])
    return [Reply(text=welcome, remove_keyboard=True), *common.menu(ctx)]


ONBOARDING = router.flow(
    Flow(
        name="onboarding",
        title_key="onboarding.title",
        steps=(
            consent_step(_consent_prompt, "onboarding.agree", "onboarding.decline"),
            Step("GROUP", _group_prompt, Choice(group_options, columns=2)),
        ),
        finish=_finish,
    )
)


async def _save_new_group(ctx: Context, data: dict[str, Any], value: str) -> str:
    if ctx.resident is not None:
        ctx.resident.group_code = value
    return DONE


async def _group_changed(ctx: Context, data: dict[str, Any]) -> list[Reply]:
    group = ctx.ward.group(ctx.resident.group_code) if ctx.resident else None
    name = group.name if group else ""
    return [Reply(text=ctx.t("onboarding.group_changed", group=name)), *common.menu(ctx)]


def _change_group_prompt(ctx: Context, data: dict[str, Any]) -> str:
    current = ctx.ward.group(ctx.resident.group_code) if ctx.resident else None
    return ctx.t("onboarding.change_group", group=current.name if current else "")


CHANGE_GROUP = router.flow(
    Flow(
        name="change_group",
        title_key="onboarding.change_group_title",
        steps=(
            Step("GROUP", _change_group_prompt, Choice(group_options, columns=2),
                 save=_save_new_group),
        ),
        finish=_group_changed,
    )
)


@router.command("batdau", "start", roles=EVERYONE, phrases=("bắt đầu", "bat dau", "xin chào",
                                                             "chào", "hello", "hi"))
async def start(ctx: Context) -> list[Reply]:
    """Join if new; otherwise pick up the flow in progress or show the menu."""
    if ctx.role == GUEST:
        return await flows.start(ctx, ONBOARDING)
    if flows.active_flow(ctx) is not None:
        return flows.resume(ctx)
    return common.menu(ctx, intro_key="menu.welcome_back")


@router.command("doito", "group", menu="menu.change_group", order=80,
                phrases=("đổi tổ", "doi to dan pho", "đổi tổ dân phố"))
async def change_group(ctx: Context) -> list[Reply]:
    """Move to another residential group."""
    return await flows.start(ctx, CHANGE_GROUP)


@router.command("ngonngu", "language", roles=EVERYONE, menu="menu.language", order=90,
                phrases=("ngôn ngữ", "english"))
async def language(ctx: Context) -> list[Reply]:
    """Switch between Vietnamese and English (a button, or /ngonngu en)."""
    choice = ctx.incoming.args[0].lower() if ctx.incoming.args else ""
    if choice not in texts.LANGUAGES:
        return [
            Reply(
                text=ctx.t("language.choose"),
                buttons=(
                    (Button("Tiếng Việt", "cmd:ngonngu:vi"), Button("English", "cmd:ngonngu:en")),
                ),
            )
        ]
    ctx.state.lang = choice
    if ctx.resident is not None:
        ctx.resident.lang = choice
    replies = [Reply(text=ctx.t("language.set"))]
    if flows.active_flow(ctx) is not None:
        return replies + flows.resume(ctx)
    if ctx.role == GUEST:
        return replies + await flows.start(ctx, ONBOARDING)
    return replies + common.menu(ctx)
