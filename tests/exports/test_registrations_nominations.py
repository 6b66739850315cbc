"""Registrations against the 50% target and nominations, for officers: figures and details."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.ward import WardConfig
from tests.exports.files import csv_rows, export, rows, workbook
from tests.exports.seed import seed_households, seed_nominations, small_ward


@pytest.fixture(scope="module")
def ward() -> WardConfig:
    return small_ward()


async def test_registrations_per_group_campaign_and_household(sessionmaker, ward):
    await seed_households(sessionmaker)
    made = await export(sessionmaker, ward, "registrations", "xlsx")
    assert made.filename == "dang-ky-ho-2026-20261124-1000.xlsx"
    assert made.caption == ("Hộ đăng ký tham gia phong trào năm 2026 · 5/434 hộ (1,2%)"
                            " · xuất ngày 24/11/2026")
    book = workbook(made)
    assert book.sheetnames == ["Tóm tắt", "Theo tổ", "Theo phong trào", "Danh sách hộ"]
    groups = rows(book, "Theo tổ")
    assert groups[0] == ("Tổ dân phố", "Số hộ của tổ", "Số hộ đăng ký", "Tỉ lệ", "Mục tiêu",
                         "Đạt mục tiêu", "Còn thiếu (hộ)")
    table = {row[0]: row[1:] for row in groups[1:]}
    assert table["Tổ dân phố 5"] == (4, 3, 0.75, 0.5, "Đạt", 0)
    assert table["Tổ dân phố 7"] == (10, 2, 0.2, 0.5, "Chưa đạt", 3)
    assert table["Tổ dân phố 1"] == (20, 0, 0.0, 0.5, "Chưa đạt", 10)
    assert table["Toàn phường"][:3] == (434, 5, pytest.approx(5 / 434))
    assert book["Theo tổ"]["D2"].number_format == "0.0%"

    campaigns = rows(book, "Theo phong trào")
    assert campaigns[0] == ("Tổ dân phố", "Phong trào", "Số hộ đăng ký", "Tỉ lệ trên số hộ")
    counts = {(row[0], row[1]): row[2:] for row in campaigns[1:]}
    assert counts[("Toàn phường", "Phân loại rác thải tại nguồn")] == (3, pytest.approx(3 / 434))
    assert counts[("Tổ dân phố 5", "Phân loại rác thải tại nguồn")] == (2, 0.5)
    assert counts[("Tổ dân phố 7", "Ngôi nhà xanh")] == (1, 0.1)
    assert counts[("Tổ dân phố 9", "Dân vận khéo")] == (0, 0.0)
    assert len(campaigns) == 1 + 11 * 24

    detail = rows(book, "Danh sách hộ")
    assert detail[0] == ("Tổ dân phố", "Chủ hộ", "Địa chỉ", "Số điện thoại", "Số nhân khẩu",
                         "Phong trào đăng ký", "Ngày đăng ký", "Cách đăng ký")
    assert detail[1:3] == [
        ("Tổ dân phố 5", "Nguyễn Văn An", "Số 1 phố Lê Lợi", "0912 000 001", 3,
         "Ngôi nhà xanh; Phân loại rác thải tại nguồn", datetime(2026, 11, 24), "Tự đăng ký"),
        ("Tổ dân phố 5", "Lê Thị Bình", "Số 2 phố Lê Lợi", "0912 000 002", 3,
         "Phân loại rác thải tại nguồn", datetime(2026, 11, 24), "Tổ trưởng đăng ký giúp"),
    ]
    assert [row[1] for row in detail[1:]] == ["Nguyễn Văn An", "Lê Thị Bình", "Trần Văn Cường",
                                              "Đỗ Thị Dung", "Hoàng Văn Em"]
    assert book["Danh sách hộ"]["G2"].number_format == "dd/mm/yyyy"
    summary = {row[0]: row[1] for row in rows(book, "Tóm tắt")[2:] if row[0]}
    assert (summary["Năm"], summary["Số hộ đã đăng ký"], summary["Số tổ đạt mục tiêu"]) == (
        "2026", 5, "1/23")

    last_year = workbook(await export(sessionmaker, ward, "registrations", "xlsx", year=2025))
    assert [row[1] for row in rows(last_year, "Danh sách hộ")[1:]] == ["Vũ Thị Giang"]


async def test_registrations_of_some_groups_as_csv(sessionmaker, ward):
    await seed_households(sessionmaker)
    made = await export(sessionmaker, ward, "registrations", "csv", groups=("07", "5"))
    assert made.filename == "dang-ky-ho-2026-to-05-07-20261124-1000.csv"
    assert csv_rows(made) == [
        ["Tổ dân phố", "Số hộ của tổ", "Số hộ đăng ký", "Tỉ lệ", "Mục tiêu", "Đạt mục tiêu",
         "Còn thiếu (hộ)"],
        ["Tổ dân phố 5", "4", "3", "75,0%", "50,0%", "Đạt", "0"],
        ["Tổ dân phố 7", "10", "2", "20,0%", "50,0%", "Chưa đạt", "3"],
        ["Cộng các tổ đã chọn", "14", "5", "35,7%", "50,0%", "Chưa đạt", "2"],
    ]


async def test_nominations_with_status_field_group_and_dates(sessionmaker, ward):
    codes = await seed_nominations(sessionmaker)
    made = await export(sessionmaker, ward, "nominations", "xlsx")
    assert made.caption == ("Đề cử Người tốt, việc tốt năm 2026 · 4 đề cử, 1 được biểu dương"
                            " · xuất ngày 24/11/2026")
    book = workbook(made)
    assert book.sheetnames == ["Tóm tắt", "Danh sách đề cử", "Theo lĩnh vực",
                               "Biểu dương và mục tiêu"]
    listing = rows(book, "Danh sách đề cử")
    assert listing[0] == ("Mã đề cử", "Loại", "Người / tập thể được đề cử", "Tổ dân phố",
                          "Lĩnh vực", "Trạng thái", "Ngày gửi", "Ngày cập nhật",
                          "Ngày biểu dương", "Lý do")
    sent, moved = datetime(2026, 10, 1), datetime(2026, 11, 24)
    assert listing[1:] == [
        (codes[1], "Cá nhân", "Nguyễn Thị Hoa", "Tổ dân phố 5", "Kinh tế",
         "đã biểu dương/khen thưởng", sent, moved, moved, None),
        (codes[2], "Tập thể", "Chi hội Phụ nữ tổ 7", "Tổ dân phố 7", "Văn hóa - Xã hội",
         "không được duyệt", sent, moved, None, "Chưa đủ minh chứng"),
        (codes[3], "Cá nhân", "Phạm Văn Hùng", "Tổ dân phố 7", "An ninh - Trật tự", "đã duyệt",
         sent, moved, None, None),
        (codes[4], "Cá nhân", "Lê Văn Khánh", "Tổ dân phố 1", "Kinh tế", "đã gửi", sent, sent,
         None, None),
    ]
    by_field = rows(book, "Theo lĩnh vực")
    assert by_field[0] == ("Lĩnh vực", "Đã gửi", "Đang xem xét", "Đã duyệt",
                           "Đã biểu dương/khen thưởng", "Không được duyệt", "Tổng")
    assert by_field[1] == ("Kinh tế", 1, 0, 0, 1, 0, 2)
    assert by_field[-1] == ("Cộng", 1, 0, 1, 1, 1, 4)
    honours = rows(book, "Biểu dương và mục tiêu")
    assert honours[1] == ("Kinh tế", 0, "5–10", "Chưa đạt", 1, "15–20", "Chưa đạt")
    group_07 = workbook(await export(sessionmaker, ward, "nominations", "xlsx", groups=("07",)))
    assert [row[2] for row in rows(group_07, "Danh sách đề cử")[1:]] == [
        "Chi hội Phụ nữ tổ 7", "Phạm Văn Hùng"]
    last_year = csv_rows(await export(sessionmaker, ward, "nominations", "csv", year=2025))
    assert [row[2] for row in last_year[1:]] == ["Cũ Văn Xưa"]
    assert last_year[1][6] == "01/06/2025"
