"""SQL statements per update, counted on the real core (a probe, not a timing).

    .venv/bin/python bench/sql_count.py [--postgres URL] [-v]

A resident joins, opens the menu and help, and answers the ward survey, through the
dispatcher on a fresh SQLite file (or an empty PostgreSQL database, wiped). For each
update: the statements sent to the database, BEGIN and COMMIT included; `-v` prints
them. Fewer statements per update is what the ingest benchmark rewards most, since each
costs a round trip through SQLAlchemy and the driver.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.dispatcher import Dispatcher  # noqa: E402
from bot.registry import Registry  # noqa: E402
from bot.settings import DEFAULT_WARD_CONFIG  # noqa: E402
from bot.ward import load_ward_config  # noqa: E402
from handlers import ROUTERS  # noqa: E402
from storage import make_engine, make_sessionmaker  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.fake_channel import FakeChannel  # noqa: E402


async def count(url: str, verbose: bool) -> list[tuple[str, int]]:
    """(step, statements) for each update of the script."""
    engine = make_engine(url)
    await upgrade(engine)
    seen: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _statement(conn, cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(" ".join(statement.split())[:110])

    @event.listens_for(engine.sync_engine, "commit")
    def _commit(conn) -> None:  # type: ignore[no-untyped-def]
        seen.append("COMMIT")

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn) -> None:  # type: ignore[no-untyped-def]
        if not url.startswith("sqlite"):
            seen.append("BEGIN (implicit)")

    dispatcher = Dispatcher(make_sessionmaker(engine), Registry(ROUTERS),
                            load_ward_config(DEFAULT_WARD_CONFIG))
    chat = FakeChannel(dispatcher, user_id="9001", channel="telegram")
    steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("/batdau", lambda: chat.say("/batdau")),
        ("press: agree", lambda: chat.press("Tôi đồng ý")),
        ("text: to 7", lambda: chat.say("to 7")),
        ("/menu", lambda: chat.say("/menu")),
        ("/trogiup", lambda: chat.say("/trogiup")),
        ("/khaosat", lambda: chat.say("/khaosat")),
    ]
    rows = []
    for name, step in steps:
        seen.clear()
        await step()
        rows.append((name, len(seen)))
        if verbose:
            print(f"{name}:", *(f"    {s}" for s in seen), sep="\n")
    for number in range(1, 6):
        seen.clear()
        labels = chat.labels()
        if not labels:
            break
        await chat.press(labels[0])
        rows.append((f"survey press {number}", len(seen)))
        if verbose:
            print(f"survey press {number}:", *(f"    {s}" for s in seen), sep="\n")
    await engine.dispose()
    return rows


def main() -> None:
    """Count, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="an empty PostgreSQL database the probe may wipe")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the statements")
    options = parser.parse_args()
    if options.postgres:
        from bench.processes import reset_postgres

        asyncio.run(reset_postgres(options.postgres))
        url = options.postgres
    else:
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='thidua-sql-')}/count.db"
    rows = asyncio.run(count(url, options.verbose))
    for name, statements in rows:
        print(f"{name:<16} {statements:>3}")
    print(f"{'mean':<16} {sum(n for _, n in rows) / len(rows):>5.1f}")


if __name__ == "__main__":
    main()
