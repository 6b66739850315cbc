"""Typed settings from THIDUA_* environment variables and an optional .env file."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_WARD_CONFIG = Path(__file__).parent / "wards" / "an_hai.toml"


class SettingsError(Exception):
    """A setting is missing or wrong; the message is one line for the operator."""


class Settings(BaseSettings):
    """Everything the bot reads from its environment, validated at start."""

    model_config = SettingsConfigDict(
        env_prefix="THIDUA_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = "sqlite+aiosqlite:///data/thidua.db"
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    ward_config: Path = DEFAULT_WARD_CONFIG
    public_url: str | None = None
    log_level: str = "INFO"
    webchat_enabled: bool = True
    delivery_in_serve: bool = True
    delivery_lease_seconds: float = Field(60.0, gt=0, le=3600)

    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_poll_timeout: int = Field(25, ge=0, le=50)

    zalo_token: SecretStr | None = None
    zalo_api_url: str = "https://bot-api.zaloplatforms.com"
    zalo_webhook_url: str | None = None
    zalo_webhook_secret: SecretStr | None = None
    zalo_poll_timeout: int = Field(25, ge=1, le=60)

    # Zalo Official Account (bot/channels/zalo_oa): on once the app id and secret are set
    # and `thidua zalo-oa connect` has stored a token pair.
    zalo_oa_app_id: str | None = None
    zalo_oa_app_secret: SecretStr | None = None  # the app's secret key (OAuth)
    zalo_oa_secret_key: SecretStr | None = None  # the OA secret key (webhook signatures)
    zalo_oa_id: str | None = None  # learnt at connect time when not set
    zalo_oa_api_url: str = "https://openapi.zalo.me"
    zalo_oa_oauth_url: str = "https://oauth.zaloapp.com"
    # Consultation messages 48 h - 7 days after a resident's last message are billed: off
    # unless the ward pays for them; then they wait for the resident's next message.
    zalo_oa_paid_messages: bool = False
    # An approved template (ZBS) for messages outside the window, with the parameter
    # that carries our text; unset = no template, the message waits.
    zalo_oa_template_id: str | None = None
    zalo_oa_template_param: str = "noi_dung"
    zalo_oa_max_event_age_seconds: int = Field(86400, ge=60)
    # Flood control per chat (bot/flood.py): a burst, then messages per second; 0 = off.
    flood_burst: float = Field(5.0, ge=0, le=100_000)
    flood_per_second: float = Field(1.0, ge=0, le=100_000)
    download_ttl_seconds: int = Field(900, ge=60, le=86400)

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator(
        "telegram_api_url",
        "telegram_webhook_url",
        "public_url",
        "zalo_api_url",
        "zalo_oa_api_url",
        "zalo_oa_oauth_url",
        "zalo_webhook_url",
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @field_validator(
        "telegram_token",
        "telegram_webhook_secret",
        "zalo_token",
        "zalo_webhook_secret",
        "zalo_oa_app_secret",
        "zalo_oa_secret_key",
        "zalo_oa_app_id",
        "zalo_oa_id",
        "zalo_oa_template_id",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.telegram_webhook_url and not self.telegram_webhook_secret:
            raise ValueError(
                "THIDUA_TELEGRAM_WEBHOOK_URL is set but THIDUA_TELEGRAM_WEBHOOK_SECRET is not"
            )
        secret = self.telegram_webhook_secret
        if secret is not None:
            raw = secret.get_secret_value()
            allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
            if not 1 <= len(raw) <= 256 or not set(raw) <= allowed:
                raise ValueError(
                    "THIDUA_TELEGRAM_WEBHOOK_SECRET must be 1-256 characters A-Z, a-z, 0-9, _ or -"
                )
        if self.zalo_webhook_url and not self.zalo_webhook_secret:
            raise ValueError(
                "THIDUA_ZALO_WEBHOOK_URL is set but THIDUA_ZALO_WEBHOOK_SECRET is not"
            )
        zalo_secret = self.zalo_webhook_secret
        if zalo_secret is not None and not 8 <= len(zalo_secret.get_secret_value()) <= 256:
            raise ValueError("THIDUA_ZALO_WEBHOOK_SECRET must be 8-256 characters")
        return self


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning any validation error into one SettingsError line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    """Name the first bad setting as the operator would write it."""
    first = exc.errors()[0]
    loc = [str(part) for part in first.get("loc", ())]
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    if not loc:
        return f"Bad setting: {message}"
    return f"Bad setting THIDUA_{loc[0].upper()}: {message}"
