"""A resident's own data: /toi shows everything stored, /xoadulieu deletes it.

/xoadulieu -> CONFIRM --delete--> data removed (survey answers kept anonymously)
                      \\--keep--> nothing changes
"""

from __future__ import annotations

from typing import Any

from bot import flows
from bot.context import Context
from bot.events import Button, Reply
from bot.flows import Flow
from bot.normalize import local_date
from bot.registry import GUEST, Router
from handlers import common
from handlers.consent import confirm_step
from storage.repos import households, nominations, privacy, surveys

router = Router()

CHANNEL_NAMES = {
    "telegram": "Telegram",
    "zalo": "Zalo",
    "zalo_oa": "Zalo OA",
    "webchat": "Web chat",
    "test": "Test",
}


@router.command(
    "toi",
    "me",
    menu="menu.my_data",
    order=60,
    phrases=("dữ liệu của tôi", "thông tin của tôi", "tôi là ai", "my data"),
)
async def my_data(ctx: Context) -> list[Reply]:
    """Everything the bot keeps about the asker, in plain words."""
    resident = ctx.resident
    assert resident is not None  # the registry only lets joined residents in
    group = ctx.ward.group(resident.group_code)
    owned = await households.for_resident(ctx.session, resident.id)
    nominated = await nominations.for_resident(ctx.session, resident.id)
    answered = await surveys.count_for_resident(ctx.session, resident.id)
    channels = await privacy.channels_of(ctx.session, resident.id)
    text = ctx.t(
        "privacy.summary",
        group=group.name if group else resident.group_code,
        consent_date=local_date(resident.consent_at),
        channels=", ".join(CHANNEL_NAMES.get(c, c) for c in channels),
        language=ctx.t("privacy.language_name"),
        households=len(owned),
        nominations=len(nominated),
        surveys=answered,
    )
    oa_last = await privacy.oa_last_interaction(ctx.session, resident.id)
    if oa_last is not None:
        # One more line in the list, before the closing sentence.
        listed, gap, rest = text.partition("\n\n")
        line = ctx.t("privacy.oa_last_interaction", date=local_date(oa_last))
        text = f"{listed}\n{line}{gap}{rest}"
    buttons = (
        (Button(ctx.t("privacy.see_households"), "cmd:hocuatoi"),),
        (Button(ctx.t("privacy.see_nominations"), "cmd:decucuatoi"),),
        (Button(ctx.t("privacy.delete_button"), "cmd:xoadulieu"),),
    )
    return [Reply(text=text, buttons=buttons)]


def _confirm_prompt(ctx: Context, data: dict[str, Any]) -> str:
    return ctx.t("privacy.delete_confirm")


async def _finish(ctx: Context, data: dict[str, Any]) -> list[Reply]:
    if not data.get("confirmed") or ctx.resident is None:
        return [Reply(text=ctx.t("privacy.kept")), *common.menu(ctx)]
    chat = (ctx.incoming.channel, ctx.incoming.chat_id)
    result = await privacy.forget(ctx.session, ctx.resident.id, keep_chat=chat)
    ctx.resident = None
    ctx.role = GUEST
    flows.clear(ctx)
    ctx.state.lang = None
    text = ctx.t(
        "privacy.deleted",
        households=result.households,
        nominations=result.nominations_deleted + result.nominations_detached,
        surveys=result.responses_anonymized,
    )
    return [Reply(text=text, remove_keyboard=True)]


DELETE = router.flow(
    Flow(
        name="delete_my_data",
        title_key="privacy.delete_title",
        steps=(
            confirm_step(
                _confirm_prompt,
                "privacy.delete_yes",
                "privacy.delete_no",
                yes_words=("xoá", "xóa", "xoa", "delete"),
            ),
        ),
        finish=_finish,
    )
)


@router.command(
    "xoadulieu", "deletemydata", phrases=("xoá dữ liệu", "xoá dữ liệu của tôi", "delete my data")
)
async def delete_my_data(ctx: Context) -> list[Reply]:
    """Ask once more, then delete."""
    return await flows.start(ctx, DELETE)
