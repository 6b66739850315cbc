"""Survey results as officers and leaders get them: sheets, figures, dates, no personal data."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.exports import ExportRefused, ExportRequest, build_export, discard
from bot.ward import WardConfig
from storage.models.roles import AuditEntry
from storage.repos import exports as repo
from storage.repos import surveys
from tests.exports.files import csv_rows, every_text, export, rows, workbook
from tests.exports.seed import NOW, SECRETS, seed_survey, small_ward


@pytest.fixture(scope="module")
def ward() -> WardConfig:
    return small_ward()


def by_label(table: list[tuple]) -> dict[str, tuple]:
    return {row[0]: row for row in table[1:]}


async def test_officers_get_responses_counts_and_satisfaction(sessionmaker, ward):
    await seed_survey(sessionmaker, ward)
    made = await export(sessionmaker, ward, "surveys", "xlsx")
    assert made.mime == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert made.filename == "khao-sat-hai-long-2026-20261124-1000.xlsx"
    assert made.caption.endswith("· 330 phiếu, hài lòng 91,8% · xuất ngày 24/11/2026")
    book = workbook(made)
    assert book.sheetnames == ["Tóm tắt", "Phiếu trả lời", "Từng câu hỏi", "Hài lòng theo tổ"]
    assert book.active.title == "Tóm tắt"

    responses = rows(book, "Phiếu trả lời")
    assert responses[0][:3] == (
        "Tổ dân phố", "Ngày trả lời",
        "Câu 1. Bạn hài lòng thế nào với việc phổ biến các phong trào thi đua ở tổ dân phố?",
    )
    assert responses[0][-1].startswith("Câu 8. Bạn có góp ý gì")
    assert len(responses) == 1 + 330
    # The first response came at 00:30 on 24/11 in Hải Phòng (23/11 in UTC).
    assert responses[1] == ("Tổ dân phố 5", datetime(2026, 11, 24), 5, 4, 4, 5,
                            "Họp tổ dân phố", "An ninh trật tự; Hỗ trợ người nghèo", "Không",
                            "Góp ý số 0")
    assert responses[2][6:10] == ("Loa phát thanh", "Văn hóa, thể thao", "Có", None)
    sheet = book["Phiếu trả lời"]
    assert sheet["B2"].is_date and sheet["B2"].number_format == "dd/mm/yyyy"
    assert sheet["A1"].font.b and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["C"].width >= 10

    satisfaction = rows(book, "Hài lòng theo tổ")
    assert satisfaction[0] == ("Tổ dân phố", "Số phiếu", "Số phiếu hài lòng (4–5)", "Tỉ lệ",
                               "Cận dưới (95%)", "Cận trên (95%)", "Mục tiêu", "Đánh giá")
    table = by_label(satisfaction)
    group5 = table["Tổ dân phố 5"]
    assert group5[:3] == ("Tổ dân phố 5", 100, 90) and group5[3] == pytest.approx(0.9)
    assert group5[4] == pytest.approx(0.8256, abs=5e-4)
    assert group5[5] == pytest.approx(0.9448, abs=5e-4)
    assert (group5[6], group5[7]) == (0.85, "đạt (theo số ước tính)")
    assert table["Tổ dân phố 3"][1:3] == (200, 190)
    assert table["Tổ dân phố 3"][7] == "đạt (chắc chắn)"
    assert table["Tổ dân phố 7"][1:3] == (20, 18)
    assert table["Tổ dân phố 7"][7] == "đạt (theo số ước tính)"
    assert table["Tổ dân phố 1"][7] == "chưa đạt"
    assert table["Tổ dân phố 2"] == ("Tổ dân phố 2", 0, 0, None, None, None, 0.85,
                                     "chưa có phiếu")
    ward_row = table["Toàn phường"]
    assert ward_row[1:3] == (330, 303) and ward_row[7] == "đạt (chắc chắn)"
    assert [row[0] for row in satisfaction[1:]] == [
        *(f"Tổ dân phố {n}" for n in range(1, 24)), "Toàn phường"]
    shares = book["Hài lòng theo tổ"]
    assert shares["D6"].number_format == "0.0%" and shares["E6"].number_format == "0.0%"

    questions = rows(book, "Từng câu hỏi")
    assert questions[0] == ("Câu", "Câu hỏi", "Lựa chọn", "Số phiếu",
                            "Tỉ lệ (trên số phiếu trả lời câu)")
    q5 = [row for row in questions if row[0] == 5]
    assert q5[0][2:4] == ("Số phiếu trả lời câu này", 330)
    assert [(row[2], row[3]) for row in q5[1:]] == [
        ("Họp tổ dân phố", 66), ("Loa phát thanh", 66), ("Zalo / mạng xã hội", 66),
        ("Cán bộ đến nhà", 66), ("Khác", 66)]
    assert q5[1][4] == pytest.approx(0.2)
    q1 = [row for row in questions if row[0] == 1]
    assert [row[2] for row in q1[1:]] == ["1 · Rất không hài lòng", "2 · Không hài lòng",
                                          "3 · Bình thường", "4 · Hài lòng", "5 · Rất hài lòng"]
    assert q1[5][3] == 303 and q1[3][3] == 27
    q8 = [row for row in questions if row[0] == 8]
    assert q8 == [(8, "Bạn có góp ý gì để công tác thi đua, khen thưởng tốt hơn?",
                   "Số phiếu trả lời câu này", 33, None)]

    summary = {row[0]: row[1] for row in rows(book, "Tóm tắt")[2:] if row[0]}
    assert rows(book, "Tóm tắt")[0][0].startswith("Kết quả khảo sát “Khảo sát mức độ hài lòng")
    assert summary["Phường"] == "Phường An Hải"
    assert summary["Thời điểm xuất"] == datetime(2026, 11, 24, 10, 0)
    assert summary["Tổ dân phố"] == "Tất cả các tổ"
    assert summary["Số phiếu tính tỉ lệ hài lòng"] == 330
    assert summary["Tỉ lệ hài lòng (trả lời 4 hoặc 5)"] == pytest.approx(303 / 330)
    assert summary["Khoảng tin cậy 95% (Wilson)"] == "88,4% – 94,3%"
    assert summary["Mục tiêu"] == 0.85
    assert summary["Đánh giá"] == "đạt (chắc chắn)"
    assert summary["Phiếu trả lời"] == "330 dòng"


async def test_no_personal_data_in_survey_exports(sessionmaker, ward):
    await seed_survey(sessionmaker, ward)
    book_text = every_text(workbook(await export(sessionmaker, ward, "surveys", "xlsx")))
    csv_text = "\n".join(",".join(r) for r in
                         csv_rows(await export(sessionmaker, ward, "surveys", "csv")))
    leader_text = every_text(workbook(await export(
        sessionmaker, ward, "surveys", "xlsx", role="leader", own_groups=("05",))))
    for text in (book_text, csv_text, leader_text):
        for secret in SECRETS:
            assert secret not in text
    # ...while the registrations export, for officers, does hold the household's head.
    households = every_text(workbook(await export(sessionmaker, ward, "registrations", "xlsx")))
    assert SECRETS[0] in households and "0912 345 678" in households


async def test_the_csv_is_the_responses_with_vietnamese_intact(sessionmaker, ward):
    await seed_survey(sessionmaker, ward)
    made = await export(sessionmaker, ward, "surveys", "csv")
    assert (made.mime, made.filename) == ("text/csv", "khao-sat-hai-long-2026-20261124-1000.csv")
    table = csv_rows(made)
    assert table[0][:2] == ["Tổ dân phố", "Ngày trả lời"] and len(table) == 331
    assert table[1] == ["Tổ dân phố 5", "24/11/2026", "5", "4", "4", "5", "Họp tổ dân phố",
                        "An ninh trật tự; Hỗ trợ người nghèo", "Không", "Góp ý số 0"]


async def test_a_leader_gets_the_figures_of_their_groups_only(sessionmaker, ward):
    await seed_survey(sessionmaker, ward)
    made = await export(sessionmaker, ward, "surveys", "xlsx", role="leader",
                        own_groups=("05", "07"))
    assert made.filename == "khao-sat-hai-long-2026-to-05-07-20261124-1000.xlsx"
    book = workbook(made)
    assert book.sheetnames == ["Tóm tắt", "Hài lòng theo tổ", "Từng câu hỏi"]
    table = by_label(rows(book, "Hài lòng theo tổ"))
    assert list(table) == ["Tổ dân phố 5", "Tổ dân phố 7", "Cộng các tổ đã chọn"]
    assert table["Cộng các tổ đã chọn"][1:3] == (120, 108)
    q5 = [row for row in rows(book, "Từng câu hỏi") if row[0] == 5]
    assert q5[0][3] == 120
    summary = {row[0]: row[1] for row in rows(book, "Tóm tắt")[2:] if row[0]}
    assert summary["Tổ dân phố"] == "Tổ dân phố 5, Tổ dân phố 7"
    # The CSV of a leader is the satisfaction table: no response rows.
    table = csv_rows(await export(sessionmaker, ward, "surveys", "csv", role="leader",
                                  own_groups=("05", "07"), groups=("7",)))
    assert table[1:] == [["Tổ dân phố 7", "20", "18", "90,0%", "69,9%", "97,2%", "85,0%",
                          "đạt (theo số ước tính)"],
                         ["Cộng các tổ đã chọn", "20", "18", "90,0%", "69,9%", "97,2%",
                          "85,0%", "đạt (theo số ước tính)"]]


@pytest.mark.parametrize(("role", "kind", "groups", "key"), [
    ("resident", "surveys", None, "exports.refused"),
    ("guest", "surveys", None, "exports.refused"),
    ("leader", "registrations", None, "exports.officers_only"),
    ("leader", "nominations", None, "exports.officers_only"),
    ("leader", "surveys", ("07",), "exports.not_your_group"),
])
async def test_refusals_are_audited(sessionmaker, ward, role, kind, groups, key):
    await seed_survey(sessionmaker, ward)
    async with sessionmaker() as session, session.begin():
        with pytest.raises(ExportRefused) as refused:
            await build_export(session, ExportRequest(kind, "xlsx", groups=groups), ward=ward,
                               role=role, now=NOW, actor="resident:9", own_groups={"05"})
    assert refused.value.key == key
    async with sessionmaker() as session:
        [entry] = (await session.scalars(select(AuditEntry))).all()
    assert (entry.action, entry.actor, entry.target) == ("denied", "resident:9", f"export:{kind}")
    assert entry.details["role"] == role and entry.details["reason"] == key


async def test_every_export_is_audited_with_its_filters_and_rows(sessionmaker, ward):
    await seed_survey(sessionmaker, ward)
    await export(sessionmaker, ward, "surveys", "csv", actor="resident:3", groups=("5", "01"))
    await export(sessionmaker, ward, "surveys", "png", actor="cli", year=2026)
    async with sessionmaker() as session:
        entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    assert [(e.action, e.actor, e.target) for e in entries] == [
        ("export", "resident:3", "surveys"), ("export", "cli", "surveys")]
    first, second = (e.details for e in entries)
    assert (first["format"], first["rows"], first["groups"], first["year"]) == (
        "csv", 110, ["01", "05"], 2026)
    assert (second["format"], second["rows"], second["groups"]) == ("png", 330, None)
    assert first["survey"] == second["survey"] and first["role"] == "officer"


async def test_grouped_satisfaction_matches_the_progress_definition(sessionmaker, ward):
    survey_id = await seed_survey(sessionmaker, ward)
    async with sessionmaker() as session:
        grouped = await repo.satisfaction_by_group(session, survey_id)
        for group in ("05", "07", "01", "03", "02"):
            expected = await surveys.satisfaction(session, survey_id, group)
            assert grouped.get(group, (0, 0)) == expected
        ward_wide = await surveys.satisfaction(session, survey_id)
    assert tuple(map(sum, zip(*grouped.values(), strict=True))) == ward_wide == (330, 303)


async def test_without_a_survey_there_is_nothing_to_export(sessionmaker, ward):
    from bot.exports import ExportError

    with pytest.raises(ExportError) as problem:
        await export(sessionmaker, ward, "surveys", "xlsx")
    assert problem.value.key == "exports.no_survey"
    with pytest.raises(ExportError) as problem:
        await export(sessionmaker, ward, "surveys", "xlsx", groups=("99",))
    assert (problem.value.key, problem.value.params) == ("exports.unknown_group",
                                                         {"group": "99"})


async def test_files_come_as_temporary_paths_and_charts_as_bytes(sessionmaker, ward):
    await seed_survey(sessionmaker, ward)
    async with sessionmaker() as session, session.begin():
        made = await build_export(session, ExportRequest("surveys", "xlsx"), ward=ward,
                                  role="officer", now=NOW, actor="test")
        chart = await build_export(session, ExportRequest("surveys", "png"), ward=ward,
                                   role="officer", now=NOW, actor="test")
    assert isinstance(made.content, Path) and made.content.name.startswith("thidua-export-")
    assert made.content.stat().st_size > 10_000
    discard(made)
    assert not made.content.exists()
    assert isinstance(chart.content, bytes)
