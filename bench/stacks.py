"""Read py-spy's collapsed stacks (`--format raw`): where the samples went.

    .venv/bin/python bench/stacks.py FILE.stacks [--top 30] [--match bot/ --match storage/]

Prints, for the most-sampled functions, the share of samples in which each was on the
stack (inclusive) and at its top (self); `--match` keeps only frames whose file
contains one of the given fragments (e.g. our own code).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def summarize(path: Path, match: list[str]) -> tuple[int, Counter[str], Counter[str]]:
    """Total samples, inclusive and self counts by `function (file)`."""
    total, inclusive, own = 0, Counter[str](), Counter[str]()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_name(frame) for frame in stack.split(";")[1:]]
        if match:
            frames = [f for f in frames if any(m in f for m in match)]
        for frame in set(frames):
            inclusive[frame] += n
        if frames:
            own[frames[-1]] += n
    return total, inclusive, own


def _name(frame: str) -> str:
    found = FRAME.match(frame.strip())
    if found is None:
        return frame.strip()
    file = found["file"]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{found['func']} ({file})"


CATEGORIES = {
    "Bot API calls (PTB Bot + HTTP client)": ("Bot._post (",),
    "parsing the update (PTB de_json)": ("parse_update (",),
    "core: dispatcher, handlers, SQLAlchemy": ("Dispatcher.dispatch (", "sqlalchemy/"),
    "SQLite driver (aiosqlite)": ("aiosqlite/",),
    "logging (access log)": ("logging/", "web_log.py"),
    "delivery worker and scheduler": ("DeliveryWorker.run (", "apscheduler/"),
}
"""Parts of the path, by a fragment of a frame under them. SQLAlchemy's greenlets cut the
stack, so its frames count for the core wherever py-spy finds them."""


def categories(path: Path) -> dict[str, float]:
    """Share of samples per part of the path (first match wins; the rest is the server)."""
    total, inclusive, _ = summarize(path, [])
    shares: dict[str, float] = {}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        name = next((n for n, markers in CATEGORIES.items()
                     if any(marker in stack for marker in markers)),
                    "aiohttp server, event loop, rest")
        shares[name] = shares.get(name, 0) + int(count) / max(total, 1)
    return dict(sorted(shares.items(), key=lambda kv: -kv[1]))


def report(path: Path, top: int, match: list[str]) -> str:
    """The summary as text."""
    total, inclusive, own = summarize(path, match)
    lines = [f"{path.name}: {total} samples"]
    lines += [f"{100 * share:>7.1f}%  {name}" for name, share in categories(path).items()]
    lines.append(f"{'incl %':>7} {'self %':>7}  function")
    for frame, n in inclusive.most_common(top):
        lines.append(f"{100 * n / total:>7.1f} {100 * own[frame] / total:>7.1f}  {frame}")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--match", action="append", default=[])
    options = parser.parse_args()
    print(report(options.file, options.top, options.match))
