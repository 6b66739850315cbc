"""`make bench`: every benchmark of issue 7, one after the other, printed as tables.

    .venv/bin/python bench/run.py            # quick: about 3 minutes
    .venv/bin/python bench/run.py --full     # the issue's sizes: about 30 minutes

Sections: start-up and idle memory (bench/startup.py), ingest through the Telegram
webhook beside a bare PTB echo bot (bench/ingest.py), broadcast through
`thidua deliver` against Telegram's limits, undisturbed and SIGKILLed
(bench/broadcast.py), exports (bench/export_bench.py, then pandas beside it when
installed: bench/pandas_export.py). PostgreSQL is measured too when
THIDUA_BENCH_DATABASE_URL names an empty database the bench may wipe. Figures are
reported against the targets, never asserted; the machine is printed with them.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def machine() -> str:
    """Cores, memory, Python and load, to print beside the figures."""
    memory = "?"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total = meminfo.read_text().splitlines()[0].split()[1]
        memory = f"{int(total) / 2**20:.0f} GiB"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores, {memory} RAM, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}; load average {load}")


def section(title: str, args: list[str]) -> int:
    """Run one benchmark script, its output straight through; its exit code."""
    print(f"\n## {title}\n$ .venv/bin/python {' '.join(args)}", flush=True)
    started = time.perf_counter()
    code = subprocess.run([PYTHON, *args], cwd=ROOT).returncode
    print(f"({time.perf_counter() - started:.0f} s{'' if code == 0 else f', exit {code}'})",
          flush=True)
    return code


def main() -> int:
    """Run the sections chosen on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the issue's sizes (~30 min)")
    parser.add_argument("--only", nargs="+",
                        choices=["startup", "ingest", "broadcast", "exports"],
                        default=["startup", "ingest", "broadcast", "exports"])
    options = parser.parse_args()
    postgres = os.environ.get("THIDUA_BENCH_DATABASE_URL")
    print(f"# thidua-bot benchmarks ({'full' if options.full else 'quick'})\n{machine()}")
    codes = []
    if "startup" in options.only:
        codes.append(section("Start-up and idle memory", ["bench/startup.py"]))
    if "ingest" in options.only:
        ingest = ["bench/ingest.py", "--seconds", "15" if options.full else "8",
                  "--rate", "50", "200"]
        if postgres:
            ingest += ["--postgres", postgres]
        codes.append(section("Ingest: Telegram webhook → core → database → reply", ingest))
    if "broadcast" in options.only:
        recipients = "20000" if options.full else "1000"
        if not options.full:
            print("\n(quick run: 1,000 recipients; `make bench-full` sends to 20,000)")
        codes.append(section("Broadcast through `thidua deliver` at Telegram's 30/s",
                             ["bench/broadcast.py", "--recipients", recipients]))
    if "exports" in options.only:
        rows = ["100000"] if options.full else ["10000"]
        if (ROOT / "bench/export_bench.py").exists():
            codes.append(section("Exports: survey responses to CSV and XLSX",
                                 ["bench/export_bench.py", "--rows", *rows]))
        else:
            print("\n(bench/export_bench.py is not there yet: exports skipped)")
        codes.append(section("pandas writing the same table",
                             ["bench/pandas_export.py", "--rows", rows[-1]]))
    print(f"\n{machine()}")
    return max(codes, default=0)


if __name__ == "__main__":
    sys.exit(main())
