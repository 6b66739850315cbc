"""Broadcast benchmark: a ward-wide message to N residents through `thidua deliver`.

    .venv/bin/python bench/broadcast.py [--recipients 20000] [--kills 3]

The fake Bot API (tests/fakes/telegram_api.py) enforces Telegram's limits
(`enforce_limits(30, 1.0)`: 30 sends in any second, 1 s between sends to one chat,
429 + retry_after past them). The delivery worker runs as `python -m bot deliver` on a
SQLite file. Run 1 sends undisturbed; run 2 sends a second broadcast while the worker
is SIGKILLed `--kills` times at even intervals and started again each time (as in
tests/bot/test_worker_process.py). Reported: messages/s achieved against 30, 429s met,
duplicates, lost, and for run 2 the sends in flight at each kill (accepted by the API
but not yet recorded as sent: the most that may be sent twice).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from bench.processes import PYTHON, ROOT, Proc, bench_env  # noqa: E402
from bot.settings import DEFAULT_WARD_CONFIG  # noqa: E402
from bot.ward import load_ward_config  # noqa: E402
from handlers.broadcast_service import Audience, send  # noqa: E402
from storage import make_engine, make_sessionmaker  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import OutboxMessage  # noqa: E402
from storage.repos import residents  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402

AUTHOR_CHAT = 1
FIRST_CHAT = 100_000
LIMIT = 30


@dataclass
class Run:
    """What one broadcast measured."""

    label: str
    recipients: int
    received: Counter[int] = field(default_factory=Counter)
    first: float = 0.0
    last: float = 0.0
    refused: int = 0
    busiest: int = 0
    in_flight: list[int] = field(default_factory=list)
    wall: float = 0.0

    @property
    def rate(self) -> float:
        """Messages accepted per second, first to last."""
        span = self.last - self.first
        return self.recipients / span if span > 0 else 0.0

    @property
    def duplicates(self) -> int:
        """Copies beyond the first, over all chats."""
        return sum(self.received.values()) - len(self.received)

    @property
    def lost(self) -> int:
        """Recipients who got nothing."""
        return self.recipients - len(self.received)


async def populate(sessionmaker, recipients: int) -> int:  # type: ignore[no-untyped-def]
    """The author (an officer) and `recipients` residents on Telegram; the author's id."""
    ward = load_ward_config(DEFAULT_WARD_CONFIG)
    codes = [g.code for g in ward.groups]
    now = datetime.now(UTC)
    author = 0
    chats = [AUTHOR_CHAT, *range(FIRST_CHAT, FIRST_CHAT + recipients)]
    for start in range(0, len(chats), 2000):
        async with sessionmaker() as session, session.begin():
            for chat in chats[start:start + 2000]:
                resident = await residents.join(
                    session, channel="telegram", user_id=str(chat), chat_id=str(chat),
                    group_code=codes[chat % len(codes)], lang="vi", consent_at=now,
                    consent_version="bench")
                if chat == AUTHOR_CHAT:
                    author = resident.id
    return author


async def queue_broadcast(sessionmaker, author: int, text: str) -> None:  # type: ignore[no-untyped-def]
    """The officer's ward-wide broadcast, queued as one outbox row per chat."""
    ward = load_ward_config(DEFAULT_WARD_CONFIG)
    async with sessionmaker() as session, session.begin():
        await send(session, ward, actor="bench", author_resident_id=author, role="officer",
                   groups=[g.code for g in ward.groups], audience=Audience("all", 2026),
                   text=text, now=datetime.now(UTC))


async def sent_in_db(sessionmaker, text_id: str) -> set[str]:  # type: ignore[no-untyped-def]
    """Chats whose copy of this broadcast is recorded as sent."""
    async with sessionmaker() as session:
        stmt = select(OutboxMessage.chat_id, OutboxMessage.payload).where(
            OutboxMessage.kind == "broadcast", OutboxMessage.status == "sent")
        return {chat for chat, payload in (await session.execute(stmt))
                if text_id in str(payload.get("text", ""))}


async def deliver_once(api: FakeTelegramAPI, worker: Proc, sessionmaker, run: Run,  # type: ignore[no-untyped-def]
                       text_id: str, kills: int) -> None:
    """Wait until every recipient has the message, killing the worker `kills` times."""
    seen: list[int] = []
    scanned = 0

    def copies() -> list[int]:
        """Copies the API accepted so far, scanning only calls not seen before (a full
        scan every poll would stall the fake's event loop and bunch up its clock)."""
        nonlocal scanned
        calls = api.calls
        while scanned < len(calls) and calls[scanned].status:
            call = calls[scanned]
            scanned += 1
            if (call.status == 200 and call.method == "sendMessage"
                    and call.params["chat_id"] != AUTHOR_CHAT
                    and text_id in call.params.get("text", "")):
                seen.append(call.params["chat_id"])
        return seen

    marks = [run.recipients * (k + 1) // (kills + 1) for k in range(kills)]
    started = time.perf_counter()
    await worker.start()
    deadline = time.monotonic() + run.recipients / LIMIT * 3 + 120
    while time.monotonic() < deadline:
        received = copies()
        if marks and len(received) >= marks[0]:
            marks.pop(0)
            await worker.kill()
            await api.wait_until(lambda: all(c.status for c in api.calls), timeout=10)
            accepted = {str(chat) for chat in copies()}
            run.in_flight.append(len(accepted - await sent_in_db(sessionmaker, text_id)))
            await worker.start()
        if len(set(received)) >= run.recipients:
            break
        await asyncio.sleep(0.2)
    run.wall = time.perf_counter() - started
    run.received = Counter(copies())


async def run(options: argparse.Namespace) -> list[Run]:
    """Both runs; returns their measurements."""
    workdir = Path(tempfile.mkdtemp(prefix="thidua-broadcast-"))
    url = f"sqlite+aiosqlite:///{workdir}/broadcast.db"
    engine = make_engine(url)
    await upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    filled = time.perf_counter()
    author = await populate(sessionmaker, options.recipients)
    print(f"({options.recipients:,} residents created in {time.perf_counter() - filled:.0f} s; "
          f"logs in {workdir})", flush=True)
    runs = []
    try:
        plan = [] if options.skip_clean else [("undisturbed", 0)]
        if options.kills:
            plan.append((f"SIGKILL x{options.kills}", options.kills))
        for label, kills in plan:
            text_id = f"[{label}]"
            async with FakeTelegramAPI() as api:
                limits = api.enforce_limits(per_second=LIMIT, per_chat_gap=1.0)
                command = [PYTHON, "-m", "bot", "deliver"]
                if options.variant:
                    command = [PYTHON, str(ROOT / "bench/variants.py"), options.variant, "deliver"]
                worker = Proc(f"deliver-{kills}", command, workdir,
                              bench_env(THIDUA_DATABASE_URL=url,
                                        THIDUA_TELEGRAM_TOKEN=api.token,
                                        THIDUA_TELEGRAM_API_URL=api.url,
                                        THIDUA_WEBCHAT_ENABLED="false",
                                        THIDUA_DELIVERY_LEASE_SECONDS=str(options.lease)))
                await queue_broadcast(sessionmaker, author,
                                      f"Thông báo thử tải {text_id}: tổng vệ sinh sáng Chủ nhật.")
                result = Run(label, options.recipients)
                try:
                    await deliver_once(api, worker, sessionmaker, result, text_id, kills)
                finally:
                    await worker.stop()
                result.refused, result.busiest = limits.refused, limits.busiest_second()
                # The author's own copy is among them; the report to the author comes last.
                accepted = limits.accepted_times[: options.recipients + 1]
                result.first, result.last = accepted[0], accepted[-1]
                runs.append(result)
                print(table([result], header=not runs[:-1]), flush=True)
    finally:
        await engine.dispose()
        if not options.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return runs


def table(runs: list[Run], header: bool = True) -> str:
    """Runs as table lines."""
    head = (f"{'run':<14} {'recipients':>10} {'msg/s':>6} {'of 30':>6} {'429s':>5} "
            f"{'busiest s':>9} {'dupl.':>5} {'lost':>5} {'in flight at kills':>18} {'wall s':>7}")
    lines = [head, "-" * len(head)] if header else []
    for r in runs:
        flight = ",".join(map(str, r.in_flight)) or "-"
        lines.append(f"{r.label:<14} {r.recipients:>10,} {r.rate:>6.2f} {r.rate / LIMIT:>6.1%} "
                     f"{r.refused:>5} {r.busiest:>9} {r.duplicates:>5} {r.lost:>5} "
                     f"{flight:>18} {r.wall:>7.0f}")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipients", type=int, default=20_000)
    p.add_argument("--kills", type=int, default=3, help="SIGKILLs in the second run (0: skip)")
    p.add_argument("--lease", type=float, default=5.0,
                   help="THIDUA_DELIVERY_LEASE_SECONDS for the worker")
    p.add_argument("--skip-clean", action="store_true", help="only the run with kills")
    p.add_argument("--variant", help="run the worker with suggested changes (bench/variants.py)")
    p.add_argument("--keep", action="store_true", help="keep the database and logs")
    return p


if __name__ == "__main__":
    measured = asyncio.run(run(parser().parse_args()))
    targets = [f"targets: ≥ 97% of {LIMIT}/s, 0 duplicates and 0 lost undisturbed; "
               "0 lost and duplicates ≤ in flight with kills"]
    print("\n".join(targets))
