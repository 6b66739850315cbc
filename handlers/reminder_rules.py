"""What a reminder rule says, checked and put in words: its cron, its message, quiet hours.

Cron expressions are standard five-field crontab lines in Asia/Ho_Chi_Minh (minute,
hour, day of month, month, day of week with 0 or 7 = Sunday). APScheduler 3 counts
weekdays from Monday, so the day-of-week field is rewritten as day names before it is
given to `CronTrigger.from_crontab`.
"""

from __future__ import annotations

import re
import string
from datetime import UTC, date, datetime, time, timedelta

from apscheduler.triggers.cron import CronTrigger

from bot import texts
from bot.normalize import LOCAL_TZ, fold

PLACEHOLDERS = ("ten", "to", "han")
BASE_AUDIENCES = ("reminders", "unregistered", "no_survey")
PRESETS = {"monthly": "0 9 1 * *", "weekly": "0 8 * * 1", "daily": "0 19 * * *"}
QUIET_FROM, QUIET_UNTIL = time(21), time(7)
_BRACED = re.compile(r"\{([^{}]*)\}")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _day(token: str) -> int:
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token)
    if token in _DAYS:
        return _DAYS.index(token)
    raise ValueError(f"not a weekday: {token!r}")


def weekdays(field: str) -> set[int]:
    """The days (0 = Sunday ... 6 = Saturday) a standard day-of-week field names."""
    days: set[int] = set()
    for token in field.lower().split(","):
        base, slash, step_text = token.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else 0
        if slash and not step:
            raise ValueError(f"bad step in {token!r}")
        if base == "*":
            low, high = 0, 6
        elif "-" in base:
            first, _, last = base.partition("-")
            low, high = _day(first), _day(last)
        else:
            low = _day(base)
            high = 6 if slash else low
        if low > high:
            raise ValueError(f"backwards range {token!r}")
        days.update(day % 7 for day in range(low, high + 1, step or 1))
    return days


def trigger(cron: str) -> CronTrigger:
    """The APScheduler trigger for a standard crontab line; ValueError if it is not one."""
    fields = cron.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields, got {len(fields)}")
    if fields[4] != "*":
        fields[4] = ",".join(_DAYS[day] for day in sorted(weekdays(fields[4])))
    return CronTrigger.from_crontab(" ".join(fields), timezone=LOCAL_TZ)


def cron_problem(cron: str) -> str | None:
    """Why a cron line cannot be used, or None when it can."""
    try:
        trigger(cron)
    except ValueError as problem:
        return str(problem)
    return None


def next_fires(cron: str, after: datetime, count: int = 3) -> list[datetime]:
    """The next `count` fire times strictly after `after` (aware, local time)."""
    schedule = trigger(cron)
    fires: list[datetime] = []
    previous = None
    moment = after + timedelta(seconds=1)
    while len(fires) < count:
        upcoming = schedule.get_next_fire_time(previous, moment)
        if upcoming is None:
            break
        fires.append(upcoming)
        previous, moment = upcoming, upcoming + timedelta(seconds=1)
    return fires


def when(moment: datetime) -> str:
    """dd/mm/yyyy HH:MM in Asia/Ho_Chi_Minh."""
    return moment.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")


def describe(cron: str, lang: str) -> str:
    """The schedule in words where it is simple ("9:00 ngày 1 hằng tháng"), else the cron."""
    fields = cron.split()
    if len(fields) == 5 and fields[0].isdigit() and fields[1].isdigit():
        minute, hour, day, month, weekday = fields
        at = f"{int(hour)}:{int(minute):02d}"
        try:
            days = weekdays(weekday) if weekday != "*" else set()
        except ValueError:
            days = set()
        if day == month == weekday == "*":
            return texts.t("reminders.every_day", lang, time=at)
        if day == month == "*" and len(days) == 1:
            name = texts.t(f"reminders.weekday_{days.pop()}", lang)
            return texts.t("reminders.every_week", lang, time=at, weekday=name)
        if day.isdigit() and month == weekday == "*":
            return texts.t("reminders.every_month", lang, time=at, day=int(day))
        if day.isdigit() and month.isdigit() and weekday == "*":
            return texts.t("reminders.every_year", lang, time=at, day=int(day), month=int(month))
    return texts.t("reminders.as_cron", lang, cron=cron)


def tidy_template(template: str) -> str:
    """{tên}, {Tổ}, {HẠN}: placeholders typed with diacritics or capitals, made plain."""

    def plain(match: re.Match[str]) -> str:
        name = fold(match.group(1))
        return "{" + name + "}" if name in PLACEHOLDERS else match.group(0)

    return _BRACED.sub(plain, template)


def template_problem(template: str) -> str | None:
    """The first piece of a message that is not text or a known placeholder, or None."""
    try:
        pieces = list(string.Formatter().parse(template))
    except ValueError:
        return "{" if template.count("{") > template.count("}") else "}"
    for _, name, spec, conversion in pieces:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            return "{" + name + (f"!{conversion}" if conversion else "") + (
                f":{spec}" if spec else ""
            ) + "}"
    return None


def allowed_placeholders() -> str:
    """'{ten}, {to}, {han}' for messages that list them."""
    return ", ".join("{" + name + "}" for name in PLACEHOLDERS)


def render(template: str, *, ten: str, to: str, han: str) -> str:
    """The message with its placeholders filled in."""
    return template.format(ten=ten, to=to, han=han)


def deadline_text(deadline: date | None) -> str:
    """The deadline as dd/mm/yyyy, or empty."""
    return deadline.strftime("%d/%m/%Y") if deadline else ""


def parse_date(text: str) -> date:
    """dd/mm/yyyy (or d/m/yyyy, with / - or .) as a date; ValueError otherwise."""
    cleaned = text.strip().replace("-", "/").replace(".", "/")
    day, month, year = (int(part) for part in cleaned.split("/"))
    if year < 100:
        raise ValueError("four-digit year expected")
    return date(year, month, day)


def deliverable_at(moment: datetime) -> datetime:
    """`moment`, or the next 07:00 local when it falls in quiet hours (21:00-07:00)."""
    local = moment.astimezone(LOCAL_TZ)
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return moment
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_UNTIL, tzinfo=LOCAL_TZ).astimezone(UTC)


def audience_problem(audience: str, campaigns: set[str]) -> str | None:
    """Why an audience is not one a rule may use, or None."""
    if audience in BASE_AUDIENCES:
        return None
    if audience.startswith("campaign:") and audience.removeprefix("campaign:") in campaigns:
        return None
    return audience
