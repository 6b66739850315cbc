"""`thidua deliver` as a real process: SIGKILLed mid-broadcast twice, nothing is lost.

The worker runs as `python -m bot deliver` against a SQLite file and the fake Bot API
(which enforces Telegram's limits). The test kills it with SIGKILL, not a cancelled
task, and starts it again each time; a short lease lets the restarted worker take back
the messages the dead one had claimed.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.events import Reply
from bot.outbox import reply_to_payload
from bot.settings import DEFAULT_WARD_CONFIG
from bot.ward import load_ward_config
from handlers.broadcast_service import Audience, send
from storage import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models import OutboxMessage
from storage.repos import outbox, residents, webchat
from tests.fakes.telegram_api import FakeTelegramAPI

RESIDENTS = 300
AUTHOR_CHAT = 999
LEASE_SECONDS = "2"
HELD = 3
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[tuple[str, async_sessionmaker[AsyncSession]]]:
    url = f"sqlite+aiosqlite:///{tmp_path}/thidua.db"
    engine = make_engine(url)
    await upgrade(engine)
    yield url, make_sessionmaker(engine)
    await engine.dispose()


class Worker:
    """`python -m bot deliver` in its own process, logging to a file."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir, self.env = workdir, env
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        self.starts += 1
        log = (self.workdir / f"worker-{self.starts}.log").open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "deliver",
            cwd=self.workdir, env=self.env, stdout=log, stderr=log,
        )
        log.close()

    async def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        assert await self.process.wait() == -signal.SIGKILL

    async def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), timeout=15)

    def logs(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.workdir.glob("worker-*.log")))


def worker_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
    env.update(
        PYTHONPATH=str(ROOT),
        THIDUA_DATABASE_URL=database_url,
        THIDUA_DELIVERY_LEASE_SECONDS=LEASE_SECONDS,
        THIDUA_LOG_LEVEL="INFO",
        **extra,
    )
    return env


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]], worker: Worker, what: str,
    timeout: float = 60,
) -> None:
    async def holds() -> bool:
        result = condition()
        return await result if inspect.isawaitable(result) else result

    deadline = time.monotonic() + timeout
    while not await holds():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{worker.logs()[-3000:]}")
        await asyncio.sleep(0.05)


async def sent_in_db(sessionmaker: async_sessionmaker[AsyncSession]) -> set[str]:
    async with sessionmaker() as session:
        stmt = select(OutboxMessage.chat_id).where(
            OutboxMessage.kind == "broadcast", OutboxMessage.status == "sent"
        )
        return set((await session.execute(stmt)).scalars())


async def broadcast_to_residents(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """300 residents and an officer on Telegram across the ward, and her broadcast."""
    ward = load_ward_config(DEFAULT_WARD_CONFIG)
    now = datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        codes = [g.code for g in ward.groups]
        for chat in [*range(1, RESIDENTS + 1), AUTHOR_CHAT]:
            resident = await residents.join(
                session, channel="telegram", user_id=str(chat), chat_id=str(chat),
                group_code=codes[chat % len(codes)], lang="vi", consent_at=now,
                consent_version="2026-11",
            )
            if chat == AUTHOR_CHAT:
                author = resident.id
        await send(
            session, ward, actor="test", author_resident_id=author, role="officer",
            groups=codes, audience=Audience("all", 2026),
            text="Sáng Chủ nhật 7h tổng vệ sinh đường phố.", now=now,
        )


@pytest.mark.slow
async def test_killing_the_worker_mid_broadcast_loses_nothing(db, tmp_path):
    url, sessionmaker = db
    await broadcast_to_residents(sessionmaker)
    async with FakeTelegramAPI() as api:
        limits = api.enforce_limits(per_second=30, per_chat_gap=1.0)
        worker = Worker(tmp_path, worker_env(
            url, THIDUA_TELEGRAM_TOKEN=api.token, THIDUA_TELEGRAM_API_URL=api.url,
            THIDUA_WEBCHAT_ENABLED="false",
        ))

        def delivered() -> list[str]:
            return [str(c.params["chat_id"]) for c in api.calls_to("sendMessage")
                    if c.params["chat_id"] != AUTHOR_CHAT]

        def unanswered() -> list[object]:
            return [c for c in api.calls if c.method == "sendMessage" and c.status == 0]

        in_flight_at_kills = []
        await worker.start()
        for mark in (100, 200):
            await eventually(lambda m=mark: len(delivered()) >= m, worker, f"{mark} sent")
            # Hold the next sends so the kill lands while they are on the wire.
            api.slow("sendMessage", 0.5, times=HELD)
            await eventually(lambda: len(unanswered()) >= HELD, worker, "held sends")
            await worker.kill()
            await asyncio.sleep(0.2)
            await eventually(lambda: not unanswered(), worker, "the fake to answer")
            recorded = await sent_in_db(sessionmaker)
            in_flight_at_kills.append(len(set(delivered()) - recorded))
            await worker.start()

        def to_author() -> list[str]:
            return [c.params["text"] for c in api.calls_to("sendMessage", AUTHOR_CHAT)]

        await eventually(lambda: any("đã gửi xong" in t for t in to_author()), worker,
                         "the report to the author")
        assert await worker.stop() == 0

    received = Counter(delivered())
    assert set(received) == {str(chat) for chat in range(1, RESIDENTS + 1)}, "lost messages"
    duplicates = sum(received.values()) - RESIDENTS
    assert duplicates <= sum(in_flight_at_kills), (duplicates, in_flight_at_kills)
    assert min(in_flight_at_kills) >= HELD  # the kills did land mid-send
    assert limits.refused == 0, dict(limits.refused_by_chat)
    assert limits.busiest_second() <= 30
    async with sessionmaker() as session:
        # The officer lives in the ward too: 301 copies, and the report.
        assert await outbox.count_by_status(session) == {"sent": RESIDENTS + 2}
    [own_copy, report] = to_author()
    assert own_copy.startswith("📣 Thông báo của UBND Phường An Hải:")
    assert "Đã gửi: 301" in report
    assert "Không liên lạc được (đã chặn chatbot): 0" in report


async def test_deliver_sends_to_web_chats_and_stops_on_sigterm(db, tmp_path):
    url, sessionmaker = db
    async with sessionmaker() as session, session.begin():
        for n in range(3):
            await outbox.enqueue(
                session, key=f"w:{n}", kind="notification", channel="webchat",
                chat_id="browser-1", payload=reply_to_payload(Reply(text=f"Tin số {n}")),
            )
    worker = Worker(tmp_path, worker_env(url))
    await worker.start()

    async def arrived() -> bool:
        async with sessionmaker() as session:
            return len(await webchat.since(session, "browser-1", 0)) == 3

    await eventually(arrived, worker, "three web chat messages")
    assert await worker.stop() == 0
    async with sessionmaker() as session:
        texts = [m.payload["text"] for m in await webchat.since(session, "browser-1", 0)]
    assert texts == ["Tin số 0", "Tin số 1", "Tin số 2"]
    assert "delivering for webchat" in worker.logs()
