"""The `thidua` command as an operator meets it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = run(["--help"], tmp_path)
    assert result.returncode == 0
    for command in ("serve", "migrate", "check"):
        assert command in result.stdout


def test_bad_setting_stops_with_one_line(tmp_path: Path) -> None:
    result = run(["serve"], tmp_path, THIDUA_PORT="abc")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "THIDUA_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_ward_file_stops_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "ward.toml").write_text("[ward]\nname = 1\n", encoding="utf-8")
    result = run(["check"], tmp_path, THIDUA_WARD_CONFIG=str(tmp_path / "ward.toml"))
    assert result.returncode == 2
    assert "line 2, key ward.name" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_creates_the_default_sqlite_database(tmp_path: Path) -> None:
    result = run(["migrate"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "thidua.db").exists()


@pytest.mark.slow
def test_serve_starts_and_answers_health(tmp_path: Path) -> None:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
    environment["THIDUA_PORT"] = str(port)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    assert r.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
            assert "Nhập tin nhắn…" in r.read().decode()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)


def test_invite_prints_a_code_and_grant_needs_a_joined_user(tmp_path: Path) -> None:
    invite = run(["invite", "--role", "leader", "--group", "05"], tmp_path)
    assert invite.returncode == 0, invite.stderr
    code = invite.stdout.splitlines()[0]
    assert len(code) == 11 and code[5] == "-"
    assert f"/maquyen {code}" in invite.stdout
    missing_group = run(["invite", "--role", "leader"], tmp_path)
    assert missing_group.returncode == 2
    assert "needs a residential group" in missing_group.stdout
    unknown_group = run(["invite", "--role", "leader", "--group", "99"], tmp_path)
    assert unknown_group.returncode == 2
    stranger = run(
        ["grant", "--channel", "telegram", "--user", "42", "--role", "officer"], tmp_path
    )
    assert stranger.returncode == 1
    assert "must send /start" in stranger.stdout
    listing = run(["roles"], tmp_path)
    assert "nobody holds a role yet" in listing.stdout


def test_thidua_export_writes_a_file(tmp_path: Path) -> None:
    out = tmp_path / "dang-ky.xlsx"
    done = run(["export", "registrations", "--format", "xlsx", "-o", str(out)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:2] == b"PK"
    done = run(["export", "surveys", "--format", "csv", "-o", str(tmp_path / "x.csv")], tmp_path)
    assert done.returncode == 2
    assert "There is no survey to export yet." in done.stderr


def test_a_rejected_telegram_token_stops_serve_with_one_line(tmp_path: Path) -> None:
    result = run(
        ["serve"], tmp_path, THIDUA_TELEGRAM_TOKEN="1:bad", THIDUA_PORT=str(free_port()),
        THIDUA_TELEGRAM_API_URL="http://127.0.0.1:9",
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "thidua: cannot start" in result.stderr
