"""The ingest load generator: many residents' chats POSTed to a Telegram webhook.

Each chat plays a script a resident would: join (/batdau, press "Tôi đồng ý", type a
group), then register a household, answer the survey, or look around (help, menu, a
stray text); a finished script goes on looking around. Text, commands and button
presses are mixed; a press uses a keyboard the bot really sent (asked of the fake Bot
API), as Telegram does. One chat never has two updates in flight, like a person.

Two ways to drive it, both bounded in count and time, loopback only:
- `steady(rate, seconds)`: open loop, one update every 1/rate s; latency is measured
  from the planned send time, so a slow server cannot hide its queue.
- `saturate(concurrency, seconds)`: closed loop, `concurrency` updates always in flight.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
JOIN = [("say", "/batdau"), ("press", "Tôi đồng ý"), ("say", "group")]
HOUSEHOLD = [("say", "/dangky"), ("press", "Đồng ý"), ("say", "Nguyễn Văn An"),
             ("say", "address"), ("say", "phone"), ("press", "4"),
             ("press", "Chọn tất cả"), ("press", "Xác nhận"), ("say", "/hocuatoi")]
SURVEY = [("say", "/khaosat"), ("press", "4 · Hài lòng"), ("press", "5 · Rất hài lòng"),
          ("press", "3 · Bình thường"), ("press", "4 · Hài lòng"), ("press", "Loa phát thanh"),
          ("press", "An ninh trật tự"), ("press", "Xong"), ("press", "Có"), ("press", "Bỏ qua")]
LOOK_AROUND = [("say", "/trogiup"), ("say", "/menu"), ("say", "cho tôi hỏi giờ họp tổ"),
               ("say", "/hocuatoi"), ("say", "danh mục")]
SCRIPTS = {"household": JOIN + HOUSEHOLD, "survey": JOIN + SURVEY, "browse": JOIN + LOOK_AROUND}


@dataclass
class Result:
    """What one run measured."""

    label: str
    sent: int = 0
    ok: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    mix: Counter[str] = field(default_factory=Counter)
    off_script: int = 0
    late_starts: int = 0

    @property
    def rate(self) -> float:
        """Updates answered 200 per second."""
        return self.ok / self.elapsed if self.elapsed else 0.0

    def percentile(self, share: float) -> float:
        """Latency at `share` (0-1), in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Chat:
    """One resident's private chat, walking through a script."""

    def __init__(self, chat_id: int, script: list[tuple[str, str]]) -> None:
        self.chat_id, self.script, self.position = chat_id, script, 0
        self.user = {"id": chat_id, "is_bot": False, "first_name": "Lan",
                     "last_name": f"Nguyễn {chat_id}", "language_code": "vi"}

    def next_step(self) -> tuple[str, str]:
        """The next thing this resident does (looking around once the script is done)."""
        if self.position < len(self.script):
            step = self.script[self.position]
        else:
            step = LOOK_AROUND[(self.position - len(self.script)) % len(LOOK_AROUND)]
        self.position += 1
        kind, value = step
        if value == "group":
            value = f"to {self.chat_id % 23 + 1}"
        elif value == "address":
            value = f"Số {self.chat_id}, ngõ 34, phố Lê Lợi"
        elif value == "phone":
            value = f"09{self.chat_id % 10**8:08d}"
        return kind, value


class LoadGenerator:
    """Drives scripted chats against one webhook; chat ids start at `first_chat`."""

    def __init__(self, webhook: str, secret: str, api: str, *, chats: int,
                 first_chat: int, seed: int = 7, invent_presses: bool = False) -> None:
        self.webhook, self.secret, self.api = webhook, secret, api
        self.invent_presses = invent_presses
        rng = random.Random(seed)
        names = list(SCRIPTS)
        self.idle: deque[Chat] = deque(
            Chat(first_chat + n, SCRIPTS[rng.choice(names)]) for n in range(chats))
        self.update_id = first_chat * 100
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> LoadGenerator:
        connector = aiohttp.TCPConnector(limit=512)
        self.session = aiohttp.ClientSession(connector=connector)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.session is not None:
            await self.session.close()

    async def steady(self, label: str, rate: float, seconds: float) -> Result:
        """One update every 1/rate seconds for `seconds`; waits for the stragglers."""
        result = Result(label)
        tasks: list[asyncio.Task[None]] = []
        started = time.perf_counter()
        for n in range(int(rate * seconds)):
            planned = started + n / rate
            delay = planned - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if not self.idle:
                result.late_starts += 1
                continue
            tasks.append(asyncio.create_task(self._one(self.idle.popleft(), planned, result)))
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=seconds + 60)
        result.elapsed = time.perf_counter() - started
        return result

    async def saturate(self, label: str, concurrency: int, seconds: float) -> Result:
        """Keep `concurrency` updates in flight for `seconds`."""
        result = Result(label)
        deadline = time.perf_counter() + seconds

        async def lane() -> None:
            while time.perf_counter() < deadline and self.idle:
                await self._one(self.idle.popleft(), time.perf_counter(), result)

        started = time.perf_counter()
        await asyncio.wait_for(
            asyncio.gather(*(lane() for _ in range(concurrency))), timeout=seconds + 60)
        result.elapsed = time.perf_counter() - started
        return result

    async def _one(self, chat: Chat, planned: float, result: Result) -> None:
        try:
            update = await self._update_for(chat, result)
            result.sent += 1
            assert self.session is not None
            async with self.session.post(
                self.webhook, json=update, headers={SECRET_HEADER: self.secret},
                timeout=aiohttp.ClientTimeout(total=30),
            ) as response:
                await response.read()
                status = response.status
            if status == 200:
                result.ok += 1
                result.latencies.append(time.perf_counter() - planned)
            else:
                result.failed[str(status)] += 1
        except (aiohttp.ClientError, TimeoutError) as exc:
            result.failed[type(exc).__name__] += 1
        finally:
            self.idle.append(chat)

    async def _update_for(self, chat: Chat, result: Result) -> dict[str, Any]:
        kind, value = chat.next_step()
        self.update_id += 1
        update_id = self.update_id
        if kind == "press":
            message = await self._last_keyboard(chat.chat_id)
            data = _button(message, value)
            if data is None and self.invent_presses:
                message, data = self._invented(chat, update_id, value), value[:64]
            if data is not None:
                result.mix["press"] += 1
                return {"update_id": update_id, "callback_query": {
                    "id": str(update_id), "from": chat.user, "message": message,
                    "chat_instance": f"ci{chat.chat_id}", "data": data}}
            result.off_script += 1
        result.mix["command" if value.startswith("/") else "text"] += 1
        message = {"message_id": update_id, "from": chat.user,
                   "chat": {"id": chat.chat_id, "type": "private", "first_name": "Lan"},
                   "date": int(time.time()), "text": value}
        if value.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(value.split()[0])}]
        return {"update_id": update_id, "message": message}

    def _invented(self, chat: Chat, message_id: int, label: str) -> dict[str, Any]:
        """A message with the button, for a bot that shows none (the echo bot)."""
        return {"message_id": message_id, "from": {"id": 123, "is_bot": True,
                "first_name": "Bot"}, "date": int(time.time()), "text": "?",
                "chat": {"id": chat.chat_id, "type": "private", "first_name": "Lan"},
                "reply_markup": {"inline_keyboard": [[{"text": label, "callback_data": label}]]}}

    async def _last_keyboard(self, chat_id: int) -> dict[str, Any] | None:
        assert self.session is not None
        async with self.session.get(f"{self.api}/_bench/last/{chat_id}") as response:
            return await response.json()


def _button(message: dict[str, Any] | None, label: str) -> str | None:
    """The callback data of the button whose label starts with `label`."""
    if not message:
        return None
    buttons = [b for row in message.get("reply_markup", {}).get("inline_keyboard", [])
               for b in row if "callback_data" in b]
    for matches in (lambda text: text == label, lambda text: label in text):
        for button in buttons:
            if matches(button["text"]):
                return str(button["callback_data"])
    return None
