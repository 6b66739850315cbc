"""The Zalo adapter against a fake Zalo Bot API on loopback: polling, webhook, parsing, sending."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from bot import keys, texts
from bot.app import build_app
from bot.channels.zalo import SECRET_HEADER, WEBHOOK_PATH, ZaloChannel, ZaloStartError
from bot.channels.zalo.inbound import to_incoming, updates_in
from bot.channels.zalo.render import split_text
from bot.events import Attachment, Button, Reply
from bot.settings import Settings, load_settings
from bot.textsplit import utf16_len
from storage.models import ProcessedUpdate, Resident
from storage.models.surveys import SurveyResponse
from tests.conftest import free_port
from tests.fakes.zalo_api import FakeZaloAPI

SECRET = "zalo-webhook-secret"
HOOK_URL = "https://thidua.example/zalo/webhook"
CHAT = "7f3a9c21d4e8b605a1c2"
PAYLOADS = Path(__file__).parent.parent / "payloads" / "zalo"
HINT = texts.t("zalo.numbered_hint", "vi")


@pytest.fixture
async def api() -> AsyncIterator[FakeZaloAPI]:
    async with FakeZaloAPI() as fake:
        yield fake


def make_settings(tmp_path: Path, api: FakeZaloAPI, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/z.db",
        "zalo_token": api.token,
        "zalo_api_url": api.url,
        "webchat_enabled": False,
        "zalo_poll_timeout": 1,
        **extra,
    }
    return load_settings(**values)


@pytest.fixture
async def polling(tmp_path: Path, api: FakeZaloAPI) -> AsyncIterator[TestClient]:
    app = build_app(make_settings(tmp_path, api), deliver=False)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


@pytest.fixture
async def webhook(tmp_path: Path, api: FakeZaloAPI) -> AsyncIterator[TestClient]:
    port = free_port()
    settings = make_settings(
        tmp_path, api, zalo_webhook_url=HOOK_URL, zalo_webhook_secret=SECRET,
        public_url=f"http://127.0.0.1:{port}",
    )
    server = TestServer(build_app(settings, deliver=False), host="127.0.0.1", port=port)
    async with TestClient(server) as client:
        yield client


def channel_of(client: TestClient) -> ZaloChannel:
    channel = client.app[keys.CHANNELS]["zalo"]
    assert isinstance(channel, ZaloChannel)
    return channel


async def processed_count(client: TestClient) -> int:
    async with client.app[keys.SESSIONMAKER]() as session:
        count = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
    return int(count or 0)


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def post(client: TestClient, body: Any, secret: str | None = SECRET) -> int:
    """POST a webhook body as Zalo would, then wait for the replies sent after the 200."""
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    data = body if isinstance(body, str) else json.dumps(body)
    response = await client.post(WEBHOOK_PATH, data=data, headers=headers)
    await channel_of(client).idle()
    return response.status


# --- polling ------------------------------------------------------------------------------


async def test_polling_onboarding_end_to_end_with_numbered_choices(
    polling: TestClient, api: FakeZaloAPI
) -> None:
    await api.wait_for("deleteWebhook")
    api.push(api.text_update("/batdau", CHAT))
    [welcome] = await api.wait_for("sendMessage", chat_id=CHAT)
    text = welcome.params["text"]
    assert text.startswith("Chào bạn! Đây là chatbot phong trào thi đua")
    assert text.endswith(f"\n\n1. ✅ Tôi đồng ý\n2. Không đồng ý\n{HINT}")
    polls = api.calls_to("getUpdates", ok_only=False)
    assert {c.params["timeout"] for c in polls} == {"1"}

    api.push(api.text_update("1", CHAT))
    await api.wait_for("sendMessage", 2, chat_id=CHAT)
    question = api.texts(CHAT)[1]
    assert "tổ dân phố nào" in question
    groups = polling.app[keys.WARD].groups
    assert f"\n1. {groups[0].name}\n2. {groups[1].name}\n" in question
    assert question.count(HINT) == 1

    api.push(api.text_update("to dan pho 6", CHAT))  # words, without diacritics
    await api.wait_for("sendMessage", 4, chat_id=CHAT)
    joined, menu = api.texts(CHAT)[2:]
    assert joined == texts.t("onboarding.joined", "vi", group=groups[5].name)
    assert menu.startswith("Bạn muốn làm gì?") and menu.endswith(HINT)
    async with polling.app[keys.SESSIONMAKER]() as session:
        [resident] = (await session.scalars(select(Resident))).all()
    assert resident.group_code == groups[5].code
    assert resident.consent_at is not None


async def test_polling_answers_each_message_once_even_when_zalo_repeats_it(
    polling: TestClient, api: FakeZaloAPI
) -> None:
    update = api.text_update("/batdau", CHAT)
    api.push(update, update)
    await api.wait_handled()
    assert len(api.calls_to("sendMessage", chat_id=CHAT)) == 1
    assert await processed_count(polling) == 1


async def test_polling_takes_a_list_and_survives_empty_polls(tmp_path: Path) -> None:
    async with FakeZaloAPI(list_updates=True) as api:
        app = build_app(make_settings(tmp_path, api), deliver=False)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            await api.wait_until(lambda: any(c.status == 408 for c in api.calls),
                                 what="an empty poll (408)")
            payload = json.loads((PAYLOADS / "updates_list.json").read_text())
            api.push(*payload["result"])
            await api.wait_handled()
            for chat in ("4d6f8a0b2c4e6a8c0e2f", "5e7a9b1c3d5f7b9d1f3a"):
                [reply] = api.texts(chat)
                assert "Bạn có đồng ý không?" in reply
            assert await processed_count(client) == 2


async def test_polling_backs_off_after_a_server_error(
    polling: TestClient, api: FakeZaloAPI
) -> None:
    api.fail_next("getUpdates", 1, error_code=502, description="Bad Gateway")
    await api.wait_until(lambda: any(c.status == 502 for c in api.calls), what="the 502")
    api.push(api.text_update("/batdau", CHAT))
    await api.wait_for("sendMessage", chat_id=CHAT)


async def test_polling_stops_when_the_token_is_revoked(
    polling: TestClient, api: FakeZaloAPI, caplog: pytest.LogCaptureFixture
) -> None:
    await api.wait_for("deleteWebhook")
    with caplog.at_level(logging.ERROR):
        api.reject_token()
        await api.wait_until(lambda: "polling stopped" in caplog.text, timeout=8,
                             what="the stop log line")
    calls = len(api.calls)
    api.push(api.text_update("/batdau", CHAT))
    await asyncio.sleep(0.3)  # proving that nothing happens needs a little time
    assert len(api.calls) == calls
    assert "THIDUA_ZALO_TOKEN" in caplog.text
    assert api.token not in caplog.text and api.token.split(":")[1] not in caplog.text


async def test_rejected_token_stops_the_start_without_showing_it(
    tmp_path: Path, api: FakeZaloAPI, caplog: pytest.LogCaptureFixture
) -> None:
    api.reject_token()
    server = TestServer(build_app(make_settings(tmp_path, api)), host="127.0.0.1")
    with pytest.raises(ZaloStartError) as error:
        await server.start_server()
    await server.close()
    assert "THIDUA_ZALO_TOKEN" in str(error.value) and "THIDUA_ZALO_TOKEN" in caplog.text
    assert api.token not in str(error.value) and api.token not in caplog.text


# --- webhook ------------------------------------------------------------------------------


async def test_webhook_is_registered_with_url_and_secret(
    webhook: TestClient, api: FakeZaloAPI
) -> None:
    [call] = api.calls_to("setWebhook")
    assert call.params == {"url": HOOK_URL, "secret_token": SECRET}
    assert api.calls_to("getUpdates", ok_only=False) == []


async def test_webhook_onboarding_end_to_end(webhook: TestClient, api: FakeZaloAPI) -> None:
    assert await post(webhook, {"ok": True, "result": api.text_update("/batdau", CHAT)}) == 200
    assert await post(webhook, api.text_update("toi dong y", CHAT)) == 200  # bare body, words
    assert "tổ dân phố nào" in api.texts(CHAT)[1]
    assert await post(webhook, api.text_update("3", CHAT)) == 200
    group = webhook.app[keys.WARD].groups[2]
    assert api.texts(CHAT)[2].startswith(texts.t("onboarding.joined", "vi", group=group.name))


async def test_webhook_refuses_a_wrong_or_missing_secret(
    webhook: TestClient, api: FakeZaloAPI
) -> None:
    before = counter("thidua_rejected_requests_total", channel="zalo", reason="secret")
    update = api.text_update("/batdau", CHAT)
    assert await post(webhook, update, secret="wrong-secret") == 401
    assert await post(webhook, update, secret=None) == 401
    assert await post(webhook, update, secret=SECRET[:-1]) == 401
    assert await post(webhook, update, secret=SECRET + "x") == 401
    assert api.calls_to("sendMessage") == []
    assert await processed_count(webhook) == 0
    after = counter("thidua_rejected_requests_total", channel="zalo", reason="secret")
    assert after - before == 4


async def test_webhook_handles_a_repeated_message_id_once(
    webhook: TestClient, api: FakeZaloAPI
) -> None:
    update = api.text_update("/batdau", CHAT)
    assert await post(webhook, update) == 200
    assert await post(webhook, {"ok": True, "result": update}) == 200
    assert len(api.calls_to("sendMessage", chat_id=CHAT)) == 1
    assert await processed_count(webhook) == 1


@pytest.mark.parametrize(
    "body", ["{not json", "[1, 2]", '"text"', "{}", '{"ok": false}', '{"ok": true}', "null"]
)
async def test_webhook_answers_junk_with_200_and_stores_nothing(
    webhook: TestClient, api: FakeZaloAPI, body: str
) -> None:
    assert await post(webhook, body) == 200
    assert await processed_count(webhook) == 0
    assert api.calls_to("sendMessage") == []


# Each recorded shape: is it handled (stored once), and what does the resident read?
SHAPES = {
    "text_wrapped": (1, "Bạn có đồng ý không?"),
    "text_bare": (1, "Bạn có đồng ý không?"),
    "text_first_name_no_event": (1, "Bạn có đồng ý không?"),
    "image": (1, "Bạn có đồng ý không?"),
    "image_photo_field": (1, "Bạn có đồng ý không?"),
    "sticker": (1, "Bạn có đồng ý không?"),
    "voice": (1, "Bạn có đồng ý không?"),
    "unsupported": (1, "Bạn có đồng ý không?"),
    "future_message_event": (1, "Bạn có đồng ý không?"),
    "updates_list": (2, "Bạn có đồng ý không?"),
    "group_text": (0, None),
    "unknown_event": (0, None),
    "missing_chat": (0, None),
    "from_bot": (0, None),
}


def test_every_recorded_payload_has_an_expected_outcome() -> None:
    assert sorted(SHAPES) == sorted(path.stem for path in PAYLOADS.glob("*.json"))


@pytest.mark.parametrize("name", sorted(SHAPES))
async def test_every_payload_shape_is_handled_politely(
    webhook: TestClient, api: FakeZaloAPI, name: str
) -> None:
    stored, shown = SHAPES[name]
    assert await post(webhook, (PAYLOADS / f"{name}.json").read_text()) == 200
    assert await processed_count(webhook) == stored
    sent = [c.params["text"] for c in api.calls_to("sendMessage")]
    if shown is None:
        assert sent == []
    else:
        assert len(sent) == stored and all(shown in text for text in sent)


def test_payload_fields_become_the_incoming_event() -> None:
    def parse(name: str) -> Any:
        [update] = updates_in(json.loads((PAYLOADS / f"{name}.json").read_text()))
        return to_incoming(update)

    wrapped = parse("text_wrapped")
    assert (wrapped.channel, wrapped.update_id, wrapped.chat_id, wrapped.user_id) == (
        "zalo", "2d4c8a9f1e3b5d7f90a1b2c3d4e5f601", "6ede9afa66b88fe6d6a9", "6ede9afa66b88fe6d6a9")
    assert (wrapped.kind, wrapped.text, wrapped.display_name) == (
        "text", "Xin chào", "Nguyễn Thị Lan")
    assert wrapped.received_at == datetime(2025, 11, 25, 3, 0, tzinfo=UTC)
    bare = parse("text_bare")
    assert (bare.kind, bare.command, bare.display_name) == ("command", "batdau", "Trần Văn Bình")
    inferred = parse("text_first_name_no_event")
    assert (inferred.kind, inferred.text, inferred.display_name) == (
        "text", "đăng ký", "Phạm Thu Hà")
    assert inferred.received_at == datetime(2025, 11, 25, 3, 2, tzinfo=UTC)
    for name in ("image", "image_photo_field"):
        photo = parse(name)
        assert photo.kind == "media" and photo.media.kind == "photo"
        assert photo.media.file_ref.startswith("https://photo-stal-1.zdn.vn/")
    assert parse("sticker").media.kind == "sticker"
    assert parse("voice").media.kind == "audio"
    assert parse("unsupported").kind == "other"
    assert parse("future_message_event").kind == "other"  # a file is not a photo
    for name in ("group_text", "unknown_event", "missing_chat", "from_bot"):
        assert parse(name) is None, name


ODD = [
    {"message": {"chat": [], "from": "x"}},
    {"message": {"message_id": {}, "chat": {"id": {"a": 1}}, "from": {"id": None}}},
    {"event_name": 5, "message": {"message_id": "a1", "chat": {"id": "c1"}, "text": "hi"}},
    {"message": {"message_id": "a2", "chat": {"id": "c1"}, "date": "hôm qua", "text": ["x"]}},
    {"message": {"message_id": "a3", "chat": {"id": "c1"}, "date": 10**30, "text": "/"}},
    {"message": {"message_id": "a4" * 50, "chat": {"id": "c" * 65}, "text": "hi"}},
    {"event_name": "message.image.received", "message": {"chat": {"id": "c1"},
                                                        "photo": [{"url": 3}]}},
    {"event_name": "message.sticker.received", "message": {"chat": {"id": "c1"},
                                                          "sticker": {"id": None}}},
    {"message": {"message_id": True, "chat": {"id": 12345, "chat_type": None}, "text": ""}},
]


@pytest.mark.parametrize("update", ODD)
def test_odd_updates_never_raise(update: dict[str, Any]) -> None:
    incoming = to_incoming(update)
    assert incoming is None or incoming.kind in ("text", "command", "media", "other")


async def test_odd_updates_on_the_webhook_get_200(webhook: TestClient) -> None:
    for update in ODD:
        assert await post(webhook, update) == 200


async def test_wrong_kinds_of_message_get_a_polite_answer_inside_a_flow(
    webhook: TestClient, api: FakeZaloAPI
) -> None:
    for text in ("/batdau", "1", "5"):
        await post(webhook, api.text_update(text, CHAT))
    await post(webhook, api.text_update("/dangky", CHAT))
    await post(webhook, api.text_update("1", CHAT))
    assert "Họ và tên chủ hộ" in api.texts(CHAT)[-1]
    before = len(api.texts(CHAT))
    for update in (api.image_update(CHAT), api.sticker_update(CHAT),
                   api.unsupported_update(CHAT)):
        assert await post(webhook, update) == 200
    answers = api.texts(CHAT)[before:]
    assert len(answers) == 3
    assert all(texts.t("flow.expect_text", "vi") in answer for answer in answers)
    assert all("Họ và tên chủ hộ" in answer for answer in answers)
    await post(webhook, api.text_update("/huy", CHAT))
    await post(webhook, api.sticker_update(CHAT))
    assert api.texts(CHAT)[-2] == texts.t("fallback.media", "vi")
    assert api.texts(CHAT)[-1].startswith("Bạn muốn làm gì?")


async def test_typed_steps_offer_back_and_skip_as_words_and_numbers_inline(
    webhook: TestClient, api: FakeZaloAPI
) -> None:
    for text in ("/batdau", "1", "5", "/dangky", "1", "Nguyễn Văn An"):
        await post(webhook, api.text_update(text, CHAT))
    assert api.texts(CHAT)[-1].endswith("\n\nHoặc gõ: “Quay lại”")
    for text in ("Số 12, ngõ 34, phố Lê Lợi", "0912 345 678"):
        await post(webhook, api.text_update(text, CHAT))
    members = api.texts(CHAT)[-1]
    assert members.endswith("\n\n1 · 2 · 3 · 4 · 5 · 6\nHoặc gõ: “Quay lại”")
    await post(webhook, api.text_update("quay lai", CHAT))
    assert "Số điện thoại liên hệ" in api.texts(CHAT)[-1]


async def test_english_chats_read_english_hints(webhook: TestClient, api: FakeZaloAPI) -> None:
    for text in ("/batdau", "1", "5", "/ngonngu", "2"):
        await post(webhook, api.text_update(text, CHAT))
    await post(webhook, api.text_update("/menu", CHAT))
    assert api.texts(CHAT)[-1].endswith("\n" + texts.t("zalo.numbered_hint", "en"))


# --- outbound -----------------------------------------------------------------------------


async def test_long_text_is_split_at_boundaries_with_the_choices_last(
    webhook: TestClient, api: FakeZaloAPI
) -> None:
    paragraph = "Tổ dân phố 3 đã hoàn thành đăng ký hộ gia đình văn hoá. " * 12
    text = "\n\n".join(f"{n}) {paragraph.strip()}" for n in range(1, 8))
    reply = Reply(text=text, buttons=((Button("Xem tiếp", "more"),),))
    result = await channel_of(webhook).send(CHAT, reply)
    calls = api.calls_to("sendMessage", chat_id=CHAT)
    assert len(calls) >= 3
    assert all(utf16_len(c.params["text"]) <= 2000 for c in calls)
    assert all(c.params["text"].rstrip().endswith((".", "”")) for c in calls)
    assert calls[-1].params["text"].endswith("Bạn có thể gõ: “Xem tiếp”")
    assert result.status == "sent"
    assert result.message_id == api.sent[CHAT][-1]["message_id"]


async def test_only_the_last_choices_of_an_answer_are_numbered(
    webhook: TestClient, api: FakeZaloAPI
) -> None:
    status = Reply("📤 Đã xếp 3 tin vào hàng gửi.",
                   buttons=((Button("📊 Xem tiến độ", "cmd:tinhtrang:3"),),))
    menu = Reply("Bạn muốn làm gì?", buttons=((Button("🏠 Đăng ký hộ", "cmd:dangky"),),
                                            (Button("🏡 Hộ của tôi", "cmd:hocuatoi"),)))
    await channel_of(webhook).deliver(CHAT, [status, menu])
    assert api.texts(CHAT) == [
        "📤 Đã xếp 3 tin vào hàng gửi.\n\nBạn có thể gõ: /tinhtrang 3 (Xem tiến độ)",
        f"Bạn muốn làm gì?\n\n1. 🏠 Đăng ký hộ\n2. 🏡 Hộ của tôi\n{HINT}",
    ]


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("ngắn", 2000, ["ngắn"]),
        ("một hai ba bốn", 8, ["một hai", "ba bốn"]),
        ("Câu thứ nhất dài. Câu hai.", 20, ["Câu thứ nhất dài.", "Câu hai."]),
        ("dòng 1\ndòng 2\ndòng 3", 14, ["dòng 1\ndòng 2", "dòng 3"]),
        ("x" * 10, 4, ["xxxx", "xxxx", "xx"]),
        ("🎉" * 5, 4, ["🎉🎉", "🎉🎉", "🎉"]),
    ],
)
def test_split_text(text: str, limit: int, expected: list[str]) -> None:
    assert split_text(text, limit) == expected


async def test_a_chart_goes_as_a_photo_zalo_fetches_from_our_server(
    webhook: TestClient, api: FakeZaloAPI
) -> None:
    api.fetch_photos = True
    png = b"\x89PNG\r\n\x1a\n" + b"chart" * 50
    chart = Attachment("tien-do.png", "image/png", png, caption="Tiến độ đăng ký 2026")
    result = await channel_of(webhook).send(CHAT, Reply("Biểu đồ tiến độ:", attachment=chart))
    assert result.status == "sent"
    [text] = api.calls_to("sendMessage", chat_id=CHAT)
    [photo] = api.calls_to("sendPhoto", chat_id=CHAT)
    assert api.calls.index(text) < api.calls.index(photo)
    public = webhook.app[keys.SETTINGS].public_url
    assert photo.params["photo"].startswith(f"{public}/dl/")
    assert photo.params["photo"].endswith("/tien-do.png")
    assert photo.params["caption"] == "Tiến độ đăng ký 2026"
    [fetched] = api.fetched
    assert (fetched.status, fetched.content_type, fetched.body) == (200, "image/png", png)


async def test_a_file_is_sent_as_a_short_lived_link(
    webhook: TestClient, api: FakeZaloAPI
) -> None:
    content = "Tổ,Số hộ\n01,838\n".encode("utf-8-sig")
    file = Attachment("ket-qua.csv", "text/csv", content, caption="Kết quả khảo sát")
    result = await channel_of(webhook).send(CHAT, Reply("", attachment=file))
    assert result.status == "sent"
    assert api.calls_to("sendPhoto") == []
    [message] = api.texts(CHAT)
    assert message.startswith("Kết quả khảo sát\n\n📎 ket-qua.csv\n")
    assert "Liên kết dùng được trong 15 phút." in message
    url = next(line for line in message.splitlines() if line.startswith("http"))
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200
        assert await response.read() == content


@pytest.mark.parametrize(
    ("error", "status", "retry_after"),
    [
        ({"error_code": 429, "description": "Quota exceeded", "retry_after": 7},
         "retry_after", 7.0),
        ({"error_code": 429, "description": "Quota exceeded"}, "retry_after", None),
        ({"error_code": -32, "description": "API call limit reached"}, "retry_after", None),
        ({"error_code": -217, "description": "User has blocked invitation"}, "blocked", None),
        ({"error_code": 404, "description": "User not found"}, "blocked", None),
        ({"error_code": 400, "description": "The user blocked this bot"}, "blocked", None),
        ({"error_code": 403, "description": "Internal server error"}, "retry_after", None),
        ({"error_code": 502, "description": "Bad Gateway"}, "retry_after", None),
        ({"error_code": 404, "description": "Not Found"}, "failed", None),
        ({"error_code": 400, "description": "text is invalid"}, "failed", None),
        ({"error_code": 401, "description": "Unauthorized"}, "failed", None),
    ],
)
async def test_send_maps_api_errors(
    webhook: TestClient, api: FakeZaloAPI, error: dict[str, Any], status: str,
    retry_after: float | None,
) -> None:
    api.fail_next("sendMessage", 1, **error)
    before = counter("thidua_messages_sent_total", channel="zalo", status=status)
    result = await channel_of(webhook).send(CHAT, Reply(text="Xin chào"))
    assert (result.status, result.retry_after) == (status, retry_after)
    assert str(error["error_code"]) in (result.reason or "")
    assert counter("thidua_messages_sent_total", channel="zalo", status=status) == before + 1


async def test_errors_are_read_from_the_envelope_whatever_the_http_status(
    tmp_path: Path
) -> None:
    async with FakeZaloAPI(error_http_status=True) as api:
        settings = make_settings(tmp_path, api, zalo_webhook_url=HOOK_URL,
                                 zalo_webhook_secret=SECRET)
        async with TestClient(TestServer(build_app(settings, deliver=False))) as client:
            api.rate_limit("sendMessage", 1, retry_after=3)
            result = await channel_of(client).send(CHAT, Reply(text="Xin chào"))
            assert (result.status, result.retry_after) == ("retry_after", 3.0)
            assert api.calls_to("sendMessage", ok_only=False)[0].status == 429


async def test_a_wrong_token_is_logged_once_by_setting_name_never_by_value(
    webhook: TestClient, api: FakeZaloAPI, caplog: pytest.LogCaptureFixture
) -> None:
    api.reject_token()
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            result = await channel_of(webhook).send(CHAT, Reply(text="Thông báo"))
            assert result.status == "failed"
    lines = [r for r in caplog.records if "THIDUA_ZALO_TOKEN" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.ERROR
    assert api.token not in caplog.text


async def test_network_trouble_is_retried_later(tmp_path: Path, api: FakeZaloAPI) -> None:
    settings = make_settings(tmp_path, api, zalo_webhook_url=HOOK_URL, zalo_webhook_secret=SECRET)
    async with TestClient(TestServer(build_app(settings, deliver=False))) as client:
        await api.close()
        result = await channel_of(client).send(CHAT, Reply(text="Xin chào"))
    assert (result.status, result.retry_after) == ("retry_after", None)
    assert result.reason and result.reason.startswith("network:")
    assert api.token not in result.reason


async def test_numbers_answer_the_reply_they_were_shown_with_even_mid_flow(
    webhook: TestClient, api: FakeZaloAPI
) -> None:
    for text in ("/batdau", "1", "5", "/khaosat"):
        await post(webhook, api.text_update(text, CHAT))
    assert "Câu 1/8" in api.texts(CHAT)[-1]
    await post(webhook, api.text_update("/dangky", CHAT))
    assert "\n1. ▶️ Tiếp tục\n2. ✖️ Huỷ việc đang làm\n" in api.texts(CHAT)[-1]
    await post(webhook, api.text_update("1", CHAT))  # continue, not "Rất không hài lòng"
    assert "Câu 1/8" in api.texts(CHAT)[-1]
    await post(webhook, api.text_update("/toi", CHAT))
    assert "\n1. 🏠 Hộ của tôi\n" in api.texts(CHAT)[-1]
    await post(webhook, api.text_update("1", CHAT))  # "my household", not an answer
    assert "Câu 1/8" not in api.texts(CHAT)[-1]
    await post(webhook, api.text_update("/dangky", CHAT))
    await post(webhook, api.text_update("2", CHAT))  # cancel the survey
    assert texts.t("cancel.done", "vi", title=texts.t("surveys.title", "vi")) in "\n".join(
        api.texts(CHAT)[-2:])
    async with webhook.app[keys.SESSIONMAKER]() as session:
        answered = await session.scalar(select(func.count()).select_from(SurveyResponse))
    assert answered == 0
