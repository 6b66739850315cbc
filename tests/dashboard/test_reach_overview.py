"""The overview's "reachable right now" table: per channel, the OA's free 48 hours, any
channel; a leader sees their groups' figures."""

from __future__ import annotations

import re

from tests.dashboard.conftest import signed_in
from tests.handlers.test_reach import seed_reach


def cells(html: str) -> list[list[str]]:
    """The rows of the reach table, as the text of their cells."""
    section = html[html.index("Liên lạc được ngay lúc này"):]
    section = section[: section.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", section, re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>",
                                                                   row, re.S)]
            for row in rows]


async def test_the_overview_shows_who_each_channel_reaches(server, browser) -> None:
    await seed_reach(server.sessionmaker, server.clock.now)
    officer = await server.staff("officer", "officer")
    html = await signed_in(server, browser, officer)
    assert cells(html) == [
        ["Kênh", "Người dân", "Tỉ lệ"],
        ["Zalo OA1 trong 48 giờ miễn phí", "2", "20,0%"],
        ["Zalo", "1", "10,0%"],
        ["Telegram", "2", "20,0%"],
        ["test", "1", "10,0%"],
        ["Ít nhất một kênh", "6", "60,0%"],
    ]
    assert "Trên 10 người dân đã tham gia." in html


async def test_a_leader_sees_the_reach_of_their_groups(server, make_browser) -> None:
    await seed_reach(server.sessionmaker, server.clock.now)
    leader = await server.staff("leader", "leader", "05", joined="Tổ dân phố 5")
    html = await signed_in(server, make_browser(), leader)
    assert cells(html)[1:] == [
        ["Zalo OA1 trong 48 giờ miễn phí", "2", "33,3%"],
        ["Telegram", "1", "16,7%"],
        ["test", "1", "16,7%"],
        ["Ít nhất một kênh", "4", "66,7%"],
    ]


async def test_the_oa_note_is_shown_only_where_the_oa_reaches_someone(server, browser) -> None:
    officer = await server.staff("officer", "officer")
    html = await signed_in(server, browser, officer)
    section = html[html.index("Liên lạc được ngay lúc này"):]
    section = section[: section.index("</section>")]
    assert "Zalo OA chỉ nhắn được" not in section
    assert "Trên 1 người dân đã tham gia." in section
