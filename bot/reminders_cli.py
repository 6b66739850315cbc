"""`thidua reminders list|add|pause|resume|delete`: reminder rules from the command line."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.settings import Settings
from bot.ward import WardConfig
from handlers import reminder_rules as rules
from handlers import reminder_service as service
from storage import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models.reminders import ACTIVE, DELETED, PAUSED, ReminderRule
from storage.repos import reminders

CLI_ACTOR = "cli"
COMMANDS: tuple[str, ...] = ("reminders",)
_STATUS = {"pause": PAUSED, "resume": ACTIVE, "delete": DELETED}


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `reminders` and its actions to the `thidua` parser."""
    parser = commands.add_parser("reminders", help="list, add, pause, resume or delete reminders")
    actions = parser.add_subparsers(dest="reminders_action", metavar="ACTION", required=True)
    actions.add_parser("list", help="the reminder rules with their next send")
    add = actions.add_parser("add", help="add a reminder rule")
    add.add_argument("--name", required=True)
    add.add_argument("--cron", required=True,
                     help='minute hour day month weekday, Asia/Ho_Chi_Minh: "0 9 1 * *"')
    add.add_argument("--audience", default="reminders",
                     help="reminders (default), unregistered, no_survey or campaign:<code>")
    add.add_argument("--message", required=True, help="placeholders: {ten} {to} {han}")
    add.add_argument("--groups", help="residential group codes, e.g. 01,05 (default: all)")
    add.add_argument("--deadline", help="dd/mm/yyyy, fills {han}")
    for name, helptext in (("pause", "pause a rule"), ("resume", "resume a paused rule"),
                           ("delete", "delete a rule")):
        action = actions.add_parser(name, help=helptext)
        action.add_argument("rule", help="the rule's id (see `thidua reminders list`) or name")


async def run(args: argparse.Namespace, settings: Settings, ward: WardConfig) -> int:
    """Run one reminders action; returns the exit code."""
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
        async with make_sessionmaker(engine)() as session, session.begin():
            if args.reminders_action == "list":
                return await _list(session)
            if args.reminders_action == "add":
                return await _add(session, args, ward)
            return await _change(session, args.rule, _STATUS[args.reminders_action])
    except service.RuleError as problem:
        print("thidua: " + texts.t(problem.key, "en", **problem.params))
        return 2
    finally:
        await engine.dispose()


def _line(rule: ReminderRule) -> str:
    upcoming = rules.next_fires(rule.cron, datetime.now(UTC), count=1)
    following = rules.when(upcoming[0]) if upcoming and rule.status == ACTIVE else "-"
    last = rules.when(rule.last_fired_at) if rule.last_fired_at else "never"
    groups = ",".join(rule.groups) if rule.groups else "all"
    return (
        f"{rule.id:>3}  {rule.status:7} {rule.name}\n"
        f"     cron {rule.cron!r} ({rules.describe(rule.cron, 'en')}), audience {rule.audience}, "
        f"groups {groups}, next {following}, last {last}"
    )


async def _list(session: AsyncSession) -> int:
    found = await reminders.live(session)
    for rule in found:
        print(_line(rule))
    if not found:
        print("no reminder rules yet")
    return 0


async def _add(session: AsyncSession, args: argparse.Namespace, ward: WardConfig) -> int:
    deadline = None
    if args.deadline:
        try:
            deadline = rules.parse_date(args.deadline)
        except ValueError:
            print(f"thidua: --deadline {args.deadline!r}: write dd/mm/yyyy, e.g. 31/12/2026")
            return 2
    groups = [code.strip() for code in args.groups.split(",") if code.strip()] if args.groups \
        else None
    rule = await service.add(
        session,
        ward,
        name=args.name,
        cron=args.cron,
        audience=args.audience,
        groups=groups,
        message=args.message,
        deadline=deadline,
        actor=CLI_ACTOR,
        at=datetime.now(UTC),
    )
    print("added:")
    print(_line(rule))
    return 0


async def _change(session: AsyncSession, wanted: str, status: str) -> int:
    rule = await reminders.get(session, int(wanted)) if wanted.isdigit() else None
    if rule is None:
        rule = await reminders.by_name(session, wanted)
    if rule is None or rule.status == DELETED:
        print(f"thidua: no reminder rule {wanted!r}; see `thidua reminders list`")
        return 1
    changed = await service.set_status(session, rule, status, actor=CLI_ACTOR,
                                       at=datetime.now(UTC))
    print(f"{rule.name}: {status}" if changed else f"nothing to do: {rule.name} is {status}")
    return 0
