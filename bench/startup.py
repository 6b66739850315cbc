"""Start-up benchmark: `thidua serve` from start to ready (/healthz 200), and its idle RSS.

    .venv/bin/python bench/startup.py [--starts 3] [--port 18304]

Each start runs the real console script in a fresh folder with the defaults (SQLite
file, web chat on): the first start creates and migrates the database, the next ones
find it migrated. After ready the server is left idle for `--idle` seconds (its
delivery worker and scheduler ticking) before its resident memory is read.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.processes import PYTHON, Proc, bench_env, ensure_free  # noqa: E402

THIDUA = str(Path(PYTHON).parent / "thidua")


@dataclass
class Start:
    """One start."""

    database: str
    ready: float
    rss: float
    peak: float


async def one_start(workdir: Path, port: int, idle: float, label: str) -> Start:
    """Start, wait for /healthz, idle, read memory, stop."""
    server = Proc(f"serve-{label}", [THIDUA, "serve"], workdir,
                  bench_env(THIDUA_PORT=str(port), THIDUA_LOG_LEVEL="WARNING"))
    await server.start()
    try:
        ready = await server.wait_ready(f"http://127.0.0.1:{port}/healthz")
        await asyncio.sleep(idle)
        rss, peak = server.rss_mb()
    finally:
        await server.stop()
    return Start(label, ready, rss, peak)


async def run(options: argparse.Namespace) -> list[Start]:
    """The first start on an empty folder, then `--starts - 1` on the migrated database."""
    ensure_free(options.port)
    workdir = Path(tempfile.mkdtemp(prefix="thidua-startup-"))
    try:
        starts = [await one_start(workdir, options.port, options.idle, "new database")]
        for _ in range(options.starts - 1):
            starts.append(await one_start(workdir, options.port, options.idle, "migrated"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return starts


def table(starts: list[Start]) -> str:
    """One line per kind of start (median of the migrated ones)."""
    head = f"{'thidua serve start':<20} {'ready s':>8} {'idle RSS MB':>11} {'peak RSS MB':>11}"
    lines = [head, "-" * len(head)]
    for label in ("new database", "migrated"):
        group = [s for s in starts if s.database == label]
        if group:
            lines.append(
                f"{label:<20} {statistics.median(s.ready for s in group):>8.2f} "
                f"{statistics.median(s.rss for s in group):>11.0f} "
                f"{statistics.median(s.peak for s in group):>11.0f}")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--starts", type=int, default=3)
    p.add_argument("--idle", type=float, default=5.0, help="seconds idle before reading RSS")
    p.add_argument("--port", type=int, default=18304)
    return p


if __name__ == "__main__":
    print(table(asyncio.run(run(parser().parse_args()))))
