"""`python -m bot serve` as a real process for fault tests, and residents driving it.

`ServerProcess` runs the server in Telegram webhook mode against a FakeTelegramAPI of
the test; `Resident` plays one person's conversation over the webhook (waiting for each
answer before the next message, as a person does) and notes every update answered 200.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import free_port
from tests.fakes.telegram_api import FakeTelegramAPI

ROOT = Path(__file__).resolve().parents[2]
SECRET = "reliability-secret"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
JOIN_AND_REGISTER = [
    ("say", "/batdau"), ("press", "Tôi đồng ý"), ("say", "to {group}"),
    ("say", "/dangky"), ("press", "Đồng ý"), ("say", "Trần Văn {chat}"),
    ("say", "Số {chat}, ngõ 7, phố Đà Nẵng"), ("say", "09{chat:08d}"), ("press", "4"),
    ("press", "Chọn tất cả"), ("press", "Xác nhận"),
]


class ServerProcess:
    """One `python -m bot serve` on a free loopback port, logging to a file."""

    def __init__(self, workdir: Path, database_url: str, api: FakeTelegramAPI,
                 name: str = "server", **settings: str) -> None:
        self.workdir, self.name, self.port = workdir, name, free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
        self.env.update(
            PYTHONPATH=str(ROOT), THIDUA_DATABASE_URL=database_url,
            THIDUA_PORT=str(self.port), THIDUA_TELEGRAM_TOKEN=api.token,
            THIDUA_TELEGRAM_API_URL=api.url, THIDUA_TELEGRAM_WEBHOOK_SECRET=SECRET,
            THIDUA_TELEGRAM_WEBHOOK_URL="https://reliability.example/telegram/webhook",
            THIDUA_WEBCHAT_ENABLED="false", THIDUA_LOG_LEVEL="WARNING",
            # Scripted residents answer faster than people: flood control must not drop them.
            THIDUA_FLOOD_BURST="10000", **settings)
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    @property
    def webhook(self) -> str:
        """The webhook URL on loopback."""
        return f"http://127.0.0.1:{self.port}/telegram/webhook"

    async def start(self) -> None:
        """Start and wait until /healthz answers 200."""
        self.starts += 1
        with (self.workdir / f"{self.name}-{self.starts}.log").open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "serve", cwd=self.workdir, env=self.env,
                stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    break
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError(f"the server did not start:\n{self.logs()[-3000:]}")

    async def kill(self) -> None:
        """SIGKILL: no shutdown hook runs."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM and wait."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), timeout=20)

    def logs(self) -> str:
        """Everything the server printed, over all its starts."""
        return "\n".join(p.read_text(errors="replace")
                         for p in sorted(self.workdir.glob(f"{self.name}-*.log")))


@dataclass
class Answered:
    """An update the server answered 200 (so it promised to have it)."""

    update_id: int
    chat: int
    step: int


@dataclass
class Resident:
    """One Telegram user walking through a script over a webhook."""

    chat: int
    api: FakeTelegramAPI
    script: list[tuple[str, str]] = field(default_factory=lambda: list(JOIN_AND_REGISTER))
    position: int = 0
    in_flight: dict[str, Any] | None = None

    def next_update(self) -> dict[str, Any] | None:
        """The update for the next step, or None (done, or no such button was shown)."""
        if self.position >= len(self.script):
            return None
        kind, value = self.script[self.position]
        value = value.format(chat=self.chat, group=self.chat % 23 + 1)
        if kind == "say":
            return self.api.text_update(value, chat_id=self.chat)
        for message in reversed(self.api.sent[self.chat]):
            for row in message.get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    if value in button["text"]:
                        return self.api.callback_update(self.chat, data=button["callback_data"],
                                                        message=message)
        return None

    async def play(self, session: aiohttp.ClientSession, webhook: str,
                   answered: list[Answered], steps: int | None = None) -> None:
        """Send the next steps in order until the script ends or the server fails."""
        done = 0
        while steps is None or done < steps:
            update = self.in_flight or self.next_update()
            if update is None:
                return
            self.in_flight = update
            try:
                async with session.post(webhook, json=update,
                                        headers={SECRET_HEADER: SECRET}) as response:
                    await response.read()
                    status = response.status
            except (TimeoutError, aiohttp.ClientError):
                return
            if status != 200:
                return
            answered.append(Answered(update["update_id"], self.chat, self.position))
            self.in_flight = None
            self.position += 1
            done += 1
