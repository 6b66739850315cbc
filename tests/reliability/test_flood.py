"""Flood control per chat: a burst is served, a flood gets one polite answer, then silence."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot import keys
from bot.app import build_app
from bot.dispatcher import Dispatcher
from bot.flood import FloodControl, FloodLimits, Verdict
from bot.settings import load_settings
from storage.models import ProcessedUpdate
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.reliability.servers import SECRET, SECRET_HEADER

LAN = ("telegram", "1001")
MAI = ("telegram", "1002")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verdicts(flood: FloodControl, key: tuple[str, str], times: int) -> list[Verdict]:
    return [flood.check(key) for _ in range(times)]


def test_a_burst_of_five_is_handled_then_one_warning_then_silence():
    flood = FloodControl(clock=Clock())
    assert verdicts(flood, LAN, 5) == [Verdict.HANDLE] * 5
    assert verdicts(flood, LAN, 4) == [Verdict.WARN, Verdict.DROP, Verdict.DROP, Verdict.DROP]


def test_one_message_a_second_is_always_handled():
    clock = Clock()
    flood = FloodControl(clock=clock)
    for _ in range(100):
        assert flood.check(LAN) is Verdict.HANDLE
        clock.now += 1.0


def test_after_a_pause_the_chat_is_served_and_warned_again_if_it_floods_again():
    clock = Clock()
    flood = FloodControl(clock=clock)
    verdicts(flood, LAN, 8)
    clock.now += 1.0
    assert flood.check(LAN) is Verdict.HANDLE
    assert flood.check(LAN) is Verdict.WARN
    clock.now += 5.0
    assert verdicts(flood, LAN, 6) == [Verdict.HANDLE] * 5 + [Verdict.WARN]


def test_one_flooding_chat_does_not_slow_another():
    flood = FloodControl(clock=Clock())
    verdicts(flood, LAN, 50)
    assert verdicts(flood, MAI, 5) == [Verdict.HANDLE] * 5
    assert flood.check(("webchat", "1001")) is Verdict.HANDLE


def test_limits_are_configurable():
    clock = Clock()
    flood = FloodControl(FloodLimits(burst=2, per_second=0.5), clock=clock)
    assert verdicts(flood, LAN, 3) == [Verdict.HANDLE, Verdict.HANDLE, Verdict.WARN]
    clock.now += 1.0
    assert flood.check(LAN) is Verdict.DROP
    clock.now += 1.0
    assert flood.check(LAN) is Verdict.HANDLE


def test_memory_stays_bounded_by_recently_active_chats():
    clock = Clock()
    flood = FloodControl(FloodLimits(max_chats=100), clock=clock)
    for chat in range(1000):
        flood.check(("telegram", str(chat)))
    assert len(flood) <= 100
    clock.now += 10.0
    flood.check(LAN)
    assert len(flood) == 1  # every other bucket had refilled: forgetting it changes nothing


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=3.0, allow_nan=False), max_size=80),
       st.integers(min_value=1, max_value=8), st.sampled_from([0.5, 1.0, 2.0]))
def test_never_more_than_the_burst_plus_the_rate_over_any_window(gaps, burst, rate):
    clock = Clock()
    flood = FloodControl(FloodLimits(burst=burst, per_second=rate), clock=clock)
    handled: list[float] = []
    warned_since_handled = 0
    for gap in gaps:
        clock.now += gap
        verdict = flood.check(LAN)
        if verdict is Verdict.HANDLE:
            handled.append(clock.now)
            warned_since_handled = 0
        elif verdict is Verdict.WARN:
            warned_since_handled += 1
        assert warned_since_handled <= 1  # one polite answer per flood, not one per message
    for i, start in enumerate(handled):
        for j in range(i, len(handled)):
            window = handled[j] - start
            assert j - i + 1 <= burst + rate * window + 1e-9


WIRED = "flood" in inspect.signature(Dispatcher.__init__).parameters


@pytest.mark.skipif(not WIRED, reason="the dispatcher does not call bot.flood yet")
async def test_a_flooding_resident_gets_one_polite_answer_and_others_are_served(
        tmp_path: Path) -> None:
    async with FakeTelegramAPI() as api:
        settings = load_settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path}/flood.db", telegram_token=api.token,
            telegram_api_url=api.url, telegram_webhook_secret=SECRET,
            telegram_webhook_url="https://flood.example/telegram/webhook",
            webchat_enabled=False)
        app = build_app(settings, deliver=False)
        app[keys.DISPATCHER].flood = FloodControl()  # the defaults, whatever the settings say
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            url = str(client.make_url("/telegram/webhook"))
            flood = [api.text_update(f"spam {n}", chat_id=9001) for n in range(30)]
            calm = [api.text_update("/trogiup", chat_id=9002)]
            async with aiohttp.ClientSession() as session:
                async def post(update: dict[str, object]) -> int:
                    async with session.post(url, json=update,
                                            headers={SECRET_HEADER: SECRET}) as response:
                        return response.status

                statuses = await asyncio.gather(*(post(u) for u in [*flood, *calm]))
            assert set(statuses) == {200}
            async with app[keys.SESSIONMAKER]() as session:
                recorded = await session.scalar(select(func.count()).select_from(
                    ProcessedUpdate).where(ProcessedUpdate.update_id.in_(
                        [str(u["update_id"]) for u in flood])))
    assert recorded == 5
    warnings = [c for c in api.calls_to("sendMessage", 9001)
                if "Bạn gửi nhanh quá" in c.params["text"]]
    assert len(warnings) == 1
    assert api.calls_to("sendMessage", 9002)


def test_the_limits_come_from_the_settings_and_zero_switches_flood_control_off() -> None:
    from bot.dispatcher import flood_control

    configured = flood_control(load_settings(flood_burst=3, flood_per_second=0.5))
    assert configured is not None
    assert (configured.limits.burst, configured.limits.per_second) == (3, 0.5)
    assert flood_control(load_settings(flood_burst=0, flood_per_second=1)) is None
    assert flood_control(load_settings(flood_burst=5, flood_per_second=0)) is None


async def test_a_flood_in_the_web_chat_is_answered_once_and_the_chat_goes_on_after_a_pause(
        tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/webflood.db",
                             flood_burst=3, flood_per_second=1)
    app = build_app(settings, deliver=False)
    assert app[keys.DISPATCHER].flood is not None
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        client_id = (await (await client.post("/webchat/api/session")).json())["client_id"]
        sent = iter(range(1000))

        async def say(text: str) -> list[str]:
            body = {"client_id": client_id, "message_id": f"message-{next(sent):04d}",
                    "text": text}
            response = await client.post("/webchat/api/messages", json=body)
            assert response.status == 200
            return [r["text"] for r in (await response.json())["replies"]]

        answers = [await say(f"xin chào {n}") for n in range(6)]
        assert all(answers[n] for n in range(3))
        assert sum("Bạn gửi nhanh quá" in " ".join(a) for a in answers) == 1
        assert answers[4] == answers[5] == []
        await asyncio.sleep(1.1)
        again = await say("/trogiup")
        assert again and "Bạn gửi nhanh quá" not in " ".join(again)
