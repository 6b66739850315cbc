"""`thidua zalo-oa connect|status`: connect the ward's Zalo Official Account, or check it.

`connect` stores a pending request (state + PKCE verifier, 10 minutes), prints Zalo's
permission link, and waits: the officer approves in the browser and Zalo sends it to our
server's /zalo-oa/callback, which stores the token pair; with `--paste` the officer may
instead paste the code (or the whole address Zalo sent the browser to) here.
`status` never prints a token.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import texts
from bot.channels.zalo_oa import connect
from bot.normalize import local_datetime
from bot.settings import Settings
from bot.ward import WardConfig
from storage import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.repos import zalo_oa_tokens as repo

COMMANDS: tuple[str, ...] = ("zalo-oa",)
CLI_ACTOR = "cli"
POLL_SECONDS = 1.0
# A code exchange under way when the link expires gets this long to finish.
EXCHANGE_GRACE = timedelta(minutes=2)


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `zalo-oa` and its actions to the `thidua` parser."""
    parser = commands.add_parser("zalo-oa", help="connect the ward's Zalo Official Account")
    actions = parser.add_subparsers(dest="zalo_oa_action", metavar="ACTION", required=True)
    start = actions.add_parser("connect", help="connect the OA (Zalo OAuth v4 with PKCE)")
    start.add_argument(
        "--paste", action="store_true",
        help="also accept the code, or the address Zalo redirected to, typed here",
    )
    start.add_argument(
        "--redirect-uri",
        help="where Zalo sends the browser back (default: THIDUA_PUBLIC_URL/zalo-oa/callback); "
        "it must match the callback URL saved for the app on developers.zalo.me",
    )
    actions.add_parser("status", help="is the OA connected, until when (no tokens shown)")


async def run(args: argparse.Namespace, settings: Settings, ward: WardConfig) -> int:
    """Run one zalo-oa action; returns the exit code."""
    if args.zalo_oa_action == "connect":
        problem = _cannot_connect(settings, args.redirect_uri)
        if problem:
            print(f"thidua: {problem}", file=sys.stderr)
            return 2
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
        maker = make_sessionmaker(engine)
        if args.zalo_oa_action == "status":
            return await _status(maker, settings)
        redirect_uri = args.redirect_uri or f"{settings.public_url}/zalo-oa/callback"
        return await _connect(maker, settings, redirect_uri, paste=args.paste)
    finally:
        await engine.dispose()


def _cannot_connect(settings: Settings, redirect_uri: str | None) -> str | None:
    if not settings.zalo_oa_app_id or settings.zalo_oa_app_secret is None:
        return (
            "set THIDUA_ZALO_OA_APP_ID and THIDUA_ZALO_OA_APP_SECRET "
            "(the Zalo app's id and secret key from developers.zalo.me) first"
        )
    if not redirect_uri and not settings.public_url:
        return "set THIDUA_PUBLIC_URL (where Zalo can reach this server) or pass --redirect-uri"
    if redirect_uri and not redirect_uri.startswith(("http://", "https://")):
        return f"--redirect-uri {redirect_uri!r} must be an http:// or https:// address"
    return None


async def _connect(
    maker: async_sessionmaker[AsyncSession], settings: Settings, redirect_uri: str, *, paste: bool
) -> int:
    started = await connect.start(maker, settings, redirect_uri=redirect_uri)
    minutes = int((started.expires_at - datetime.now(UTC)).total_seconds() // 60)
    print(texts.t("oauth.cli_open", redirect_uri=redirect_uri, minutes=minutes))
    print()
    print(started.link)
    print()
    lines = _stdin_lines() if paste else None
    if lines is not None:
        print(texts.t("oauth.cli_paste"), flush=True)
    while True:
        async with maker() as session:
            request = await repo.get_auth_request(session, started.state)
        assert request is not None
        if request.status == repo.CONNECTED and request.oa_id:
            return await _connected(maker, request.oa_id)
        if request.status == repo.FAILED:
            print(f"thidua: the connection failed: {request.error}", file=sys.stderr)
            return 1
        late = datetime.now(UTC) - started.expires_at
        if late >= timedelta(0) and (request.status == repo.PENDING or late > EXCHANGE_GRACE):
            print(texts.t("oauth.cli_expired"), file=sys.stderr)
            return 1
        line = await _next_line(lines)
        if line is None:
            continue
        done = await _pasted(maker, settings, started.state, line, lines)
        if done is not None:
            return done


async def _pasted(
    maker: async_sessionmaker[AsyncSession],
    settings: Settings,
    state: str,
    line: str,
    lines: asyncio.Queue[str | None] | None,
) -> int | None:
    """Exchange a pasted code; an exit code, or None to keep waiting."""
    code, pasted_state, oa_id = parse_pasted(line)
    if not code:
        return None
    if pasted_state and pasted_state != state:
        print(texts.t("oauth.cli_other_link"), flush=True)
        return None
    if not oa_id and not settings.zalo_oa_id:
        async with maker() as session:
            known = await repo.get(session)
        if known is None and lines is not None:
            print(texts.t("oauth.cli_ask_oa_id"), flush=True)
            oa_id = ((await lines.get()) or "").strip() or None
    try:
        done = await connect.finish(
            maker, settings, state=state, code=code, oa_id=oa_id, actor=CLI_ACTOR, via="paste"
        )
    except connect.ConnectError as problem:
        print(texts.t(problem.key, **problem.params), file=sys.stderr, flush=True)
        return None if problem.status == 503 else 1
    return await _connected(maker, done.oa_id)


def parse_pasted(line: str) -> tuple[str, str | None, str | None]:
    """(code, state, oa_id) from a pasted code or the whole redirected address."""
    text = line.strip()
    if "code=" not in text:
        return text, None, None
    query = parse_qs(urlsplit(text).query or text.lstrip("?"))
    first = {key: values[0] for key, values in query.items() if values}
    return first.get("code", ""), first.get("state"), first.get("oa_id")


async def _connected(maker: async_sessionmaker[AsyncSession], oa_id: str) -> int:
    async with maker() as session:
        row = await repo.get(session, oa_id)
    assert row is not None
    expires = local_datetime(row.access_expires_at)
    print(texts.t("oauth.cli_connected", oa_id=oa_id, expires=expires))
    print(f"OA id: {oa_id}; access token expires {expires} (Asia/Ho_Chi_Minh)")
    return 0


async def _status(maker: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    async with maker() as session:
        row = await repo.get(session, settings.zalo_oa_id)
    if row is None:
        print("Zalo OA: not connected; run `thidua zalo-oa connect`")
        return 1
    refresh = local_datetime(row.refresh_expires_at) if row.refresh_expires_at else "unknown"
    print(f"Zalo OA {row.oa_id}: {'connected' if row.status == repo.OK else 'STOPPED'}")
    print(f"  access token expires {local_datetime(row.access_expires_at)} (Asia/Ho_Chi_Minh)")
    print(f"  refresh token expires {refresh}; refreshed {row.version - 1} times since connect")
    if row.status != repo.OK:
        print(f"  last refresh refused: {row.last_error}; run `thidua zalo-oa connect`")
        return 1
    return 0


def _stdin_lines() -> asyncio.Queue[str | None]:
    """Lines typed in the terminal, read by a daemon thread so waiting never blocks exit."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        try:
            for line in sys.stdin:
                loop.call_soon_threadsafe(queue.put_nowait, line)
            loop.call_soon_threadsafe(queue.put_nowait, None)
        except RuntimeError:
            return  # the command finished and closed its loop first

    threading.Thread(target=read, name="zalo-oa-paste", daemon=True).start()
    return queue


async def _next_line(lines: asyncio.Queue[str | None] | None) -> str | None:
    """The next pasted line within one poll interval, else None."""
    if lines is None:
        await asyncio.sleep(POLL_SECONDS)
        return None
    try:
        return await asyncio.wait_for(lines.get(), POLL_SECONDS)
    except TimeoutError:
        return None
