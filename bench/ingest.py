"""Ingest benchmark: the whole webhook path, thidua-bot beside a bare PTB echo bot.

    .venv/bin/python bench/ingest.py [--seconds 15] [--rate 200] [--concurrency 64]
                                     [--postgres URL] [--profile]

Processes (loopback only): the fake Bot API (bench/fake_bot_api.py), the server under
test (`python -m bot serve` in Telegram webhook mode on a fresh SQLite file, then on
PostgreSQL when a URL is given; then bench/echo_bot.py), and this one, the load
generator (bench/loadgen.py). For each: a steady `--rate` updates/s, then saturation
with `--concurrency` updates in flight. Every update is answered 200 only after its
replies reached the fake Bot API, so the latency covers HTTP → adapter → handler →
database → reply sent. `--profile` runs the SQLite server under py-spy and writes a
flame graph (SVG) and the top functions beside the logs.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import LoadGenerator, Result  # noqa: E402
from bench.processes import (  # noqa: E402
    PYTHON,
    ROOT,
    Proc,
    bench_env,
    ensure_free,
    reset_postgres,
)
from bench.stacks import report  # noqa: E402

SECRET = "bench-secret"
TOKEN = "123:ABC"
TARGET_RATE, TARGET_RATIO, TARGET_P99, TARGET_STEADY = 1000.0, 0.60, 100.0, 200.0


@dataclass
class Row:
    """One line of the ingest table."""

    bot: str
    database: str
    result: Result
    cpu_ms: float
    api_calls: float


class Ports:
    """The loopback ports the benchmark listens on."""

    def __init__(self, base: int) -> None:
        self.server, self.echo, self.api = base + 1, base + 2, base + 3


async def api_counts(api: str) -> int:
    """Bot API calls the fake answered so far."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{api}/_bench/stats") as response:
            return sum((await response.json())["counts"].values())


async def measure(bot: str, database: str, server: Proc, health: str, api: str,
                  options: argparse.Namespace, first_chat: int,
                  invent_presses: bool = False) -> list[Row]:
    """Start `server`, run the steady and the saturating load, stop it."""
    await server.start()
    try:
        await server.wait_ready(health)
        webhook = health.replace("/healthz", "/telegram/webhook")
        rows = []
        for mode in [*options.rate, "saturate"]:
            async with LoadGenerator(webhook, SECRET, api, chats=options.chats,
                                     first_chat=first_chat, invent_presses=invent_presses
                                     ) as load:
                cpu, calls = server.cpu_seconds(), await api_counts(api)
                if isinstance(mode, float):
                    label = f"{mode:.0f}/s steady"
                    result = await load.steady(label, mode, options.seconds)
                else:
                    label = f"saturation ({options.concurrency} in flight)"
                    spy = await start_profiler(server, options, f"{bot}-{database}")
                    result = await load.saturate(label, options.concurrency, options.seconds)
                    if spy is not None:
                        await asyncio.wait_for(spy.process.wait(), 60)  # type: ignore[union-attr]
                        stacks = spy.workdir / f"{spy.name.removeprefix('py-spy-')}.stacks"
                        if stacks.exists():
                            print(f"{bot} on {database}, saturated:\n{report(stacks, 15, [])}\n")
                cpu = server.cpu_seconds() - cpu
                calls = await api_counts(api) - calls
            first_chat += options.chats
            per = max(result.ok, 1)
            rows.append(Row(bot, database, result, 1000 * cpu / per, calls / per))
        return rows
    finally:
        await server.stop()


def serve_env(database_url: str, ports: Ports) -> dict[str, str]:
    """Settings for `thidua serve` in webhook mode against the fake Bot API."""
    return bench_env(
        THIDUA_DATABASE_URL=database_url,
        THIDUA_PORT=str(ports.server),
        THIDUA_TELEGRAM_TOKEN=TOKEN,
        THIDUA_TELEGRAM_API_URL=f"http://127.0.0.1:{ports.api}",
        THIDUA_TELEGRAM_WEBHOOK_URL="https://bench.example/telegram/webhook",
        THIDUA_TELEGRAM_WEBHOOK_SECRET=SECRET,
        THIDUA_WEBCHAT_ENABLED="false",
    )


async def run(options: argparse.Namespace) -> list[Row]:
    """Every bot and database, one after the other; returns the table's rows."""
    ports = Ports(options.port_base)
    ensure_free(ports.server, ports.echo, ports.api)
    api = f"http://127.0.0.1:{ports.api}"
    workdir = Path(tempfile.mkdtemp(prefix="thidua-ingest-"))
    fake = Proc("fake-bot-api", [PYTHON, str(ROOT / "bench/fake_bot_api.py"),
                                 "--port", str(ports.api)], workdir)
    await fake.start()
    rows: list[Row] = []
    try:
        await fake.wait_ready(f"{api}/_bench/stats")
        databases = [("SQLite", f"sqlite+aiosqlite:///{workdir}/ingest.db")]
        if options.postgres:
            databases.append(("PostgreSQL", options.postgres))
        health = f"http://127.0.0.1:{ports.server}/healthz"
        first_chat = 10_000
        for name, url in databases:
            if name == "PostgreSQL":
                await reset_postgres(url)
            args = [PYTHON, "-m", "bot", "serve"]
            if options.variant:
                args = [PYTHON, str(ROOT / "bench/variants.py"), options.variant, "serve"]
            server = Proc(f"thidua-{name.lower()}", args, workdir, serve_env(url, ports))
            rows += await measure("thidua-bot", name, server, health, api, options, first_chat)
            first_chat += 10 * options.chats
        if options.skip_echo:
            return rows
        echo = Proc("ptb-echo", [PYTHON, str(ROOT / "bench/echo_bot.py"), "--port",
                                 str(ports.echo), "--api", api, "--secret", SECRET], workdir)
        rows += await measure("PTB echo bot", "none", echo,
                              f"http://127.0.0.1:{ports.echo}/healthz", api, options,
                              first_chat, invent_presses=True)
    finally:
        await fake.stop()
        print(f"(logs and profiles in {workdir})")
        if not options.profile and not options.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return rows


async def start_profiler(server: Proc, options: argparse.Namespace, name: str) -> Proc | None:
    """py-spy sampling `server` for the saturating load (collapsed stacks, summarized after)."""
    if not options.profile:
        return None
    spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    slug = name.lower().replace(" ", "-")
    out = server.workdir / f"{slug}.stacks"
    args = [spy, "record", "--pid", str(server.pid), "--rate", "250", "--gil",
            "--duration", str(int(options.seconds)), "--format", "raw", "-o", str(out)]
    proc = Proc(f"py-spy-{slug}", args, server.workdir)
    await proc.start()
    return proc


def table(rows: list[Row]) -> str:
    """The rows as a fixed-width table, then the comparison with the targets."""
    header = (f"{'bot':<13} {'database':<10} {'load':<26} {'answered':>8} {'failed':>6} "
              f"{'skipped':>7} "
              f"{'upd/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/upd':>10} {'API/upd':>7}")
    lines = [header, "-" * len(header)]
    for row in rows:
        r = row.result
        failed = sum(r.failed.values())
        lines.append(
            f"{row.bot:<13} {row.database:<10} {r.label:<26} {r.ok:>8,} {failed:>6} "
            f"{r.late_starts:>7} "
            f"{r.rate:>7,.0f} {r.percentile(0.5):>7.1f} {r.percentile(0.99):>7.1f} "
            f"{row.cpu_ms:>10.2f} {row.api_calls:>7.2f}")
    mixes = {row.bot: row.result.mix for row in rows if "saturation" in row.result.label}
    for bot, mix in mixes.items():
        total = sum(mix.values()) or 1
        shares = ", ".join(f"{kind} {100 * n / total:.0f}%" for kind, n in sorted(mix.items()))
        lines.append(f"update mix sent to {bot}: {shares}")
    lines += verdicts(rows)
    return "\n".join(lines)


def verdicts(rows: list[Row]) -> list[str]:
    """The issue's targets, reported (never asserted)."""
    def find(bot: str, database: str, saturated: bool, rate: float = 0) -> Result | None:
        for row in rows:
            if (row.bot, row.database) == (bot, database) and (
                    "saturation" in row.result.label) == saturated and (
                    not rate or row.result.label.startswith(f"{rate:.0f}/s")):
                return row.result
        return None

    lines = []
    sqlite, echo = find("thidua-bot", "SQLite", True), find("PTB echo bot", "none", True)
    if sqlite is not None:
        lines.append(f"target ≥ {TARGET_RATE:,.0f} updates/s on SQLite: {sqlite.rate:,.0f} "
                     f"({'met' if sqlite.rate >= TARGET_RATE else 'NOT met'})")
    if sqlite is not None and echo is not None and echo.rate:
        ratio = sqlite.rate / echo.rate
        lines.append(f"target ≥ {TARGET_RATIO:.0%} of the echo bot: {ratio:.0%} "
                     f"({'met' if ratio >= TARGET_RATIO else 'NOT met'})")
    for database in ("SQLite", "PostgreSQL"):
        steady = find("thidua-bot", database, False, TARGET_STEADY)
        if steady is not None:
            p99 = steady.percentile(0.99)
            lines.append(f"target p99 ≤ {TARGET_P99:.0f} ms at {TARGET_STEADY:.0f}/s "
                         f"({database}): {p99:.1f} ms "
                         f"({'met' if p99 <= TARGET_P99 else 'NOT met'})")
    off = sum(row.result.off_script for row in rows if row.bot == "thidua-bot")
    lines.append(f"presses that found no such button (sent as text instead): {off}")
    return lines


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=15.0, help="length of each load")
    p.add_argument("--rate", type=float, nargs="+", default=[200.0],
                   help="the steady loads, updates/s (each run in turn)")
    p.add_argument("--concurrency", type=int, default=64, help="updates in flight at saturation")
    p.add_argument("--chats", type=int, default=400, help="distinct chats per load")
    p.add_argument("--postgres", help="an empty PostgreSQL database the bench may wipe")
    p.add_argument("--port-base", type=int, default=18300)
    p.add_argument("--profile", action="store_true",
                   help="sample each server with py-spy during saturation (see bench/stacks.py)")
    p.add_argument("--variant", help="run the server with suggested changes (bench/variants.py)")
    p.add_argument("--skip-echo", action="store_true", help="only thidua-bot")
    p.add_argument("--keep", action="store_true", help="keep the logs folder")
    return p


if __name__ == "__main__":
    print(table(asyncio.run(run(parser().parse_args()))))
