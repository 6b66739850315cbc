"""Data for the export tests: survey responses with known figures, households, nominations,
and one resident whose personal data must never reach a survey export."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.settings import DEFAULT_WARD_CONFIG
from bot.ward import WardConfig, load_ward_config
from storage.models.surveys import SurveyResponse
from storage.repos import households, nominations, residents, surveys
from storage.repos.households import HouseholdDetails

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
OPENED = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)
# 00:30 on 24/11/2026 in Hải Phòng, still 23/11 in UTC.
JUST_AFTER_MIDNIGHT = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)
LAST_YEAR = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)

# Responses per group: (how many, how many satisfied).
RESPONSES = {"05": (100, 90), "07": (20, 18), "01": (10, 5), "03": (200, 190)}
SATISFIED_SCALE = (5, 4, 4, 5)
UNSATISFIED_SCALE = (3, 2, 3, 3)

SECRET_NAME = "Phạm Văn Bí Mật"
SECRET_ADDRESS = "Số 99 ngõ Kín"
SECRET_PHONE = "+84912345678"
SECRET_USER = "secret-user-4242"
SECRET_CHAT = "secret-chat-4242"
SECRET_NOMINEE = "Trần Thị Kín Đáo"
# Every form in which the secrets could leak into a file.
SECRETS = (SECRET_NAME, SECRET_ADDRESS, SECRET_USER, SECRET_CHAT, SECRET_NOMINEE,
           "912345678", "912 345 678", "0912 345 678")

# Small groups so that shares are round: 05 has 4 households, 07 has 10, the rest 20.
HOUSEHOLDS = {"05": 4, "07": 10}
OTHERS = 20


def small_ward() -> WardConfig:
    """An Hải with small household counts per group."""
    real = load_ward_config(DEFAULT_WARD_CONFIG)
    groups = tuple(g.model_copy(update={"households": HOUSEHOLDS.get(g.code, OTHERS)})
                   for g in real.groups)
    return real.model_copy(update={"groups": groups})


def answers(index: int, satisfied: bool) -> dict[str, object]:
    """One response: scale answers, a single choice, two picks, yes/no, maybe a comment."""
    scale = SATISFIED_SCALE if satisfied else UNSATISFIED_SCALE
    return {
        **{f"q{n}": value for n, value in enumerate(scale, start=1)},
        "q5": index % 5,
        "q6": [1, 2] if index % 2 == 0 else [4],
        "q7": index % 4 != 0,
        "q8": f"Góp ý số {index}" if index % 10 == 0 else None,
    }


async def seed_survey(sessionmaker, ward: WardConfig) -> int:
    """The ward survey with RESPONSES; the first response of 05 belongs to the secret resident."""
    async with sessionmaker() as session, session.begin():
        survey = await surveys.ensure_ward_survey(session, ward.survey, OPENED)
        resident = await residents.join(
            session, channel="telegram", user_id=SECRET_USER, chat_id=SECRET_CHAT,
            group_code="05", lang="vi", consent_at=OPENED, consent_version="test",
        )
        await households.register(
            session, HouseholdDetails("05", SECRET_NAME, SECRET_ADDRESS, SECRET_PHONE, 4),
            household_id=None, resident_id=resident.id, consent_at=OPENED, year=2026,
            campaigns=["ngoi-nha-xanh"], at=OPENED,
        )
        await nominations.create(
            session, nominator_resident_id=resident.id, kind="individual",
            nominee_name=SECRET_NOMINEE, group_code="05", field_code="kinh-te",
            description="Giúp hàng xóm sửa nhà", photo_channel=None, photo_ref=None,
            year=2026, now=OPENED,
        )
        for group, (count, satisfied) in RESPONSES.items():
            for index in range(count):
                first = group == "05" and index == 0
                session.add(SurveyResponse(
                    survey_id=survey.id, group_code=group,
                    resident_id=resident.id if first else None,
                    answers=answers(index, index < satisfied), started_at=OPENED,
                    submitted_at=JUST_AFTER_MIDNIGHT if first else NOW,
                ))
        return survey.id


async def seed_households(sessionmaker) -> None:
    """This year: 3 households in 05 (one by the leader), 2 in 07; one only last year."""
    rows = [
        ("05", "Nguyễn Văn An", "Số 1 phố Lê Lợi", "+84912000001", 2026, "self",
         ["ngoi-nha-xanh", "phan-loai-rac"]),
        ("05", "Lê Thị Bình", "Số 2 phố Lê Lợi", "+84912000002", 2026, "leader",
         ["phan-loai-rac"]),
        ("05", "Trần Văn Cường", "Số 3 phố Lê Lợi", "+84912000003", 2026, "self",
         ["doi-song-van-hoa"]),
        ("07", "Đỗ Thị Dung", "Số 4 ngõ Chợ", "+84912000004", 2026, "self", ["phan-loai-rac"]),
        ("07", "Hoàng Văn Em", "Số 5 ngõ Chợ", "+84912000005", 2026, "self", ["ngoi-nha-xanh"]),
        ("07", "Vũ Thị Giang", "Số 6 ngõ Chợ", "+84912000006", 2025, "self", ["ngoi-nha-xanh"]),
    ]
    async with sessionmaker() as session, session.begin():
        for group, name, address, phone, year, by, campaigns in rows:
            at = NOW if year == 2026 else LAST_YEAR
            await households.register(
                session, HouseholdDetails(group, name, address, phone, 3), household_id=None,
                resident_id=None, consent_at=at, consent_by=by, year=year, campaigns=campaigns,
                at=at,
            )


async def seed_nominations(sessionmaker) -> list[str]:
    """Four nominations this year (honoured, rejected, approved, submitted), one last year."""
    plan = [
        ("individual", "Nguyễn Thị Hoa", "05", "kinh-te", ["approved", "honoured"], None),
        ("collective", "Chi hội Phụ nữ tổ 7", "07", "van-hoa-xa-hoi", ["rejected"],
         "Chưa đủ minh chứng"),
        ("individual", "Phạm Văn Hùng", "07", "an-ninh-trat-tu", ["approved"], None),
        ("individual", "Lê Văn Khánh", "01", "kinh-te", [], None),
    ]
    codes = []
    async with sessionmaker() as session, session.begin():
        old = await nominations.create(
            session, nominator_resident_id=None, kind="individual", nominee_name="Cũ Văn Xưa",
            group_code="05", field_code="kinh-te", description="Việc tốt năm ngoái",
            photo_channel=None, photo_ref=None, year=2025, now=LAST_YEAR,
        )
        codes.append(old.code)
        for kind, name, group, field, moves, reason in plan:
            made = await nominations.create(
                session, nominator_resident_id=None, kind=kind, nominee_name=name,
                group_code=group, field_code=field, description="Việc tốt " * 3,
                photo_channel=None, photo_ref=None, year=2026, now=OPENED,
            )
            for status in moves:
                await nominations.set_status(session, made, status, reason=reason,
                                             actor_resident_id=None, now=NOW)
            codes.append(made.code)
    return codes
