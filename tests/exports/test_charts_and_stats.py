"""PNG charts that are real images of the expected size; the Wilson interval and verdicts."""

from __future__ import annotations

import io
import warnings

import matplotlib.image
import pytest

from bot.exports import chart_png
from bot.exports.charts import Bar, Chart, Panel, height_px
from bot.exports.stats import Rate, wilson
from bot.ward import WardConfig
from tests.exports.files import export, png_size
from tests.exports.seed import seed_households, seed_nominations, seed_survey, small_ward


@pytest.fixture(scope="module")
def ward() -> WardConfig:
    return small_ward()


def test_wilson_interval_against_known_values() -> None:
    low, high = wilson(90, 100)
    assert (round(low, 3), round(high, 3)) == (0.826, 0.945)
    assert [round(x, 4) for x in wilson(18, 20)] == [0.699, 0.9721]
    assert wilson(0, 0) == (0.0, 0.0)
    assert wilson(5, 5)[1] == 1.0 and wilson(0, 5)[0] == 0.0


def test_verdicts_on_the_85_percent_target() -> None:
    assert Rate(200, 190).verdict(0.85) == "sure"  # lower bound 91.0%
    assert Rate(100, 90).verdict(0.85) == "estimate"  # 90% but lower bound 82.6%
    assert Rate(20, 17).verdict(0.85) == "short"  # exactly 85% is not above it
    assert Rate(10, 5).verdict(0.85) == "short"
    assert Rate(0, 0).verdict(0.85) == "empty"


@pytest.mark.parametrize(("kind", "height"), [
    ("surveys", 300 + 110 + 58 * 24 + 60),
    ("registrations", 300 + 110 + 58 * 24 + 60),
    ("nominations", 300 + 220 + 58 * 10 + 60),
])
async def test_each_kind_has_a_phone_sized_png(sessionmaker, ward, kind, height):
    await seed_survey(sessionmaker, ward)
    await seed_households(sessionmaker)
    await seed_nominations(sessionmaker)
    made = await export(sessionmaker, ward, kind, "png")
    assert made.mime == "image/png" and made.filename.endswith(".png")
    assert png_size(made.content) == (1080, height)
    pixels = matplotlib.image.imread(io.BytesIO(made.content), format="png")
    assert pixels.shape[:2] == (height, 1080)
    assert pixels.std() > 0.05  # not a blank image


def test_vietnamese_labels_render_with_every_glyph() -> None:
    chart = Chart(
        "Tỉ lệ hài lòng — Đường Ưng Ẵng Ỹ Ợ", (
            Panel("Khoảng tin cậy 95%", (
                Bar("Tổ dân phố 23", 0.87, 0.8, 0.92, "87% · 1.234 phiếu", "estimate"),
                Bar("Toàn phường", None, note="chưa có phiếu", tone="empty"),
            ), target=0.85, target_label="Mục tiêu trên 85%", percent=True, total_last=True),
        ), legend=(("sure", "đạt (chắc chắn)"),), note="Nguồn: khảo sát năm 2026")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = chart_png(chart)
    assert png_size(data) == (1080, height_px(chart))
