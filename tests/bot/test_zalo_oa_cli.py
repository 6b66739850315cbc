"""`thidua zalo-oa connect|status` run for real, against the loopback fake of Zalo's OAuth."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.channels.zalo_oa.callback import add_callback_route
from bot.settings import load_settings
from bot.zalo_oa_cli import parse_pasted
from storage import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.repos import zalo_oa_tokens as repo
from tests.fakes.zalo_oauth import FakeZaloOAuth

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def fake() -> AsyncIterator[FakeZaloOAuth]:
    """Zalo's OAuth server on loopback."""
    async with FakeZaloOAuth() as server:
        yield server


def environment(database_url: str, fake: FakeZaloOAuth, **extra: str) -> dict[str, str]:
    """The operator's environment: only our THIDUA_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
    env.update(
        THIDUA_DATABASE_URL=database_url,
        THIDUA_ZALO_OA_APP_ID=fake.app_id,
        THIDUA_ZALO_OA_APP_SECRET=fake.secret,
        THIDUA_ZALO_OA_OAUTH_URL=fake.url,
        THIDUA_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


async def thidua(
    *args: str, env: dict[str, str], cwd: Path
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        env=env, cwd=cwd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def read_link(process: asyncio.subprocess.Process, fake: FakeZaloOAuth) -> str:
    """The permission link the command prints."""
    assert process.stdout is not None
    while line := (await asyncio.wait_for(process.stdout.readline(), 60)).decode():
        if line.startswith(fake.url):
            return line.strip()
    raise AssertionError("no permission link printed")


async def finish(process: asyncio.subprocess.Process) -> tuple[int, str, str]:
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize(
    "line",
    [
        "https://ward.example/zalo-oa/callback?code=abc&state=s1&oa_id=42",
        "  ?code=abc&state=s1&oa_id=42\n",
    ],
)
def test_a_pasted_address_gives_code_state_and_oa(line: str) -> None:
    assert parse_pasted(line) == ("abc", "s1", "42")


def test_a_pasted_code_alone() -> None:
    assert parse_pasted(" abc-123 \n") == ("abc-123", None, None)


async def test_connect_by_pasting_the_address_then_status(
    database_url: str, fake: FakeZaloOAuth, tmp_path: Path
) -> None:
    env = environment(database_url, fake)
    process = await thidua(
        "zalo-oa", "connect", "--paste",
        "--redirect-uri", "https://ward.example/zalo-oa/callback",
        env=env, cwd=tmp_path,
    )
    link = await read_link(process, fake)
    assert "code_challenge=" in link and "state=" in link
    # The officer approves; the browser cannot reach the callback, so they paste the address.
    landing = fake.approve_link(link)
    assert process.stdin is not None
    process.stdin.write(landing.encode() + b"\n")
    code, out, err = await finish(process)

    assert code == 0, err
    assert f"Đã kết nối Zalo OA {fake.oa_id}" in out
    assert f"OA id: {fake.oa_id}; access token expires" in out
    assert fake.exchanges == 1
    engine = make_engine(database_url)
    async with make_sessionmaker(engine)() as session:
        row = await repo.get(session)
    await engine.dispose()
    assert row is not None and row.access_token in fake.issued_access_tokens

    status = await thidua("zalo-oa", "status", env=env, cwd=tmp_path)
    code, out, err = await finish(status)
    assert code == 0, err
    assert f"Zalo OA {fake.oa_id}: connected" in out
    assert row.access_token not in out and row.refresh_token not in out


async def test_connect_waits_for_the_callback(
    database_url: str, fake: FakeZaloOAuth, tmp_path: Path
) -> None:
    """The usual way: the officer's browser comes back to our server; the CLI sees it."""
    engine = make_engine(database_url)
    await upgrade(engine)
    settings = load_settings(
        database_url=database_url, zalo_oa_oauth_url=fake.url,
        zalo_oa_app_id=fake.app_id, zalo_oa_app_secret=fake.secret,
    )
    app = web.Application()
    add_callback_route(app, make_sessionmaker(engine), settings)
    async with TestServer(app, host="127.0.0.1") as server:
        public_url = str(server.make_url("/")).rstrip("/")
        env = environment(database_url, fake, THIDUA_PUBLIC_URL=public_url)
        process = await thidua("zalo-oa", "connect", env=env, cwd=tmp_path)
        link = await read_link(process, fake)
        assert "redirect_uri=" + public_url.replace(":", "%3A").replace("/", "%2F") in link
        async with aiohttp.ClientSession() as browser, browser.get(link) as page:
            assert page.status == 200
            assert "Đã kết nối" in await page.text()
        code, out, err = await finish(process)
    await engine.dispose()
    assert code == 0, err
    assert f"Đã kết nối Zalo OA {fake.oa_id}" in out


async def test_connect_needs_the_app_id_and_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
    env["PYTHONPATH"] = str(ROOT)
    process = await thidua("zalo-oa", "connect", env=env, cwd=tmp_path)
    code, out, err = await finish(process)
    assert code == 2
    assert err.strip().count("\n") == 0 and "THIDUA_ZALO_OA_APP_ID" in err
