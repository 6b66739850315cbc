"""pandas beside our export: the same survey table written to CSV and XLSX by pandas.

    .venv/bin/python bench/pandas_export.py [--rows 100000]

Fills a temporary SQLite database as bench/export_bench.py does (its `fill`), has our
export write the responses as CSV once (that file is "the same table"), then, in a
fresh process per format, pandas reads it and writes it with `to_csv` / `to_excel`
(xlsxwriter engine). Reported: the write's seconds and the process's peak RSS (pandas
holds the whole table in memory; our exporter streams it). pandas is not a dependency
of the bot: `.venv/bin/pip install pandas` for this comparison only; without it the
script says so and stops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def write_with_pandas(source: Path, fmt: str) -> dict[str, float]:
    """Read our CSV, then time pandas writing it; seconds and peak RSS."""
    import pandas

    started = time.perf_counter()
    frame = pandas.read_csv(source, keep_default_na=False, encoding="utf-8-sig")
    read = time.perf_counter() - started
    target = source.with_suffix(f".pandas.{fmt}")
    started = time.perf_counter()
    if fmt == "csv":
        frame.to_csv(target, index=False, encoding="utf-8-sig")
    else:
        frame.to_excel(target, index=False, engine="xlsxwriter", sheet_name="Phản hồi")
    wrote = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"read": read, "write": wrote, "peak_rss": peak, "rows": len(frame),
            "mb": target.stat().st_size / 2**20}


async def our_csv(rows: int, folder: Path) -> Path:
    """Our export of `rows` responses as CSV (via bench/export_bench.py's data)."""
    from bench.export_bench import NOW, fill
    from bot.exports import ExportRequest, build_export
    from bot.settings import DEFAULT_WARD_CONFIG
    from bot.ward import load_ward_config
    from storage import make_engine, make_sessionmaker
    from storage.migrate import upgrade

    engine = make_engine(f"sqlite+aiosqlite:///{folder}/pandas.db")
    await upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    ward = load_ward_config(DEFAULT_WARD_CONFIG)
    survey_id = await fill(sessionmaker, ward, rows)
    async with sessionmaker() as session, session.begin():
        made = await build_export(session, ExportRequest("surveys", "csv", survey_id=survey_id),
                                  ward=ward, role="officer", now=NOW, actor="bench")
    await engine.dispose()
    assert isinstance(made.content, Path)
    target = folder / "responses.csv"
    made.content.replace(target)
    return target


def main(rows: int) -> None:
    """Print one line per format."""
    try:
        import pandas
    except ImportError:
        print("pandas is not installed: `.venv/bin/pip install pandas` to compare (optional)")
        return
    with tempfile.TemporaryDirectory() as name:
        source = asyncio.run(our_csv(rows, Path(name)))
        print(f"pandas {pandas.__version__} writing the same {rows:,}-row survey table "
              "(read from our CSV export, in a fresh process per format)")
        head = f"{'format':>6} {'write s':>8} {'read s':>7} {'file MB':>8} {'peak RSS MB':>11}"
        print(head)
        print("-" * len(head))
        for fmt in ("csv", "xlsx"):
            out = subprocess.run([sys.executable, __file__, "--child", str(source), fmt],
                                 check=True, capture_output=True, text=True).stdout
            got = json.loads(out)
            print(f"{fmt:>6} {got['write']:>8.2f} {got['read']:>7.2f} {got['mb']:>8.1f} "
                  f"{got['peak_rss']:>11.0f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(write_with_pandas(Path(sys.argv[2]), sys.argv[3])))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    main(parser.parse_args().rows)
