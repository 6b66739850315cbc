"""Settings and the ward file: good values load, bad ones give one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import DEFAULT_WARD_CONFIG, SettingsError, load_settings
from bot.ward import WardConfigError, load_ward_config


def test_defaults_need_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("THIDUA_DATABASE_URL", "THIDUA_PORT", "THIDUA_TELEGRAM_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(_env_file=None)
    assert settings.database_url == "sqlite+aiosqlite:///data/thidua.db"
    assert settings.port == 8080
    assert settings.telegram_token is None
    assert settings.telegram_api_url == "https://api.telegram.org"


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THIDUA_PORT", "9000")
    monkeypatch.setenv("THIDUA_TELEGRAM_TOKEN", "123:secret")
    settings = load_settings()
    assert settings.port == 9000
    assert settings.telegram_token.get_secret_value() == "123:secret"
    assert "123:secret" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"THIDUA_PORT": "tám nghìn"}, "THIDUA_PORT"),
        ({"THIDUA_DATABASE_URL": "mysql://x"}, "THIDUA_DATABASE_URL"),
        ({"THIDUA_TELEGRAM_API_URL": "api.telegram.org"}, "THIDUA_TELEGRAM_API_URL"),
        ({"THIDUA_TELEGRAM_WEBHOOK_URL": "https://x.vn/tg"}, "THIDUA_TELEGRAM_WEBHOOK_SECRET"),
        (
            {"THIDUA_TELEGRAM_WEBHOOK_URL": "https://x.vn/tg",
             "THIDUA_TELEGRAM_WEBHOOK_SECRET": "có dấu"},
            "THIDUA_TELEGRAM_WEBHOOK_SECRET",
        ),
    ],
)
def test_bad_settings_name_the_variable(monkeypatch, env: dict[str, str], expected: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as problem:
        load_settings()
    message = str(problem.value)
    assert expected in message
    assert "\n" not in message


def test_default_ward_is_an_hai() -> None:
    ward = load_ward_config(DEFAULT_WARD_CONFIG)
    assert ward.ward.name == "Phường An Hải"
    assert len(ward.groups) == 23
    assert sum(g.households for g in ward.groups) == 18000
    assert len(ward.campaigns) == 11
    assert "Phân loại rác thải tại nguồn" in [c.name for c in ward.campaigns]
    assert ward.targets.household_registration_share == 0.5
    assert ward.targets.satisfaction_share == 0.85
    assert ward.survey is not None and len(ward.survey.questions) == 8


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_WARD_CONFIG.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "ward.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path: Path, fragment: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if fragment in line)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("households = 699", "households = -5", "groups[23].households"),
        ("satisfaction_share = 0.85", 'satisfaction_share = "cao"', "targets.satisfaction_share"),
        ('kind = "yesno"', 'kind = "maybe"', "survey.questions[7].kind"),
        ('code = "05"', 'code = "04"', "groups[5].code"),
    ],
)
def test_bad_ward_file_names_line_and_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    path = _broken(tmp_path, old, new)
    with pytest.raises(WardConfigError) as problem:
        load_ward_config(path)
    message = str(problem.value)
    assert f"key {key}" in message
    line = _line_of(path, new) if key != "groups[5].code" else _line_of(path, 'code = "04"') + 5
    assert f"line {line}," in message


def test_ward_file_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = _broken(tmp_path, 'name = "Tổ dân phố 3"', 'name = "Tổ dân phố 3')
    with pytest.raises(WardConfigError, match=r"line \d+"):
        load_ward_config(path)


def test_missing_ward_file(tmp_path: Path) -> None:
    with pytest.raises(WardConfigError, match="cannot read"):
        load_ward_config(tmp_path / "none.toml")
