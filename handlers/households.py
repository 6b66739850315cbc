"""Registering a household for the year's campaigns (/dangky) and seeing it (/hocuatoi).

    CONSENT --not now--> nothing stored, menu
       |agree
    NAME -> ADDRESS -> PHONE -> MEMBERS -> CAMPAIGNS -> CONFIRM --confirm--> stored, thanks
                                                       ^   |edit        \\--same phone or
                                       NAME..GROUP..  -+- EDIT           address--> EXISTING
                                                                          update / cancel

The address is taken in the resident's own residential group; GROUP is reached only
from EDIT. Nothing is stored before CONFIRM; a household already registered (same
phone, or same address in the group) is shown, masked unless this resident registered
it, and may be updated instead of duplicated. Each year's campaigns are a new pledge of
the same household.

/dangkyho is the same registration done by a leader (or officer) for a resident without
a smartphone: the leader confirms that the head of household agreed (CONSENT), picks
one of their own groups (GROUP; skipped when they have one), and types the household's
phone (never the leader's own contact). The household is stored with consent_by
"leader" and assisted_by the leader; it is not the leader's own household.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from bot import flows
from bot.context import Context
from bot.events import Button, Reply
from bot.flows import DONE, Flow, Step
from bot.inputs import Answer, Choice, Integer, Invalid, MultiChoice, Option, Phone, Text
from bot.normalize import LOCAL_TZ, local_date
from bot.phones import display_phone, mask_phone
from bot.registry import STAFF, Router
from handlers import common
from handlers import households_assisted as assist
from handlers.consent import consent_step
from handlers.onboarding import group_options
from storage.models.households import Household
from storage.repos import households
from storage.repos.households import HouseholdConflict, HouseholdDetails, address_key

router = Router()
FIELDS = ("name", "address", "group", "phone", "members", "campaigns")


def this_year(ctx: Context) -> int:
    """The current calendar year in Hải Phòng, which a pledge belongs to."""
    return ctx.now().astimezone(LOCAL_TZ).year


def initials(name: str) -> str:
    """'Nguyễn Văn An' -> 'N. V. A.': a name shown to someone who did not register it."""
    return " ".join(f"{word[0].upper()}." for word in name.split())


def _group_name(ctx: Context, code: str) -> str:
    group = ctx.ward.group(code)
    return group.name if group else code


def _campaign_lines(ctx: Context, codes: list[str]) -> str:
    names = [c.name for c in ctx.ward.campaigns if c.code in set(codes)]
    return "\n".join(f"• {name}" for name in names)


def card(ctx: Context, fields: dict[str, Any]) -> str:
    """A household's lines (head, address, phone, members) as a resident reads them."""
    lines = [
        ctx.t("households.line_name", name=fields["name"]),
        ctx.t("households.line_address", address=fields["address"],
              group=_group_name(ctx, fields["group"])),
        ctx.t("households.line_phone", phone=fields["phone"]),
    ]
    if fields.get("members") is not None:
        lines.append(ctx.t("households.line_members", members=fields["members"]))
    return "\n".join(lines)


# --- the questions -----------------------------------------------------------------


def _consent_prompt(ctx: Context, data: dict[str, Any]) -> str:
    return ctx.t("households.consent", year=this_year(ctx),
                 controller=ctx.ward.ward.data_controller)






def _save_name(ctx: Context, data: dict[str, Any], value: str) -> str | None:
    if not any(ch.isalpha() for ch in value):
        raise Invalid("households.name_invalid")
    data["name"] = value
    return _past_shared(data, ("ADDRESS", "PHONE"))


def _past_shared(data: dict[str, Any], following: tuple[str, ...]) -> str | None:
    """The next question not already answered through the platform's form (None: the
    usual next one)."""
    shared = set(data.get("_shared", []))
    if data.get("_return") or not shared:
        return None
    return next((step for step in following if step.lower() not in shared), "MEMBERS")


def _name_prompt(ctx: Context, data: dict[str, Any]) -> str:
    question = ctx.t("households.ask_name")
    if ctx.capabilities.user_info_form and _own_household(ctx, data):
        return f"{question}\n\n{ctx.t('user_info.form_hint')}"
    return question


def _own_household(ctx: Context, data: dict[str, Any]) -> bool:
    """The form shares the sender's own details: never offered to a leader helping."""
    return not data.get("assisted")


async def _shared_info(ctx: Context, data: dict[str, Any]) -> tuple[str, str | None]:
    """Name, address and phone from the platform's form, each checked as if typed.

    The usable ones are kept; the resident is told which were not, and the flow goes on
    at the first of NAME, ADDRESS, PHONE still missing (all there: MEMBERS). Everything
    is shown again in the summary before anything is stored.
    """
    if not _own_household(ctx, data):
        return ctx.state.step or "NAME", ctx.t("user_info.not_here")
    shared = ctx.incoming.user_info or {}
    unusable: list[str] = []
    kept_fields: list[str] = []
    for field, step in (("name", "NAME"), ("address", "ADDRESS"), ("phone", "PHONE")):
        value = str(shared.get(field) or "").strip()
        if not value:
            continue
        typed = replace(ctx.incoming, kind="text", text=value, user_info=None)
        try:
            parsed = await REGISTRATION.step(step).input.parse(ctx, data, Answer(typed))
            if step == "NAME":
                _save_name(ctx, data, parsed)
            elif step == "ADDRESS":
                _save_address(ctx, data, parsed)
            else:
                data["phone"] = parsed
            kept_fields.append(field)
        except Invalid:
            data.pop(field, None)
            unusable.append(ctx.t(f"households.field_{field}"))
    data["_shared"] = sorted(set(data.get("_shared", [])) | set(kept_fields))
    order = ("NAME", "ADDRESS", "PHONE")
    target = next((step for step in order if not data.get(step.lower())), None)
    if target is None:  # all three there: on to MEMBERS, or back to the summary from EDIT
        target = data.pop("_return", None) or "MEMBERS"
    asked = order[: order.index(target)] if target in order else order
    kept = [entry for entry in data.get("_path", []) if entry[0] not in order]
    data["_path"] = kept + [[step, None] for step in asked]
    if unusable:
        return target, ctx.t("user_info.some_unusable", fields=", ".join(unusable))
    if not any(str(shared.get(field) or "").strip() for field in ("name", "address", "phone")):
        return target, ctx.t("user_info.empty")
    return target, ctx.t("user_info.received")


def _address_prompt(ctx: Context, data: dict[str, Any]) -> str:
    return ctx.t("households.ask_address", group=_group_name(ctx, data["group"]))


def _save_address(ctx: Context, data: dict[str, Any], value: str) -> str | None:
    if not any(ch.isalpha() for ch in address_key(value)):
        raise Invalid("households.address_invalid")
    data["address"] = value
    return _past_shared(data, ("PHONE",))


def _phone_prompt(ctx: Context, data: dict[str, Any]) -> str:
    key = "ask_phone_share" if ctx.capabilities.contact_request else "ask_phone"
    return ctx.t(f"households.{key}")


def _campaign_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    return [Option(c.code, c.name) for c in ctx.ward.campaigns]


def _campaigns_prompt(ctx: Context, data: dict[str, Any]) -> str:
    return ctx.t("households.ask_campaigns", year=this_year(ctx))


def _save_campaigns(ctx: Context, data: dict[str, Any], value: list[str]) -> None:
    data["campaigns"] = value
    data.pop("_picked_campaigns", None)


def _summary_prompt(ctx: Context, data: dict[str, Any]) -> str:
    codes = data.get("campaigns") or []
    if not codes:
        chosen = ctx.t("households.no_campaigns")
    elif len(codes) == len(ctx.ward.campaigns):
        chosen = ctx.t("households.all_campaigns", count=len(codes))
    else:
        chosen = "\n" + _campaign_lines(ctx, codes)
    return ctx.t(
        "households.summary",
        card=card(ctx, {**data, "phone": display_phone(data["phone"])}),
        year=this_year(ctx),
        campaigns=chosen,
    )


def _confirm_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    return [
        Option("confirm", ctx.t("households.confirm"), aliases=("xác nhận", "đúng", "ok", "yes")),
        Option("edit", ctx.t("households.edit"), aliases=("sửa", "edit")),
    ]


async def _save_confirm(ctx: Context, data: dict[str, Any], value: str) -> str:
    if value == "edit":
        return "EDIT"
    if not data.get("campaigns"):
        data["_return"] = "CONFIRM"
        return "CAMPAIGNS"
    found = await households.matching(
        ctx.session, phone=data["phone"], group_code=data["group"],
        key=address_key(data["address"]),
    )
    others = [h for h in found if h.id != data.get("household_id")]
    if not others:
        return DONE
    if data.get("household_id") is not None or len(others) > 1:
        raise Invalid("households.conflict")
    data["existing_id"] = others[0].id
    data["_existing"] = _snapshot(ctx, others[0])
    return "EXISTING"


def _snapshot(ctx: Context, household: Household) -> dict[str, Any]:
    """What this resident may see of a household found at confirmation."""
    mine = ctx.resident is not None and ctx.resident.id in (
        household.registered_by_resident_id, household.assisted_by_resident_id
    )
    return {
        "mine": mine,
        "name": household.head_name if mine else initials(household.head_name),
        "address": household.address,
        "group": household.group_code,
        "phone": display_phone(household.phone) if mine else mask_phone(household.phone),
        "members": household.members if mine else None,
    }


def _edit_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    return [Option(field, ctx.t(f"households.field_{field}")) for field in FIELDS]


def _save_edit(ctx: Context, data: dict[str, Any], value: str) -> str:
    data["_return"] = "CONFIRM"
    return value.upper()


def _save_group(ctx: Context, data: dict[str, Any], value: str) -> str:
    data["group"] = value
    data.pop("_return", None)
    return "CONFIRM"


def _existing_prompt(ctx: Context, data: dict[str, Any]) -> str:
    shown = data["_existing"]
    key = "existing_mine" if shown["mine"] else "existing_other"
    if data.get("assisted") and not shown["mine"]:
        key = "assist_existing_other"
    return ctx.t(f"households.{key}", card=card(ctx, shown))


def _existing_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    return [
        Option("update", ctx.t("households.update_this"), aliases=("cập nhật",)),
        Option("cancel", ctx.t("households.cancel"), aliases=("không",)),
    ]


def _save_existing(ctx: Context, data: dict[str, Any], value: str) -> str:
    if value == "update":
        data["household_id"] = data.pop("existing_id")
    else:
        data["cancelled"] = True
    return DONE


def _prompt(key: str) -> Any:
    return lambda ctx, data: ctx.t(key)


async def _finish(ctx: Context, data: dict[str, Any]) -> list[Reply]:
    assisted = bool(data.get("assisted"))
    if data.get("declined") or data.get("cancelled"):
        key = "declined" if data.get("declined") else "cancelled"
        key = "assist_declined" if assisted and data.get("declined") else key
        return [Reply(text=ctx.t(f"households.{key}"), remove_keyboard=True), *common.menu(ctx)]
    if assisted and not await assist.still_allowed(ctx, data["group"]):
        return [Reply(text=ctx.t("error.not_allowed")), *common.menu(ctx)]
    year = this_year(ctx)
    details = HouseholdDetails(
        group_code=data["group"],
        head_name=data["name"],
        address=data["address"],
        phone=data["phone"],
        members=data["members"],
    )
    me = ctx.resident.id if ctx.resident else None
    try:
        household, _ = await households.register(
            ctx.session,
            details,
            household_id=data.get("household_id"),
            resident_id=None if assisted else me,
            consent_at=datetime.fromisoformat(data["consent_at"]),
            consent_by="leader" if assisted else "self",
            year=year,
            campaigns=data["campaigns"],
            at=ctx.now(),
            assisted_by_resident_id=me if assisted else None,
        )
    except HouseholdConflict:
        again = await flows.start(ctx, ASSISTED if assisted else REGISTRATION, data=data,
                                  at="CONFIRM")
        return [Reply(text=ctx.t("households.conflict")), *again]
    if assisted:
        return await assist.done(ctx, household, year, data["campaigns"])
    thanks = ctx.t(
        "households.done",
        name=details.head_name,
        year=year,
        count=len(data["campaigns"]),
        campaigns=_campaign_lines(ctx, data["campaigns"]),
    )
    return [Reply(text=thanks, remove_keyboard=True), *common.menu(ctx)]


REGISTRATION = router.flow(
    Flow(
        name="household",
        title_key="households.title",
        steps=(
            consent_step(_consent_prompt, "households.agree", "households.not_now"),
            Step("NAME", _name_prompt,
                 Text(2, 80, "households.name_too_short", "households.name_too_long"),
                 save=_save_name, offer_form=_own_household, on_user_info=_shared_info),
            Step("ADDRESS", _address_prompt,
                 Text(5, 200, "households.address_too_short", "households.address_too_long"),
                 save=_save_address, on_user_info=_shared_info),
            Step("PHONE", _phone_prompt, Phone(), on_user_info=_shared_info),
            Step("MEMBERS", _prompt("households.ask_members"),
                 Integer(1, 30, quick=(1, 2, 3, 4, 5, 6), columns=3,
                         invalid="households.members_invalid")),
            Step("CAMPAIGNS", _campaigns_prompt, MultiChoice(_campaign_options, "campaigns"),
                 save=_save_campaigns),
            Step("CONFIRM", _summary_prompt, Choice(_confirm_options, columns=2),
                 save=_save_confirm),
            Step("EDIT", _prompt("households.ask_edit"), Choice(_edit_options, columns=2),
                 save=_save_edit),
            Step("GROUP", _prompt("households.ask_group"), Choice(group_options, columns=2),
                 save=_save_group),
            Step("EXISTING", _existing_prompt, Choice(_existing_options), save=_save_existing),
        ),
        finish=_finish,
    )
)


# --- assisted registration (/dangkyho): see handlers.households_assisted -----------


ASSISTED = router.flow(
    Flow(
        name="household_assisted",
        title_key="households.assist_title",
        steps=(
            assist.CONSENT,
            assist.GROUP,
            REGISTRATION.step("NAME"),
            REGISTRATION.step("ADDRESS"),
            assist.PHONE,
            *(REGISTRATION.step(name) for name in ("MEMBERS", "CAMPAIGNS", "CONFIRM", "EDIT",
                                                   "EXISTING")),
        ),
        finish=_finish,
    )
)


# --- commands ----------------------------------------------------------------------


@router.command("dangky", "register", menu="households.menu", order=10,
                phrases=("đăng ký", "đăng ký hộ", "dang ky ho gia dinh", "đăng ký hộ gia đình"))
async def register(ctx: Context) -> list[Reply]:
    """Start (or pick up) registering a household."""
    group = ctx.resident.group_code if ctx.resident else ctx.ward.groups[0].code
    return await flows.start(ctx, REGISTRATION, data={"group": group})


@router.command("hocuatoi", "myhousehold", menu="households.my_menu", order=11,
                phrases=("hộ của tôi", "hộ gia đình của tôi", "my household"))
async def my_household(ctx: Context) -> list[Reply]:
    """The households this resident registered, with this year's campaigns."""
    mine = await households.for_resident(ctx.session, ctx.resident.id) if ctx.resident else []
    if not mine:
        button = Button(ctx.t("households.register_button"), "cmd:dangky")
        return [Reply(text=ctx.t("households.none"), buttons=((button,),))]
    year = this_year(ctx)
    pledges = await households.pledges_for(ctx.session, [h.id for h in mine], year)
    parts, rows = [ctx.t("households.mine_title")], []
    for household in mine:
        fields = {
            "name": household.head_name,
            "address": household.address,
            "group": household.group_code,
            "phone": display_phone(household.phone),
            "members": household.members,
        }
        pledge = pledges.get(household.id)
        if pledge is None:
            joined = ctx.t("households.mine_no_pledge", year=year)
        else:
            joined = ctx.t("households.mine_pledge", year=year, count=len(pledge.campaigns),
                           date=local_date(pledge.pledged_at),
                           campaigns=_campaign_lines(ctx, pledge.campaigns))
        parts.append(f"{card(ctx, fields)}\n{joined}")
        label = (ctx.t("households.update_button") if len(mine) == 1
                 else ctx.t("households.update_named", name=household.head_name))
        rows.append((Button(label, f"cmd:capnhatho:{household.id}"),))
    return [Reply(text="\n\n".join(parts), buttons=tuple(rows))]


@router.command("capnhatho", "updatehousehold")
async def update_household(ctx: Context) -> list[Reply]:
    """Open one's registered household at the summary, to change and confirm it again."""
    mine = await households.for_resident(ctx.session, ctx.resident.id) if ctx.resident else []
    wanted = ctx.incoming.args[0] if ctx.incoming.args else None
    if wanted is None and len(mine) == 1:
        wanted = str(mine[0].id)
    household = next((h for h in mine if str(h.id) == wanted), None)
    if household is None:
        return await my_household(ctx)
    pledge = await households.pledge(ctx.session, household.id, this_year(ctx))
    if pledge is None:
        pledge = await households.latest_pledge(ctx.session, household.id)
    data = {
        "household_id": household.id,
        "group": household.group_code,
        "name": household.head_name,
        "address": household.address,
        "phone": household.phone,
        "members": household.members,
        "campaigns": list(pledge.campaigns) if pledge else [],
        "consent_at": household.consent_at.isoformat(),
    }
    return await flows.start(ctx, REGISTRATION, data=data, at="CONFIRM")


@router.command("dangkyho", "registerfor", roles=STAFF, menu="households.assist_menu", order=41,
                phrases=("đăng ký giúp", "đăng ký giúp hộ", "đăng ký hộ giúp"))
async def register_for(ctx: Context) -> list[Reply]:
    """A leader registers a household for its head; a group may follow the command."""
    data = await assist.opening(ctx)
    if isinstance(data, list):
        return data
    return await flows.start(ctx, ASSISTED, data=data)
