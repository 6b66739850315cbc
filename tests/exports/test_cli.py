"""`thidua export`: the same files from the command line, audited as "cli"."""

from __future__ import annotations

import argparse

import openpyxl
import pytest
from sqlalchemy import select

from bot import export_cli
from bot.settings import load_settings
from bot.ward import WardConfig
from storage.models.roles import AuditEntry
from tests.exports.files import png_size
from tests.exports.seed import seed_households, seed_survey, small_ward


@pytest.fixture(scope="module")
def ward() -> WardConfig:
    return small_ward()


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="thidua")
    export_cli.add_commands(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


async def test_export_to_a_file_with_filters(database_url, sessionmaker, ward, tmp_path,
                                             capsys):
    survey_id = await seed_survey(sessionmaker, ward)
    await seed_households(sessionmaker)
    settings = load_settings(database_url=database_url)
    out = tmp_path / "khảo sát.xlsx"
    args = parse("export", "surveys", "--format", "xlsx", "-o", str(out),
                 "--survey", str(survey_id), "--group", "05", "7")
    assert args.command in export_cli.COMMANDS
    assert await export_cli.run(args, settings, ward) == 0
    book = openpyxl.load_workbook(out)
    assert len(list(book["Phiếu trả lời"].iter_rows())) == 1 + 120
    assert "khảo sát.xlsx: Kết quả khảo sát" in capsys.readouterr().out

    png = tmp_path / "dang-ky.png"
    args = parse("export", "registrations", "--format", "png", "-o", str(png), "--year", "2026")
    assert await export_cli.run(args, settings, ward) == 0
    assert png_size(png.read_bytes())[0] == 1080

    async with sessionmaker() as session:
        entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    assert [(e.actor, e.target, e.details["format"]) for e in entries] == [
        ("cli", "surveys", "xlsx"), ("cli", "registrations", "png")]
    assert entries[0].details["groups"] == ["05", "07"]


async def test_mistakes_are_one_line_and_exit_2(database_url, sessionmaker, ward, tmp_path,
                                                capsys):
    settings = load_settings(database_url=database_url)
    args = parse("export", "surveys", "--format", "csv", "-o", str(tmp_path / "x.csv"))
    assert await export_cli.run(args, settings, ward) == 2
    assert capsys.readouterr().err == "thidua: There is no survey to export yet.\n"
    await seed_survey(sessionmaker, ward)
    args = parse("export", "nominations", "-o", str(tmp_path / "x.xlsx"), "--group", "99")
    assert await export_cli.run(args, settings, ward) == 2
    assert "There is no group “99”" in capsys.readouterr().err
    assert not (tmp_path / "x.xlsx").exists()
    with pytest.raises(SystemExit):
        parse("export", "households", "-o", "x.csv")
