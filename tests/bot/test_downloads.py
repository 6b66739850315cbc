"""Short-lived download links served by our own server."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
from aiohttp import web

from bot import downloads, keys
from bot.app import build_app
from bot.events import Attachment
from bot.settings import load_settings


async def test_a_link_serves_the_file_until_it_expires(sqlite_url: str, clock) -> None:
    settings = load_settings(database_url=sqlite_url, public_url="https://thidua.example")
    app = build_app(settings, deliver=False, clock=clock)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        async with app[keys.SESSIONMAKER]() as session, session.begin():
            link = await downloads.publish(
                session,
                Attachment("khảo sát.csv", "text/csv", "tổ,tỉ lệ\n".encode()),
                settings=settings,
                actor="test",
                now=clock.now,
                ttl=timedelta(minutes=10),
            )
        assert link.startswith("https://thidua.example/dl/")
        path = link.removeprefix("https://thidua.example")
        async with aiohttp.ClientSession() as http:
            async with http.get(base + path) as response:
                assert response.status == 200
                assert (await response.read()).decode() == "tổ,tỉ lệ\n"
                assert "attachment" in response.headers["Content-Disposition"]
            clock.now += timedelta(minutes=11)
            async with http.get(base + path) as response:
                assert response.status == 410
                assert "hết hạn" in await response.text()
            async with http.get(base + "/dl/not-a-token/x.csv") as response:
                assert response.status == 410
    finally:
        await runner.cleanup()
