"""Shared fixtures: a migrated database (SQLite always, PostgreSQL when a URL is given)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.dispatcher import Dispatcher
from bot.registry import Registry
from bot.settings import DEFAULT_WARD_CONFIG
from bot.ward import WardConfig, load_ward_config
from handlers import ROUTERS
from storage import make_engine, make_sessionmaker
from storage.migrate import upgrade
from tests.fake_channel import FakeChannel

POSTGRES_URL = os.environ.get("THIDUA_TEST_DATABASE_URL")

# Scripted conversations answer faster than any person types, so flood control is off
# for apps built from the settings; tests/reliability/test_flood.py sets its own limits.
os.environ.setdefault("THIDUA_FLOOD_PER_SECOND", "0")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without THIDUA_TEST_DATABASE_URL the PostgreSQL tests are skipped, never failed."""
    if POSTGRES_URL:
        return
    skip = pytest.mark.skip(reason="set THIDUA_TEST_DATABASE_URL to run PostgreSQL tests")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


async def reset_postgres(url: str) -> None:
    """Drop everything in the test database so each test starts empty."""
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty database of each backend."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/thidua.db"
    assert POSTGRES_URL, "PostgreSQL tests need THIDUA_TEST_DATABASE_URL"
    await reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file in the test's own folder."""
    return f"sqlite+aiosqlite:///{tmp_path}/thidua.db"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated engine on each backend."""
    engine = make_engine(database_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on the migrated engine."""
    return make_sessionmaker(engine)


@pytest.fixture(scope="session")
def ward() -> WardConfig:
    """The default ward (An Hải)."""
    return load_ward_config(DEFAULT_WARD_CONFIG)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """A controllable clock starting at 10:00 on 24/11/2026 in Hải Phòng."""
    return Clock()


@pytest.fixture
def dispatcher(
    sessionmaker: async_sessionmaker[AsyncSession], ward: WardConfig, clock: Clock
) -> Dispatcher:
    """The real core on the test database."""
    return Dispatcher(sessionmaker, Registry(ROUTERS), ward, clock=clock)


@pytest.fixture
def make_chat(dispatcher: Dispatcher) -> Callable[..., FakeChannel]:
    """Make more residents' chats on the same core."""

    def make(user_id: str = "u1", **kwargs: object) -> FakeChannel:
        return FakeChannel(dispatcher, user_id=user_id, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def chat(make_chat: Callable[..., FakeChannel]) -> FakeChannel:
    """One resident's chat."""
    return make_chat()



def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Say how many PostgreSQL tests passed, so CI can insist they ran."""
    passed = [
        report
        for report in terminalreporter.stats.get("passed", [])
        if report.when == "call" and "postgres" in report.keywords
    ]
    terminalreporter.write_line(f"PostgreSQL tests passed: {len(passed)}")


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
