"""Every scripted conversation on Zalo (polling and webhook, against the fake Zalo Bot
API) leaves the database as on the test channel; and a resident on Telegram and Zalo
who registers the same household (same phone) is counted once."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot import keys, texts
from bot.app import build_app
from bot.channels.zalo import SECRET_HEADER, WEBHOOK_PATH, ZaloChannel
from bot.normalize import fold
from bot.settings import load_settings
from storage.models import Resident
from storage.models.households import Household, HouseholdPledge
from storage.repos import progress
from tests import transcript
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloAPI
from tests.test_parity import SECRET as TELEGRAM_SECRET
from tests.test_parity import Server, TelegramDriver, outcome
from tests.test_transcripts import FakeDriver
from tests.transcript import Seen

SECRET = "zalo-parity-secret"
HINTS = {texts.t("zalo.numbered_hint", lang) for lang in texts.LANGUAGES}
WORD_LINES = tuple(
    texts.t(key, lang, words="").strip()
    for key in ("zalo.typed_hint", "zalo.words_hint")
    for lang in texts.LANGUAGES
)
NUMBERED = re.compile(r"^(\d+)\. (.+)$")
OWN_NUMBER = re.compile(r"^(\d+)(?!\d)")
INLINE_NUMBERS = re.compile(r"^\d+( · \d+)*$")
COMMANDS = re.compile(r"(/[^\s(,]+(?: [^\s(,]+)*) \(([^)]+)\)")
TICKS = ("▫️", "✅")


def choices_in(text: str) -> list[tuple[str, str]]:
    """What a resident can answer to one message: (label shown, what to type)."""
    block = text.rsplit("\n\n", 1)[-1].splitlines()
    found: list[tuple[str, str]] = []
    if block and block[-1] in HINTS:
        for line in block[:-1]:
            numbered = NUMBERED.match(line)
            if numbered:
                found.append((numbered.group(2), numbered.group(1)))
            elif (own := OWN_NUMBER.match(line)) is not None:
                found.append((line, own.group(1)))
        return found
    for line in block:
        if INLINE_NUMBERS.match(line):
            found += [(n, n) for n in line.split(" · ")]
        elif line.startswith(WORD_LINES):
            found += [(word, word) for word in re.findall(r"“([^”]+)”", line)]
            found += [(label, command) for command, label in COMMANDS.findall(line)]
    return found


class ZaloDriver:
    """A Zalo user: types what they read; a "press" types the number beside the label
    (or, to tick one item of a several-choice list, its words)."""

    photos = True

    def __init__(
        self, api: FakeZaloAPI, chat_id: str, deliver: Callable[[dict[str, Any]], Awaitable[None]]
    ) -> None:
        self.api, self.chat, self.deliver = api, chat_id, deliver
        self.shown: list[tuple[str, str]] = []

    async def _do(self, update: dict[str, Any]) -> Seen:
        before = len(self.api.texts(self.chat))
        await self.deliver(update)
        new = self.api.texts(self.chat)[before:]
        labels: list[str] = []
        for text in new:
            found = choices_in(text)
            if found:
                self.shown = found
                labels += [label for label, _ in found]
        return Seen("\n".join(new), labels)

    async def say(self, text: str) -> Seen:
        return await self._do(self.api.text_update(text, self.chat))

    async def press(self, label: str) -> Seen:
        wanted = fold(label)
        several = any(shown.startswith(TICKS[0]) for shown, _ in self.shown)
        for shown, typed in self.shown:
            if wanted in fold(shown):
                if several and shown.startswith(TICKS):
                    typed = shown.removeprefix(TICKS[0]).removeprefix(TICKS[1]).strip()
                return await self.say(typed)
        raise AssertionError(f"no choice {label!r} among {self.shown}")

    async def contact(self, phone: str) -> Seen:
        return await self.say(phone)  # Zalo's bot cannot ask for the contact: it is typed

    async def photo(self) -> Seen:
        return await self._do(self.api.image_update(self.chat))


def polling_delivery(api: FakeZaloAPI) -> Callable[[dict[str, Any]], Awaitable[None]]:
    async def deliver(update: dict[str, Any]) -> None:
        api.push(update)
        await api.wait_handled()

    return deliver


def webhook_delivery(
    http: aiohttp.ClientSession, server: Server
) -> Callable[[dict[str, Any]], Awaitable[None]]:
    channel = server.app[keys.CHANNELS]["zalo"]
    assert isinstance(channel, ZaloChannel)

    async def deliver(update: dict[str, Any]) -> None:
        async with http.post(server.base + WEBHOOK_PATH, json=update,
                             headers={SECRET_HEADER: SECRET}) as response:
            assert response.status == 200
        await channel.idle()

    return deliver


def zalo_settings(database_url: str, api: FakeZaloAPI, mode: str, **extra: Any) -> Any:
    hook = {"zalo_webhook_url": "https://thidua.example/zalo/webhook",
            "zalo_webhook_secret": SECRET} if mode == "webhook" else {}
    return load_settings(database_url=database_url, zalo_token=api.token, zalo_api_url=api.url,
                         zalo_poll_timeout=1, **hook, **extra)


def test_choices_are_read_as_a_resident_reads_them() -> None:
    hint = texts.t("zalo.numbered_hint", "vi")
    assert choices_in(f"Câu hỏi?\n\n1. ✅ Tôi đồng ý\n2. Không đồng ý\n{hint}") == [
        ("✅ Tôi đồng ý", "1"), ("Không đồng ý", "2")]
    assert choices_in(f"Câu 1/8\n\n1 · Rất tệ\n2 · Tốt\n3. ⬅️ Quay lại\n{hint}") == [
        ("1 · Rất tệ", "1"), ("2 · Tốt", "2"), ("⬅️ Quay lại", "3")]
    assert choices_in("Mấy người?\n\n1 · 2 · 3\nHoặc gõ: “Quay lại”") == [
        ("1", "1"), ("2", "2"), ("3", "3"), ("Quay lại", "Quay lại")]
    assert choices_in("Đã xếp hàng.\n\nBạn có thể gõ: /tinhtrang 4 (Xem tiến độ), “Thêm”") == [
        ("Thêm", "Thêm"), ("Xem tiến độ", "/tinhtrang 4")]
    assert choices_in("1. Không phải lựa chọn\n2. Chỉ là nội dung") == []


@pytest.mark.parametrize("mode", ["polling", "webhook"])
@pytest.mark.parametrize("name", transcript.names())
async def test_same_conversation_same_outcome_on_zalo(
    name: str, mode: str, chat, sessionmaker, clock, tmp_path
) -> None:
    script = transcript.load(name)
    await transcript.play(FakeDriver(chat), script)
    expected = await outcome(sessionmaker)

    async with FakeZaloAPI() as api:
        settings = zalo_settings(f"sqlite+aiosqlite:///{tmp_path}/zalo.db", api, mode,
                                 webchat_enabled=False)
        async with (
            Server(build_app(settings, deliver=False, clock=clock)) as server,
            aiohttp.ClientSession() as http,
        ):
            deliver = polling_delivery(api) if mode == "polling" else webhook_delivery(
                http, server)
            await transcript.play(ZaloDriver(api, "a17c3e5f7b9d1e2f4a6c", deliver), script)
            got = await outcome(server.app[keys.SESSIONMAKER])
    assert got == expected, f"{name} on Zalo ({mode})"


async def test_one_household_on_telegram_and_zalo_is_counted_once(
    database_url: str, clock
) -> None:
    async with FakeZaloAPI() as zalo, FakeTelegramAPI() as telegram:
        settings = zalo_settings(
            database_url, zalo, "webhook",
            telegram_token=telegram.token, telegram_api_url=telegram.url,
            telegram_webhook_url="https://thidua.example/telegram/webhook",
            telegram_webhook_secret=TELEGRAM_SECRET,
        )
        async with (
            Server(build_app(settings, deliver=False, clock=clock)) as server,
            aiohttp.ClientSession() as http,
        ):
            on_telegram = TelegramDriver(http, server.base, telegram)
            await transcript.play(on_telegram, transcript.load("household_registration"))

            on_zalo = ZaloDriver(zalo, "c0ffee00d15ea5e0b0a7", webhook_delivery(http, server))
            await transcript.play(on_zalo, {"join": "Tổ dân phố 5", "steps": [
                {"say": "/dangky"},
                {"press": "Đồng ý", "expect": ["Họ và tên chủ hộ"]},
                {"say": "Nguyen Van An"},
                {"say": "so 12 ngo 34 pho Le Loi"},
                {"say": "0912 345 678"},
                {"press": "4"},
                {"press": "Chọn tất cả"},
                {"press": "Xác nhận", "expect": ["Hộ này đã có người đăng ký",
                                                  "Bạn có muốn cập nhật hộ này"],
                 "absent": ["0912 345 678"]},
                {"press": "Cập nhật hộ này", "expect": ["Cảm ơn bạn! Hộ Nguyen Van An"]},
            ]})

            sessionmaker = server.app[keys.SESSIONMAKER]
            async with sessionmaker() as session:
                residents = await session.scalar(select(func.count()).select_from(Resident))
                [household] = (await session.scalars(select(Household))).all()
                pledges = await session.scalar(
                    select(func.count()).select_from(HouseholdPledge))
                counted = await progress.registered_by_group(session, clock().year)
    assert residents == 2  # one person, two chat accounts
    assert (household.phone, household.group_code, pledges) == ("+84912345678", "05", 1)
    assert counted == {"05": 1}
