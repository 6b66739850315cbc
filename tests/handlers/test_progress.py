"""/tiendo: a leader's groups, the ward ranked for officers, checked to the number."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.settings import DEFAULT_WARD_CONFIG
from bot.ward import WardConfig, load_ward_config
from storage.models.roles import AuditEntry
from tests.fake_channel import FakeChannel, give_role
from tests.storage.test_progress_repo import seed_progress

# Small groups, so that a few seeded households make round shares.
HOUSEHOLDS = {"05": 8, "07": 4, "01": 10}
OTHERS = 20
WARD_TOTAL = 8 + 4 + 10 + 20 * OTHERS  # 422


@pytest.fixture(scope="module")
def ward() -> WardConfig:
    """An Hải with small household counts per group."""
    real = load_ward_config(DEFAULT_WARD_CONFIG)
    groups = tuple(g.model_copy(update={"households": HOUSEHOLDS.get(g.code, OTHERS)})
                   for g in real.groups)
    return real.model_copy(update={"groups": groups})


async def staff(make_chat, sessionmaker, role: str, group: str | None = None) -> FakeChannel:
    chat = make_chat(f"{role}-{group}")
    await chat.join(f"Tổ dân phố {int(group or '1')}")
    await give_role(sessionmaker, chat, role, group)
    return chat


async def test_a_leader_sees_their_groups_figures(make_chat, sessionmaker, ward):
    await seed_progress(sessionmaker, ward)
    leader = await staff(make_chat, sessionmaker, "leader", "05")
    await leader.say("/menu")
    await leader.press("Tiến độ thi đua")
    text = leader.text
    assert "📊 Tiến độ năm 2026 — Tổ dân phố 5" in text
    assert "3/8 hộ (37,5%) — mục tiêu 50%: còn thiếu 1 hộ" in text
    assert "66,7% hài lòng (3 phiếu) — mục tiêu trên 85%: chưa đạt" in text
    assert "(khảo sát đang mở)" in text
    assert "• Kinh tế: 0 · 2" in text
    assert "• An ninh - Trật tự: 0 · 0" in text
    assert "Mục tiêu cả phường, mỗi lĩnh vực: 5–10 tập thể, 15–20 cá nhân." in text
    assert "Xếp hạng" not in text
    await leader.say("/tiendo 7")
    assert "bạn chỉ làm việc được với Tổ dân phố 5, không phải Tổ dân phố 7" in leader.text
    assert "hộ (" not in leader.text
    async with sessionmaker() as session:
        [entry] = (await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "denied"))).all()
    assert (entry.target, entry.details["group"]) == ("/tiendo", "07")


async def test_a_met_target_gets_a_tick(make_chat, sessionmaker, ward):
    await seed_progress(sessionmaker, ward)
    leader = await staff(make_chat, sessionmaker, "leader", "07")
    await leader.say("tiến độ")
    assert "2/4 hộ (50,0%) — mục tiêu 50% ✅" in leader.text
    assert "100,0% hài lòng (2 phiếu) — mục tiêu trên 85% ✅" in leader.text
    assert "• Kinh tế: 1 · 0" in leader.text
    assert "• An ninh - Trật tự: 0 · 1" in leader.text


async def test_officers_see_the_ward_with_the_groups_ranked(make_chat, sessionmaker, ward):
    await seed_progress(sessionmaker, ward)
    officer = await staff(make_chat, sessionmaker, "officer")
    await officer.say("/tiendo")
    text = officer.text
    assert "📊 Tiến độ năm 2026 — Phường An Hải" in text
    assert f"7/{WARD_TOTAL} hộ (1,7%) — mục tiêu 50%: còn thiếu 204 hộ" in text
    assert "66,7% hài lòng (6 phiếu) — mục tiêu trên 85%: chưa đạt" in text
    assert "• Kinh tế: 1/5–10 · 2/15–20" in text
    assert "• An ninh - Trật tự: 0/5–10 · 1/15–20" in text
    ranking = text[text.index("🏆"):].splitlines()[1:]
    assert ranking == [
        "1. Tổ dân phố 7: 50,0% (2/4) ✅",
        "2. Tổ dân phố 5: 37,5% (3/8)",
        "3. Tổ dân phố 1: 10,0% (1/10)",
        "4. Tổ dân phố 12: 5,0% (1/20)",
        "5. Tổ dân phố 2: 0,0% (0/20)",
        "…",
        *(f"{n}. Tổ dân phố {n}: 0,0% (0/20)" for n in range(19, 24)),
    ]
    assert all(len(line) <= 40 for line in ranking)
    await officer.press("Xem tất cả")
    full = officer.text[officer.text.index("🏆"):].splitlines()[1:]
    zeros = [n for n in range(1, 24) if n not in (1, 5, 7, 12)]
    assert full == [
        "1. Tổ dân phố 7: 50,0% (2/4) ✅",
        "2. Tổ dân phố 5: 37,5% (3/8)",
        "3. Tổ dân phố 1: 10,0% (1/10)",
        "4. Tổ dân phố 12: 5,0% (1/20)",
        *(f"{place}. Tổ dân phố {n}: 0,0% (0/20)" for place, n in enumerate(zeros, start=5)),
    ]
    assert officer.labels() == []
    await officer.say("/tiendo tổ 7")
    assert "📊 Tiến độ năm 2026 — Tổ dân phố 7" in officer.text
    assert "2/4 hộ (50,0%)" in officer.text


async def test_without_a_survey_or_answers_it_says_so(make_chat, sessionmaker):
    leader = await staff(make_chat, sessionmaker, "leader", "05")
    await leader.say("/tiendo")
    assert "0/8 hộ (0,0%) — mục tiêu 50%: còn thiếu 4 hộ" in leader.text
    assert "😊 Hài lòng: chưa có khảo sát nào." in leader.text


@pytest.mark.parametrize("command", ["/tiendo", "/progress"])
async def test_residents_and_guests_are_refused(make_chat, sessionmaker, command):
    resident, guest = make_chat("resident"), make_chat("guest")
    await resident.join()
    for chat in (resident, guest):
        await chat.say(command)
        assert "chỉ dành cho cán bộ" in chat.text
    async with sessionmaker() as session:
        entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    assert [(e.action, e.target, e.details["role"]) for e in entries] == [
        ("denied", "/tiendo", "resident"), ("denied", "/tiendo", "guest"),
    ]
