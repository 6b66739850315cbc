"""The OA's messaging windows: free within 48 h, billed to 7 days, then template or hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.channels.zalo_oa.windows import Window, closed_before, decide, window_for
from bot.settings import Settings

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


@pytest.mark.parametrize(
    ("last", "paid", "template", "expected"),
    [
        (ago(hours=1), False, None, Window.FREE),
        (ago(hours=48), False, None, Window.FREE),
        (ago(hours=48, seconds=1), False, None, Window.HOLD),
        (ago(hours=48, seconds=1), True, None, Window.PAID),
        (ago(days=3), True, "tpl", Window.PAID),
        (ago(days=3), False, "tpl", Window.TEMPLATE),
        (ago(days=7), True, None, Window.PAID),
        (ago(days=7, seconds=1), True, None, Window.HOLD),
        (ago(days=10), True, "tpl", Window.TEMPLATE),
        (ago(days=10), False, None, Window.HOLD),
        (None, True, None, Window.HOLD),
        (None, False, "tpl", Window.TEMPLATE),
        (NOW + timedelta(minutes=1), False, None, Window.FREE),  # a clock a little ahead
    ],
)
def test_the_window_follows_the_last_interaction(last, paid, template, expected):
    assert decide(last, NOW, paid_messages=paid, template_id=template) is expected


def test_the_settings_choose_paid_messages_and_the_template():
    plain = Settings(_env_file=None)
    paying = Settings(_env_file=None, zalo_oa_paid_messages=True)
    templated = Settings(_env_file=None, zalo_oa_template_id="312345")
    three_days = ago(days=3)
    assert window_for(three_days, NOW, plain) is Window.HOLD
    assert window_for(three_days, NOW, paying) is Window.PAID
    assert window_for(three_days, NOW, templated) is Window.TEMPLATE


def test_a_closed_window_stays_closed_by_the_policy():
    closed = closed_before(NOW)
    assert decide(closed, NOW, paid_messages=True, template_id=None) is Window.HOLD
