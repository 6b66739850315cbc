"""Command-line administration: roles and invites (bootstrap before anyone is an officer)."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.normalize import local_datetime
from bot.settings import Settings
from bot.ward import WardConfig
from handlers import role_service
from storage import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.repos import roles

CLI_ACTOR = "cli"
COMMANDS = ("grant", "revoke", "invite", "roles")


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add grant, revoke, invite and roles to the `thidua` parser."""
    for name, helptext in (
        ("grant", "give a role to a chat user"),
        ("revoke", "take a role away from a chat user"),
    ):
        sub = commands.add_parser(name, help=helptext)
        sub.add_argument("--channel", required=True, choices=["telegram", "zalo", "webchat"])
        sub.add_argument("--user", required=True, help="the platform's user id")
        sub.add_argument("--role", required=True, choices=role_service.ROLES)
        sub.add_argument("--group", help="residential group code (leaders)")
    invite = commands.add_parser("invite", help="print a one-time code that gives a role")
    invite.add_argument("--role", required=True, choices=role_service.ROLES)
    invite.add_argument("--group", help="residential group code (leaders)")
    invite.add_argument("--hours", type=int, default=72, help="valid for (default 72)")
    commands.add_parser("roles", help="list who holds which role")


async def run(args: argparse.Namespace, settings: Settings, ward: WardConfig) -> int:
    """Run one admin command; returns the exit code."""
    if getattr(args, "group", None) and ward.group(args.group) is None:
        print(f"thidua: the ward has no residential group {args.group!r}")
        return 2
    actions: dict[str, Callable[[AsyncSession], Awaitable[int]]] = {
        "grant": lambda s: _grant(s, args, revoke=False),
        "revoke": lambda s: _grant(s, args, revoke=True),
        "invite": lambda s: _invite(s, args),
        "roles": _list,
    }
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
        async with make_sessionmaker(engine)() as session, session.begin():
            return await actions[args.command](session)
    except role_service.RoleError as problem:
        print("thidua: " + texts.t(problem.key, "en", **problem.params))
        return 2
    finally:
        await engine.dispose()


async def _grant(session: AsyncSession, args: argparse.Namespace, *, revoke: bool) -> int:
    resident_id = await roles.resident_by_account(session, args.channel, args.user)
    if resident_id is None:
        print(
            f"thidua: no resident has joined from {args.channel} user {args.user}; "
            "they must send /start and agree first"
        )
        return 1
    change = role_service.revoke if revoke else role_service.grant
    changed = await change(
        session,
        resident_id=resident_id,
        role=args.role,
        group_code=args.group,
        actor=CLI_ACTOR,
        at=datetime.now(UTC),
    )
    verb = "revoked" if revoke else "granted"
    print(
        f"{args.role} {verb} for {args.channel} user {args.user}"
        if changed
        else f"nothing to do: {args.channel} user {args.user} "
        f"{'does not hold' if revoke else 'already holds'} {args.role}"
    )
    return 0


async def _invite(session: AsyncSession, args: argparse.Namespace) -> int:
    code, expires = await role_service.invite(
        session,
        role=args.role,
        group_code=args.group,
        actor=CLI_ACTOR,
        at=datetime.now(UTC),
        valid_for=timedelta(hours=args.hours),
    )
    print(code)
    print(
        f"Send it to the person; they type /maquyen {code} in the chat. "
        f"One use, valid until {local_datetime(expires)} (Asia/Ho_Chi_Minh)."
    )
    return 0


async def _list(session: AsyncSession) -> int:
    found = False
    for role in role_service.ROLES:
        for grant in await roles.holders(session, role):
            found = True
            print(
                f"{role:8} group={grant.group_code or '-':4} resident={grant.resident_id} "
                f"{grant.label or ''} since {local_datetime(grant.granted_at)}"
            )
    if not found:
        print("nobody holds a role yet")
    return 0
