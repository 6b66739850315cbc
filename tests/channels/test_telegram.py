"""The Telegram adapter against a fake Bot API on loopback: polling, webhook, parsing, sending."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from bot import keys, texts
from bot.app import build_app
from bot.channels.telegram import SECRET_HEADER, WEBHOOK_PATH, TelegramChannel, TelegramStartError
from bot.channels.telegram.outbound import CONTACT_BUTTON, split_text
from bot.events import Attachment, Button, Reply
from bot.settings import Settings, load_settings
from bot.textsplit import utf16_len
from storage.models import ProcessedUpdate, Resident
from tests.fakes.telegram_api import FakeTelegramAPI, UploadedFile

TOKEN = "123:ABC"
SECRET = "s3cret"
HOOK_URL = "https://thidua.example/telegram/webhook"
CHAT = 1001
# PTB's own RetryAfter constructor reads the deprecated int-typed `retry_after`.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)
PAYLOADS = Path(__file__).parent.parent / "payloads" / "telegram"


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(TOKEN) as fake:
        yield fake


def make_settings(tmp_path: Path, api: FakeTelegramAPI, **extra: Any) -> Settings:
    return load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/t.db",
        telegram_token=TOKEN,
        telegram_api_url=api.url,
        webchat_enabled=False,
        telegram_poll_timeout=1,
        **extra,
    )


@pytest.fixture
async def polling(tmp_path: Path, api: FakeTelegramAPI) -> AsyncIterator[TestClient]:
    app = build_app(make_settings(tmp_path, api))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


@pytest.fixture
async def webhook(tmp_path: Path, api: FakeTelegramAPI) -> AsyncIterator[TestClient]:
    settings = make_settings(
        tmp_path, api, telegram_webhook_url=HOOK_URL, telegram_webhook_secret=SECRET
    )
    async with TestClient(TestServer(build_app(settings), host="127.0.0.1")) as client:
        yield client


def channel_of(client: TestClient) -> TelegramChannel:
    channel = client.app[keys.CHANNELS]["telegram"]
    assert isinstance(channel, TelegramChannel)
    return channel


def inline_labels(params: dict[str, Any]) -> list[str]:
    rows = params.get("reply_markup", {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


async def processed_count(client: TestClient) -> int:
    async with client.app[keys.SESSIONMAKER]() as session:
        count = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
    return int(count or 0)


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- polling ------------------------------------------------------------------------------


async def test_polling_onboarding_end_to_end(polling: TestClient, api: FakeTelegramAPI) -> None:
    await api.wait_for("deleteWebhook")
    start = api.text_update("/start", CHAT)
    api.push(start)
    [welcome] = await api.wait_for("sendMessage", chat_id=CHAT)
    assert welcome.params["text"].startswith("Chào bạn! Đây là chatbot phong trào thi đua")
    assert "parse_mode" not in welcome.params
    agree = texts.t("onboarding.agree", "vi")
    assert "Tôi đồng ý" in agree and agree in inline_labels(welcome.params)
    await api.wait_until(
        lambda: any(c.params.get("offset") == start["update_id"] + 1
                    for c in api.calls_to("getUpdates", ok_only=False)),
        what="the /start update to be confirmed",
    )

    api.push(api.callback_update(CHAT, label=agree))
    sent = await api.wait_for("sendMessage", 2, chat_id=CHAT)
    [answer] = api.calls_to("answerCallbackQuery")
    assert api.calls.index(answer) < api.calls.index(sent[1])
    question = sent[1].params
    assert "tổ dân phố nào" in question["text"]
    groups = [group.name for group in polling.app[keys.WARD].groups]
    assert inline_labels(question)[: len(groups)] == groups
    [edit] = api.calls_to("editMessageText")
    assert edit.params["message_id"] == api.sent[CHAT][0]["message_id"]
    assert edit.params["text"].endswith(f"\n➜ {agree}")
    assert "reply_markup" not in edit.params

    api.push(api.callback_update(CHAT, label=groups[0]))
    sent = await api.wait_for("sendMessage", 4, chat_id=CHAT)
    joined, menu = sent[2].params, sent[3].params
    assert joined["text"] == texts.t("onboarding.joined", "vi", group=groups[0])
    assert joined["reply_markup"] == {"remove_keyboard": True}
    assert inline_labels(menu)
    async with polling.app[keys.SESSIONMAKER]() as session:
        [resident] = (await session.scalars(select(Resident))).all()
    assert resident.group_code == polling.app[keys.WARD].groups[0].code
    assert resident.consent_at is not None


async def test_polling_ignores_groups_and_edits_but_confirms_them(
    polling: TestClient, api: FakeTelegramAPI
) -> None:
    ignored = [api.text_update("/start", -100777, chat_type="supergroup"),
               api.text_update("sửa lại", CHAT, edited=True)]
    api.push(*ignored, api.text_update("/start", CHAT))
    await api.wait_for("sendMessage", chat_id=CHAT)
    assert api.calls_to("sendMessage", chat_id=-100777) == []
    last = ignored[-1]["update_id"] + 2
    await api.wait_until(lambda: any(c.params.get("offset") == last
                                     for c in api.calls_to("getUpdates", ok_only=False)))
    assert await processed_count(polling) == 1


async def test_shutdown_lets_the_update_in_hand_finish(
    tmp_path: Path, api: FakeTelegramAPI
) -> None:
    before = counter("thidua_messages_sent_total", channel="telegram", status="sent")
    client = TestClient(TestServer(build_app(make_settings(tmp_path, api)), host="127.0.0.1"))
    await client.start_server()
    api.slow("sendMessage", 0.5)
    api.push(api.text_update("/start", CHAT))
    await api.wait_until(lambda: bool(api.calls_to("sendMessage", ok_only=False)))
    await client.close()
    assert [c.status for c in api.calls_to("sendMessage", ok_only=False)] == [200]
    assert counter("thidua_messages_sent_total", channel="telegram", status="sent") == before + 1


async def test_polling_backs_off_after_a_server_error(
    polling: TestClient, api: FakeTelegramAPI
) -> None:
    api.fail_next("getUpdates", 1, error_code=502, description="Bad Gateway")
    await api.wait_until(lambda: any(c.status == 502 for c in api.calls), what="the 502")
    api.push(api.text_update("/start", CHAT))
    await api.wait_for("sendMessage", chat_id=CHAT)


async def test_polling_stops_when_the_token_is_revoked(
    polling: TestClient, api: FakeTelegramAPI, caplog: pytest.LogCaptureFixture
) -> None:
    await api.wait_for("getUpdates")
    with caplog.at_level(logging.ERROR):
        api.reject_token()
        await api.wait_until(lambda: "polling stopped" in caplog.text, what="the stop log line")
    calls = len(api.calls)
    api.push(api.text_update("/start", CHAT))
    await asyncio.sleep(0.3)  # proving that nothing happens needs a little time
    assert len(api.calls) == calls
    assert TOKEN not in caplog.text


async def test_rejected_token_stops_the_start_without_showing_it(
    tmp_path: Path, api: FakeTelegramAPI, caplog: pytest.LogCaptureFixture
) -> None:
    api.reject_token()
    server = TestServer(build_app(make_settings(tmp_path, api)), host="127.0.0.1")
    with pytest.raises(TelegramStartError) as error:
        await server.start_server()
    await server.close()
    assert TOKEN not in str(error.value) and TOKEN not in caplog.text
    assert "THIDUA_TELEGRAM_TOKEN" in caplog.text


# --- webhook ------------------------------------------------------------------------------


async def post_update(client: TestClient, update: Any, secret: str | None = SECRET) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    body = update if isinstance(update, str) else json.dumps(update)
    response = await client.post(WEBHOOK_PATH, data=body, headers=headers)
    return response.status


async def test_webhook_is_registered_with_url_and_secret(
    webhook: TestClient, api: FakeTelegramAPI
) -> None:
    [call] = api.calls_to("setWebhook")
    assert call.params["url"] == HOOK_URL
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == ["message", "callback_query"]
    assert api.calls_to("getUpdates", ok_only=False) == []


async def test_webhook_update_is_answered_once(webhook: TestClient, api: FakeTelegramAPI) -> None:
    update = api.text_update("/batdau", CHAT)
    assert await post_update(webhook, update) == 200
    [welcome] = api.calls_to("sendMessage", chat_id=CHAT)
    assert texts.t("onboarding.agree", "vi") in inline_labels(welcome.params)
    assert await post_update(webhook, update) == 200
    assert len(api.calls_to("sendMessage", chat_id=CHAT)) == 1
    assert await processed_count(webhook) == 1


async def test_webhook_refuses_a_wrong_or_missing_secret(
    webhook: TestClient, api: FakeTelegramAPI
) -> None:
    before = counter("thidua_rejected_requests_total", channel="telegram", reason="secret")
    assert await post_update(webhook, api.text_update("/start", CHAT), secret="wrong") == 401
    assert await post_update(webhook, api.text_update("/start", CHAT), secret=None) == 401
    assert await post_update(webhook, api.text_update("/start", CHAT), secret="s3cre") == 401
    assert api.calls_to("sendMessage") == []
    assert await processed_count(webhook) == 0
    after = counter("thidua_rejected_requests_total", channel="telegram", reason="secret")
    assert after - before == 3


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '{"update_id": "7"}', '"text"'])
async def test_webhook_rejects_bodies_that_are_not_updates(
    webhook: TestClient, api: FakeTelegramAPI, body: str
) -> None:
    assert await post_update(webhook, body) == 400
    assert await processed_count(webhook) == 0
    assert api.calls_to("sendMessage") == []


async def test_webhook_ignores_group_chats_and_edits(
    webhook: TestClient, api: FakeTelegramAPI
) -> None:
    for name in ("group_text", "edited_message", "channel_post"):
        assert await post_update(webhook, (PAYLOADS / f"{name}.json").read_text()) == 200
    assert await processed_count(webhook) == 0
    assert api.calls_to("sendMessage") == []


async def test_webhook_answers_a_repeated_button_press_without_replying_twice(
    webhook: TestClient, api: FakeTelegramAPI
) -> None:
    await post_update(webhook, api.text_update("/start", CHAT))
    press = api.callback_update(CHAT, label=texts.t("onboarding.agree", "vi"))
    assert await post_update(webhook, press) == 200
    assert await post_update(webhook, press) == 200
    assert len(api.calls_to("answerCallbackQuery", ok_only=False)) == 2
    assert len(api.calls_to("sendMessage", chat_id=CHAT)) == 2
    assert len(api.calls_to("editMessageText")) == 1


async def test_webhook_reply_waits_out_a_short_rate_limit(
    webhook: TestClient, api: FakeTelegramAPI
) -> None:
    api.rate_limit("sendMessage", 1, retry_after=1)
    assert await post_update(webhook, api.text_update("/start", CHAT)) == 200
    statuses = [c.status for c in api.calls_to("sendMessage", ok_only=False)]
    assert statuses == [429, 200]


# --- outbound -----------------------------------------------------------------------------


async def test_long_text_is_split_with_buttons_on_the_last_piece(
    webhook: TestClient, api: FakeTelegramAPI
) -> None:
    paragraph = "Tổ dân phố 3 đã hoàn thành đăng ký hộ gia đình văn hoá. " * 20
    text = "\n\n".join(f"{n}. {paragraph.strip()}" for n in range(1, 11))
    reply = Reply(text=text, buttons=((Button("Xem tiếp", "more"),),))
    result = await channel_of(webhook).send(str(CHAT), reply)
    calls = api.calls_to("sendMessage", chat_id=CHAT)
    assert len(calls) == len(split_text(text)) >= 3
    assert all(utf16_len(c.params["text"]) <= 4096 for c in calls)
    assert all(c.params["text"].rstrip().endswith(".") for c in calls)
    assert "".join(c.params["text"] for c in calls).replace("\n", "") == text.replace("\n", "")
    assert [("reply_markup" in c.params) for c in calls] == [False] * (len(calls) - 1) + [True]
    assert result.status == "sent"
    assert result.message_id == str(api.sent[CHAT][-1]["message_id"])


async def test_contact_request_is_a_one_time_reply_keyboard(
    webhook: TestClient, api: FakeTelegramAPI
) -> None:
    reply = Reply(text="Bạn gửi số điện thoại nhé", request_contact=True,
                  buttons=((Button("Bỏ qua", "skip"),),))
    assert (await channel_of(webhook).send(str(CHAT), reply)).status == "sent"
    [call] = api.calls_to("sendMessage", chat_id=CHAT)
    assert call.params["reply_markup"] == {
        "keyboard": [[{"text": CONTACT_BUTTON, "request_contact": True}], [{"text": "Bỏ qua"}]],
        "one_time_keyboard": True,
        "resize_keyboard": True,
    }


@pytest.mark.parametrize("as_path", [False, True])
async def test_attachment_goes_as_a_document_after_the_text(
    webhook: TestClient, api: FakeTelegramAPI, tmp_path: Path, as_path: bool
) -> None:
    content = "Tổ,Số hộ\n01,838\n".encode("utf-8-sig")
    file = tmp_path / "ket-qua.csv"
    file.write_bytes(content)
    attachment = Attachment("ket-qua.csv", "text/csv", file if as_path else content,
                            caption="Kết quả " * 200)
    result = await channel_of(webhook).send(str(CHAT), Reply("Đây là file", attachment=attachment))
    [document] = api.calls_to("sendDocument", chat_id=CHAT)
    assert api.calls.index(api.calls_to("sendMessage")[0]) < api.calls.index(document)
    assert document.params["document"] == UploadedFile("ket-qua.csv", "text/csv", content)
    assert len(document.params["caption"]) == 1024
    assert result.message_id == str(api.sent[CHAT][-1]["message_id"])


@pytest.mark.parametrize(
    ("error", "status", "retry_after"),
    [
        ({"error_code": 429, "retry_after": 7, "description": "Too Many Requests"},
         "retry_after", 7.0),
        ({"error_code": 502, "description": "Bad Gateway"}, "retry_after", None),
        ({"error_code": 400, "description": "Bad Request: chat not found"}, "failed", None),
    ],
)
async def test_send_maps_api_errors(
    webhook: TestClient, api: FakeTelegramAPI, error: dict[str, Any], status: str,
    retry_after: float | None,
) -> None:
    api.fail_next("sendMessage", 1, **error)
    before = counter("thidua_messages_sent_total", channel="telegram", status=status)
    result = await channel_of(webhook).send(str(CHAT), Reply(text="Xin chào"))
    assert (result.status, result.retry_after) == (status, retry_after)
    assert result.reason
    assert counter("thidua_messages_sent_total", channel="telegram", status=status) == before + 1


async def test_send_to_a_chat_that_blocked_the_bot(
    webhook: TestClient, api: FakeTelegramAPI
) -> None:
    api.block(2002)
    result = await channel_of(webhook).send("2002", Reply(text="Nhắc việc"))
    assert result.status == "blocked"
    assert result.reason == "Forbidden: bot was blocked by the user"


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("ngắn", 4096, ["ngắn"]),
        ("một hai ba bốn", 8, ["một hai", "ba bốn"]),
        ("Câu thứ nhất dài. Câu hai.", 20, ["Câu thứ nhất dài.", "Câu hai."]),
        ("dòng 1\ndòng 2\ndòng 3", 14, ["dòng 1\ndòng 2", "dòng 3"]),
        ("x" * 10, 4, ["xxxx", "xxxx", "xx"]),
        ("🎉" * 5, 4, ["🎉🎉", "🎉🎉", "🎉"]),
    ],
)
def test_split_text(text: str, limit: int, expected: list[str]) -> None:
    assert split_text(text, limit) == expected
