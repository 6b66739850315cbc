"""The ward's own data (groups, campaigns, fields, targets, survey) from one TOML file."""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)


class WardConfigError(Exception):
    """The ward file cannot be used; the message names the line and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WardInfo(_Strict):
    """Who the ward is and who controls residents' data."""

    name: str = Field(min_length=1)
    city: str = ""
    population: int = Field(0, ge=0)
    data_controller: str = Field(min_length=1)
    contact: str = ""


class Targets(_Strict):
    """Yearly targets from the ward's plan."""

    household_registration_share: float = Field(ge=0, le=1)
    unit_registration_share: float = Field(0.9, ge=0, le=1)
    civil_servant_registration_share: float = Field(0.7, ge=0, le=1)
    satisfaction_share: float = Field(ge=0, le=1)
    honoured_collectives_per_field: tuple[int, int] = (5, 10)
    honoured_individuals_per_field: tuple[int, int] = (15, 20)


class Group(_Strict):
    """A residential group (tổ dân phố)."""

    code: str = Field(pattern=r"^[0-9A-Za-z-]{1,8}$")
    name: str = Field(min_length=1)
    households: int = Field(ge=0)


class Named(_Strict):
    """A campaign or a field of achievement."""

    code: str = Field(pattern=r"^[a-z0-9-]{1,40}$")
    name: str = Field(min_length=1)


class Question(_Strict):
    """One survey question."""

    code: str = Field(pattern=r"^[a-z0-9_-]{1,20}$")
    kind: Literal["scale", "single", "multi", "yesno", "text"]
    text: str = Field(min_length=1)
    options: tuple[str, ...] = ()
    optional: bool = False

    @model_validator(mode="after")
    def _options_fit_kind(self) -> Question:
        if self.kind in ("single", "multi") and len(self.options) < 2:
            raise ValueError("a single or multi question needs at least 2 options")
        if self.kind not in ("single", "multi") and self.options:
            raise ValueError(f"a {self.kind} question takes no options")
        return self


class Survey(_Strict):
    """The satisfaction survey shipped with the ward."""

    code: str = Field(pattern=r"^[a-z0-9-]{1,40}$")
    title: str = Field(min_length=1)
    questions: tuple[Question, ...] = Field(min_length=1)


class ReminderSpec(_Strict):
    """A default reminder rule; added to the database at start if no rule has its name."""

    name: str = Field(min_length=3, max_length=80)
    cron: str
    audience: Literal["reminders", "unregistered", "no_survey", "campaign"] = "reminders"
    campaign: str | None = None
    groups: tuple[str, ...] | None = None
    message: str = Field(min_length=5, max_length=1000)
    deadline: date | None = None

    @field_validator("deadline", mode="before")
    @classmethod
    def _local_date(cls, value: object) -> object:
        if isinstance(value, str) and "/" in value:
            try:
                return datetime.strptime(value.strip(), "%d/%m/%Y").date()
            except ValueError:
                raise ValueError("a date is written dd/mm/yyyy, e.g. 31/12/2026") from None
        return value

    @model_validator(mode="after")
    def _usable(self) -> ReminderSpec:
        # Imported here: the handlers package imports this module.
        from handlers.reminder_rules import (
            allowed_placeholders,
            cron_problem,
            template_problem,
            tidy_template,
        )

        if (self.audience == "campaign") != (self.campaign is not None):
            raise ValueError('audience = "campaign" goes with campaign = "<code>", and only then')
        problem = cron_problem(self.cron)
        if problem is not None:
            raise ValueError(f"cron {self.cron!r} is not a 5-field crontab line ({problem})")
        piece = template_problem(tidy_template(self.message))
        if piece is not None:
            raise ValueError(f"message: {piece} is not one of {allowed_placeholders()}")
        return self

    @property
    def audience_code(self) -> str:
        """The audience as a rule stores it ("campaign:<code>" for a campaign)."""
        return f"campaign:{self.campaign}" if self.audience == "campaign" else self.audience


class WardConfig(_Strict):
    """Everything a ward edits."""

    ward: WardInfo
    targets: Targets
    fields: tuple[Named, ...] = Field(min_length=1)
    campaigns: tuple[Named, ...] = Field(min_length=1)
    survey: Survey | None = None
    groups: tuple[Group, ...] = Field(min_length=1)
    reminders: tuple[ReminderSpec, ...] = ()

    def group(self, code: str) -> Group | None:
        """The group with this code, if the ward has it."""
        return next((g for g in self.groups if g.code == code), None)


def load_ward_config(path: Path) -> WardConfig:
    """Read and validate the ward file, or raise WardConfigError naming line and key."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WardConfigError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WardConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        config = WardConfig.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        message = error["msg"].removeprefix("Value error, ")
        raise _error_at(path, text, tuple(error["loc"]), message) from None
    for label in ("groups", "campaigns", "fields"):
        seen: set[str] = set()
        for index, item in enumerate(getattr(config, label)):
            if item.code in seen:
                loc = (label, index, "code")
                raise _error_at(path, text, loc, f"code {item.code!r} is used twice")
            seen.add(item.code)
    _check_reminders(path, text, config)
    return config


def _check_reminders(path: Path, text: str, config: WardConfig) -> None:
    """Default reminder rules name known campaigns and groups, each rule once."""
    campaigns = {c.code for c in config.campaigns}
    names: set[str] = set()
    for index, rule in enumerate(config.reminders):
        if rule.name in names:
            raise _error_at(path, text, ("reminders", index, "name"), "name is used twice")
        names.add(rule.name)
        if rule.campaign is not None and rule.campaign not in campaigns:
            message = f"no campaign has the code {rule.campaign!r}"
            raise _error_at(path, text, ("reminders", index, "campaign"), message)
        for code in rule.groups or ():
            if config.group(code) is None:
                message = f"no residential group has the code {code!r}"
                raise _error_at(path, text, ("reminders", index, "groups"), message)


def _error_at(path: Path, text: str, loc: tuple[object, ...], message: str) -> WardConfigError:
    line = _line_of(text, loc)
    where = f"line {line}, " if line else ""
    return WardConfigError(f"{path}: {where}key {_dotted(loc)}: {message}")


def _dotted(loc: tuple[object, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1] = f"{parts[-1]}[{part + 1}]" if parts else f"[{part + 1}]"
        else:
            parts.append(str(part))
    return ".".join(parts)


def _line_of(text: str, loc: tuple[object, ...]) -> int | None:
    """Best-effort line number of a key path, following [[tables]] by their order."""
    lines = text.splitlines()
    start, table = 0, ""
    index = 0
    while index < len(loc):
        part = loc[index]
        following = loc[index + 1] if index + 1 < len(loc) else None
        if isinstance(part, str) and isinstance(following, int):
            name = f"{table}.{part}" if table else part
            header = re.compile(rf"^\s*\[\[\s*{re.escape(name)}\s*\]\]")
            hits = [i for i in range(start, len(lines)) if header.match(lines[i])]
            if following < len(hits):
                start, table = hits[following], name
                index += 2
                continue
            found = _key_line(lines, start, part)
            return found + 1 if found is not None else None
        if isinstance(part, str):
            header = re.compile(rf"^\s*\[\s*{re.escape(part)}\s*\]")
            hit = next((i for i in range(start, len(lines)) if header.match(lines[i])), None)
            if hit is not None and following is not None:
                start, table = hit, part
                index += 1
                continue
            found = _key_line(lines, start, part)
            if found is not None:
                return found + 1
            return hit + 1 if hit is not None else start + 1
        index += 1
    return start + 1


def _key_line(lines: list[str], start: int, key: str) -> int | None:
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for i in range(start, len(lines)):
        if i > start and lines[i].lstrip().startswith("["):
            break
        if pattern.match(lines[i]):
            return i
    return None
