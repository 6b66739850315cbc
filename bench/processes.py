"""Processes under test for the benchmarks: start, wait until ready, measure, stop.

Memory and CPU are read from /proc (Linux), so nothing beyond the standard library is
needed: resident memory (RSS) now and at its peak, and CPU seconds used so far.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def bench_env(**settings: str) -> dict[str, str]:
    """This environment without any THIDUA_* of the caller's, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(settings)
    return env


class Proc:
    """One child process, logging to a file in `workdir`."""

    def __init__(self, name: str, args: list[str], workdir: Path,
                 env: dict[str, str] | None = None) -> None:
        self.name, self.args, self.workdir = name, args, workdir
        self.env = env or bench_env()
        self.process: asyncio.subprocess.Process | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int:
        """The child's process id."""
        assert self.process is not None
        return self.process.pid

    @property
    def log(self) -> Path:
        """Where the child's output goes."""
        return self.workdir / f"{self.name}.log"

    async def start(self) -> None:
        """Start the child."""
        with self.log.open("ab") as log:
            self.started_at = time.perf_counter()
            self.process = await asyncio.create_subprocess_exec(
                *self.args, cwd=self.workdir, env=self.env, stdout=log, stderr=log)

    async def wait_ready(self, url: str, timeout: float = 60.0) -> float:
        """Seconds from start until `url` answers 200; raises with the log if it never does."""
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.returncode is not None:
                    break
                try:
                    async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as r:
                        if r.status == 200:
                            return time.perf_counter() - self.started_at
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.02)
        raise RuntimeError(f"{self.name} never got ready:\n{self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        """The end of the child's log."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def rss_mb(self) -> tuple[float, float]:
        """Resident memory now and at its peak, in MiB."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        values = {line.split(":")[0]: line.split()[1] for line in status.splitlines()
                  if line.startswith(("VmRSS", "VmHWM"))}
        return int(values["VmRSS"]) / 1024, int(values["VmHWM"]) / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    async def kill(self) -> None:
        """SIGKILL, and reap."""
        if self.process is not None and self.process.returncode is None:
            os.kill(self.process.pid, signal.SIGKILL)
            await self.process.wait()

    async def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, wait, SIGKILL if it does not stop in time."""
        if self.process is None or self.process.returncode is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            await self.kill()
            return None


def ensure_free(*ports: int) -> None:
    """Stop early, naming the port, when something already listens on one of `ports`."""
    for port in ports:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                raise SystemExit(f"port {port} is in use: stop what listens there, "
                                 "or pass another --port-base")


async def reset_postgres(url: str) -> None:
    """Empty a PostgreSQL database the benchmark may wipe."""
    from sqlalchemy import text

    from storage import make_engine

    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
