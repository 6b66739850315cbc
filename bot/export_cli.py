"""`thidua export surveys|registrations|nominations --format csv|xlsx|png -o FILE`.

The command line acts as an administrator ("cli" in the audit log): it may export
everything, narrowed with --survey, --year and --group.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot import texts
from bot.exports import FORMATS, KINDS, ExportError, ExportRequest, build_export, discard
from bot.settings import Settings
from bot.ward import WardConfig
from storage import make_engine, make_sessionmaker
from storage.migrate import upgrade

CLI_ACTOR = "cli"
COMMANDS: tuple[str, ...] = ("export",)


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `export` to the `thidua` parser."""
    parser = commands.add_parser(
        "export", help="export survey results, registrations or nominations (CSV, XLSX, PNG)")
    parser.add_argument("export_kind", metavar="KIND", choices=KINDS,
                        help="surveys, registrations or nominations")
    parser.add_argument("--format", dest="export_format", choices=FORMATS, default="xlsx",
                        help="csv, xlsx (default) or png")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the file to write")
    parser.add_argument("--survey", type=int, help="the survey's id (default: the open one)")
    parser.add_argument("--year", type=int, help="the year (default: this year)")
    parser.add_argument("--group", dest="export_groups", action="extend", nargs="+",
                        metavar="GROUP", help="residential group codes, e.g. 05 07 (default: all)")


async def run(args: argparse.Namespace, settings: Settings, ward: WardConfig) -> int:
    """Write one export to the output file; returns the exit code."""
    request = ExportRequest(
        args.export_kind, args.export_format, year=args.year, survey_id=args.survey,
        groups=tuple(args.export_groups) if args.export_groups else None,
    )
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
        async with make_sessionmaker(engine)() as session, session.begin():
            try:
                attachment = await build_export(
                    session, request, ward=ward, role="admin", now=datetime.now(UTC),
                    actor=CLI_ACTOR)
            except ExportError as problem:
                print("thidua: " + texts.t(problem.key, "en", **problem.params), file=sys.stderr)
                return 2
    finally:
        await engine.dispose()
    output: Path = args.output
    try:
        if isinstance(attachment.content, Path):
            shutil.move(attachment.content, output)
        else:
            output.write_bytes(attachment.content)
    except OSError as problem:
        discard(attachment)
        print(f"thidua: cannot write {output}: {problem.strerror}", file=sys.stderr)
        return 1
    print(f"{output}: {attachment.caption}")
    return 0
