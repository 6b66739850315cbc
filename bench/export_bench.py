"""Benchmark: survey exports of 10,000 and 100,000 responses (10 questions) to CSV and XLSX.

    .venv/bin/python bench/export_bench.py [--rows 10000 100000] [--database-url URL]

Fills a temporary SQLite database (or the given empty one) with a 10-question survey and
its responses, then times `build_export` for each size and format, and measures the
peak of Python allocations (tracemalloc, in a second run, since tracing slows Python
down) and the process's peak resident memory. The target (docs/DESIGN): 100,000
responses to XLSX in at most 15 s and 300 MB; memory should stay flat as rows grow.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, insert  # noqa: E402

from bot.exports import ExportRequest, build_export, discard  # noqa: E402
from bot.settings import DEFAULT_WARD_CONFIG  # noqa: E402
from bot.ward import WardConfig, load_ward_config  # noqa: E402
from storage import make_engine, make_sessionmaker  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models.surveys import Survey, SurveyQuestion, SurveyResponse  # noqa: E402

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
QUESTIONS = [
    *(("scale", f"Câu hỏi mức độ hài lòng số {n} về công tác thi đua ở tổ dân phố?", [])
      for n in range(1, 7)),
    ("single", "Bạn biết đến các phong trào qua đâu?",
     ["Họp tổ dân phố", "Loa phát thanh", "Zalo / mạng xã hội", "Cán bộ đến nhà", "Khác"]),
    ("multi", "Phong trào nào cần chú trọng hơn?",
     ["Môi trường, rác thải", "An ninh trật tự", "Hỗ trợ người nghèo", "Học tập, chuyển đổi số"]),
    ("yesno", "Gia đình bạn có tham gia ít nhất một phong trào không?", []),
    ("text", "Bạn có góp ý gì thêm?", []),
]


def _answers(rng: random.Random) -> dict[str, object]:
    answers: dict[str, object] = {f"q{n}": rng.choice((3, 4, 4, 5, 5)) for n in range(1, 7)}
    answers["q7"] = rng.randrange(5)
    answers["q8"] = sorted(rng.sample(range(4), rng.randint(1, 3)))
    answers["q9"] = rng.random() < 0.8
    answers["q10"] = "Cần tổ chức thêm các buổi sinh hoạt chung" if rng.random() < 0.2 else None
    return answers


async def fill(sessionmaker, ward: WardConfig, rows: int) -> int:  # type: ignore[no-untyped-def]
    """A survey with `rows` responses spread over the ward's groups; returns its id."""
    rng = random.Random(rows)
    groups = [g.code for g in ward.groups]
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(SurveyResponse))
        await session.execute(delete(SurveyQuestion))
        await session.execute(delete(Survey))
        survey = Survey(code="bench", title="Khảo sát thử tải", status="open",
                        opens_at=NOW - timedelta(days=30), created_at=NOW)
        session.add(survey)
        await session.flush()
        session.add_all(
            SurveyQuestion(survey_id=survey.id, position=n, code=f"q{n}", kind=kind, text=text,
                           options=options, optional=kind == "text")
            for n, (kind, text, options) in enumerate(QUESTIONS, start=1)
        )
        for start in range(0, rows, 5000):
            await session.execute(insert(SurveyResponse), [
                {"survey_id": survey.id, "resident_id": None, "group_code": rng.choice(groups),
                 "answers": _answers(rng), "started_at": NOW, "submitted_at": NOW,
                 "updated_at": NOW}
                for _ in range(start, min(rows, start + 5000))
            ])
        return survey.id


async def one_export(sessionmaker, ward: WardConfig, fmt: str,  # type: ignore[no-untyped-def]
                     survey_id: int) -> tuple[float, int]:
    """Seconds taken and the size of the file."""
    started = time.perf_counter()
    async with sessionmaker() as session, session.begin():
        made = await build_export(session, ExportRequest("surveys", fmt, survey_id=survey_id),
                                  ward=ward, role="officer", now=NOW, actor="bench")
    elapsed = time.perf_counter() - started
    assert isinstance(made.content, Path)
    size = made.content.stat().st_size
    discard(made)
    return elapsed, size


def max_rss_mb() -> float:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(sizes: list[int], database_url: str | None) -> None:
    """Run every size and format and print one table."""
    ward = load_ward_config(DEFAULT_WARD_CONFIG)
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite+aiosqlite:///{folder}/bench.db"
        engine = make_engine(url)
        await upgrade(engine)
        sessionmaker = make_sessionmaker(engine)
        print(f"database: {engine.dialect.name}; Python {sys.version.split()[0]}")
        header = f"{'rows':>8} {'format':>6} {'seconds':>8} {'rows/s':>8} {'file MB':>8} " \
                 f"{'py peak MB':>10} {'max RSS MB':>10}"
        print(header)
        print("-" * len(header))
        for rows in sizes:
            filled = time.perf_counter()
            survey_id = await fill(sessionmaker, ward, rows)
            filled = time.perf_counter() - filled
            for fmt in ("csv", "xlsx"):
                seconds, size = await one_export(sessionmaker, ward, fmt, survey_id)
                tracemalloc.start()
                await one_export(sessionmaker, ward, fmt, survey_id)
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                print(f"{rows:>8,} {fmt:>6} {seconds:>8.2f} {rows / seconds:>8,.0f} "
                      f"{size / 2**20:>8.1f} {peak / 2**20:>10.1f} {max_rss_mb():>10.0f}")
            print(f"{'':>8} (filling the database took {filled:.1f} s)")
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--database-url", help="an empty database (default: temporary SQLite)")
    options = parser.parse_args()
    asyncio.run(main(options.rows, options.database_url))
