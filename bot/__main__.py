"""The `thidua` command line: serve, migrate."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot import __version__, admin_cli, export_cli, reminders_cli, worker_cli, zalo_oa_cli
from bot.settings import Settings, SettingsError, load_settings
from bot.ward import WardConfigError, load_ward_config

logger = logging.getLogger("thidua")
CLI_MODULES = (admin_cli, worker_cli, reminders_cli, export_cli, zalo_oa_cli)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="thidua",
        description="thidua-bot: the ward's emulation-campaign chatbot. "
        "Settings come from THIDUA_* environment variables or a .env file.",
    )
    parser.add_argument("--version", action="version", version=f"thidua-bot {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the bot: web chat, webhooks, enabled channels")
    serve.add_argument("--host", help="override THIDUA_HOST")
    serve.add_argument("--port", type=int, help="override THIDUA_PORT")
    commands.add_parser("migrate", help="apply database migrations and exit")
    commands.add_parser("check", help="validate settings and the ward file, then exit")
    for module in CLI_MODULES:
        module.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    overrides = {k: v for k in ("host", "port") if (v := getattr(args, k, None)) is not None}
    try:
        settings = load_settings(**overrides)
        ward = load_ward_config(settings.ward_config)
    except (SettingsError, WardConfigError) as problem:
        print(f"thidua: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    if args.command == "check":
        print(f"OK: {ward.ward.name}, {len(ward.groups)} groups, database {_safe_url(settings)}")
        return 0
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    for module in CLI_MODULES:
        if args.command in module.COMMANDS:
            return asyncio.run(module.run(args, settings, ward))
    return _serve(settings)


async def _migrate(settings: Settings) -> int:
    from storage import make_engine
    from storage.migrate import upgrade

    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
    except OSError as exc:
        print(f"thidua: cannot reach the database: {exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(f"Database is up to date ({_safe_url(settings)}).")
    return 0


def _serve(settings: Settings) -> int:
    from aiohttp import web

    from bot.app import build_app

    app = build_app(settings)
    print(f"thidua-bot: web chat at http://{settings.host}:{settings.port}/ (Ctrl+C to stop)")
    from bot.channels.telegram import TelegramStartError
    from bot.channels.zalo import ZaloStartError

    try:
        web.run_app(app, host=settings.host, port=settings.port, print=None)
    except OSError as exc:
        print(f"thidua: cannot start the server: {exc}", file=sys.stderr)
        return 1
    except (TelegramStartError, ZaloStartError) as exc:
        print(f"thidua: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
