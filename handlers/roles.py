"""Roles in chat: /maquyen claims an invite; officers invite and revoke group leaders.

/moitotruong -> GROUP -> a one-time code to hand to the new leader
/thuhoi      -> LEADER -> CONFIRM -> role removed, the leader is told
"""

from __future__ import annotations

from typing import Any

from bot import flows
from bot.context import Context
from bot.events import Button, Reply
from bot.flows import Flow, Step
from bot.inputs import Choice, Option
from bot.normalize import local_date, local_datetime
from bot.outbox import notify_resident
from bot.registry import JOINED, OFFICERS, Router
from handlers import common, role_service
from handlers.consent import confirm_step
from handlers.onboarding import group_options
from storage.repos import roles

router = Router()

ROLE_KEYS = {
    "leader": "roles.name_leader",
    "officer": "roles.name_officer",
    "admin": "roles.name_admin",
}


def role_title(ctx: Context, role: str, group_code: str | None) -> str:
    """'Tổ trưởng Tổ dân phố 5', 'Cán bộ phường', ..."""
    name = ctx.t(ROLE_KEYS.get(role, "roles.name_leader"))
    group = ctx.ward.group(group_code) if group_code else None
    return f"{name} {group.name}" if group else name


@router.command("maquyen", "claim", roles=JOINED, phrases=("mã quyền", "nhập mã"))
async def claim(ctx: Context) -> list[Reply]:
    """Claim a role with a one-time code: /maquyen ABCDE-FGHJK."""
    if not ctx.incoming.args:
        return [Reply(text=ctx.t("roles.claim_how"))]
    assert ctx.resident is not None
    try:
        claimed = await role_service.claim(
            ctx.session,
            code=ctx.incoming.args[0],
            resident_id=ctx.resident.id,
            at=ctx.now(),
            label=ctx.incoming.display_name,
        )
    except role_service.RoleError as problem:
        return [Reply(text=ctx.t(problem.key))]
    ctx.role = max(ctx.role, claimed.role, key=("resident", "leader", "officer", "admin").index)
    if claimed.group_code:
        ctx.groups = ctx.groups | {claimed.group_code}
    text = ctx.t("roles.claimed", title=role_title(ctx, claimed.role, claimed.group_code))
    return [Reply(text=text), *common.menu(ctx)]


@router.command("phanquyen", "roles", roles=OFFICERS, menu="menu.roles", order=58)
async def overview(ctx: Context) -> list[Reply]:
    """Who holds which role, with buttons to invite or revoke leaders."""
    lines = [ctx.t("roles.overview_title")]
    for role in ("leader", "officer", "admin"):
        for holder in await roles.holders(ctx.session, role):
            lines.append(
                ctx.t(
                    "roles.overview_line",
                    title=role_title(ctx, role, holder.group_code),
                    who=holder.label or f"#{holder.resident_id}",
                    since=local_date(holder.granted_at),
                )
            )
    if len(lines) == 1:
        lines.append(ctx.t("roles.overview_empty"))
    buttons = (
        (Button(ctx.t("roles.invite_button"), "cmd:moitotruong"),),
        (Button(ctx.t("roles.revoke_button"), "cmd:thuhoi"),),
    )
    return [Reply(text="\n".join(lines), buttons=buttons)]


async def _invite_finish(ctx: Context, data: dict[str, Any]) -> list[Reply]:
    code, expires = await role_service.invite(
        ctx.session, role="leader", group_code=data["group"], actor=ctx.actor, at=ctx.now()
    )
    text = ctx.t(
        "roles.invite_created",
        code=code,
        title=role_title(ctx, "leader", data["group"]),
        expires=local_datetime(expires),
    )
    return [Reply(text=text), *common.menu(ctx)]


INVITE = router.flow(
    Flow(
        name="invite_leader",
        title_key="roles.invite_title",
        steps=(
            Step(
                "GROUP",
                lambda ctx, data: ctx.t("roles.invite_group"),
                Choice(group_options, columns=2),
            ),
        ),
        finish=_invite_finish,
    )
)


@router.command("moitotruong", "inviteleader", roles=OFFICERS)
async def invite_leader(ctx: Context) -> list[Reply]:
    """A one-time code that makes whoever claims it the leader of a group."""
    return await flows.start(ctx, INVITE)


def _leader_options(ctx: Context, data: dict[str, Any]) -> list[Option]:
    return [Option(str(grant_id), label) for grant_id, label in data.get("leaders", [])]


async def _revoke_finish(ctx: Context, data: dict[str, Any]) -> list[Reply]:
    if not data.get("confirmed"):
        return [Reply(text=ctx.t("roles.revoke_kept")), *common.menu(ctx)]
    grant = next(
        (g for g in await roles.holders(ctx.session, "leader") if str(g.id) == data["leader"]),
        None,
    )
    if grant is None:
        return [Reply(text=ctx.t("roles.revoke_gone")), *common.menu(ctx)]
    await role_service.revoke(
        ctx.session,
        resident_id=grant.resident_id,
        role="leader",
        group_code=grant.group_code,
        actor=ctx.actor,
        at=ctx.now(),
    )
    title = role_title(ctx, "leader", grant.group_code)
    await notify_resident(
        ctx.session,
        grant.resident_id,
        Reply(text=ctx.t("roles.revoked_notice", title=title)),
        key=f"role-revoked:{grant.id}:{ctx.now().isoformat()}",
        kind="notification",
    )
    return [Reply(text=ctx.t("roles.revoked", title=title)), *common.menu(ctx)]


REVOKE = router.flow(
    Flow(
        name="revoke_leader",
        title_key="roles.revoke_title",
        steps=(
            Step("LEADER", lambda ctx, data: ctx.t("roles.revoke_which"), Choice(_leader_options)),
            confirm_step(
                lambda ctx, data: ctx.t("roles.revoke_confirm"),
                "roles.revoke_yes",
                "roles.revoke_no",
                yes_words=("có", "đồng ý", "yes", "thu hồi"),
            ),
        ),
        finish=_revoke_finish,
    )
)


@router.command("thuhoi", "revoke", roles=OFFICERS)
async def revoke_leader(ctx: Context) -> list[Reply]:
    """Take the leader role away from someone."""
    leaders = [
        [
            str(g.id),
            f"{role_title(ctx, 'leader', g.group_code)} · {g.label or '#' + str(g.resident_id)}",
        ]
        for g in await roles.holders(ctx.session, "leader")
    ]
    if not leaders:
        return [Reply(text=ctx.t("roles.no_leaders")), *common.menu(ctx)]
    return await flows.start(ctx, REVOKE, data={"leaders": leaders})
