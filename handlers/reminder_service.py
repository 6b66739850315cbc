"""Reminder rules as officers change them (every change audited), and whom a rule reaches.

Used by the chat (/nhacnho), the command line (`thidua reminders`), the ward file's
default rules and the scheduler, so all of them check and record rules the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.events import Button, Reply
from bot.normalize import LOCAL_TZ
from bot.outbox import reply_to_payload
from bot.ward import WardConfig
from handlers import reminder_rules as rules
from storage.models.reminders import ACTIVE, DELETED, PAUSED, ReminderRule
from storage.repos import audiences, audit, reminders, surveys

WARD_ACTOR = "ward"
_ACTIONS = {ACTIVE: "reminder_resumed", PAUSED: "reminder_paused", DELETED: "reminder_deleted"}


class RuleError(Exception):
    """A rule that cannot be saved; `key` names the catalogue text."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key, self.params = key, params


@dataclass(frozen=True)
class Addressee:
    """One chat a reminder goes to, with what its placeholders need."""

    resident_id: int
    channel: str
    chat_id: str
    lang: str
    group_code: str
    head_name: str | None


def check(
    ward: WardConfig,
    *,
    name: str,
    cron: str,
    audience: str,
    groups: list[str] | None,
    message: str,
) -> None:
    """Raise RuleError for the first thing wrong with a rule."""
    if not 3 <= len(name.strip()) <= 80:
        raise RuleError("reminders.bad_name")
    if rules.cron_problem(cron) is not None:
        raise RuleError("reminders.bad_cron", cron=cron)
    if rules.audience_problem(audience, {c.code for c in ward.campaigns}) is not None:
        raise RuleError("reminders.bad_audience", audience=audience)
    unknown = [code for code in groups or [] if ward.group(code) is None]
    if unknown:
        raise RuleError("reminders.bad_group", group=unknown[0])
    if not 5 <= len(message.strip()) <= 1000:
        raise RuleError("reminders.bad_length", length=len(message.strip()))
    piece = rules.template_problem(message)
    if piece is not None:
        allowed = rules.allowed_placeholders()
        raise RuleError("reminders.bad_placeholder", piece=piece, allowed=allowed)


async def add(
    session: AsyncSession,
    ward: WardConfig,
    *,
    name: str,
    cron: str,
    audience: str,
    groups: list[str] | None,
    message: str,
    deadline: date | None,
    actor: str,
    at: datetime,
) -> ReminderRule:
    """Check and save a new active rule, and audit it."""
    name, cron, message = name.strip(), " ".join(cron.split()), rules.tidy_template(message)
    check(ward, name=name, cron=cron, audience=audience, groups=groups, message=message)
    if await reminders.by_name(session, name) is not None:
        raise RuleError("reminders.name_taken", name=name)
    rule = await reminders.add(
        session,
        name=name,
        cron=cron,
        audience=audience,
        groups=groups,
        message=message,
        deadline=deadline,
        created_by=actor,
        at=at,
    )
    if rule is None:
        raise RuleError("reminders.name_taken", name=name)
    await _audit(session, rule, "reminder_added", actor, at)
    return rule


async def set_status(
    session: AsyncSession, rule: ReminderRule, status: str, *, actor: str, at: datetime
) -> bool:
    """Pause, resume or delete a rule and audit it; False if it already was so."""
    if rule.status == status or rule.status == DELETED:
        return False
    await reminders.set_status(session, rule, status)
    await _audit(session, rule, _ACTIONS[status], actor, at)
    return True


async def seed_ward_rules(session: AsyncSession, ward: WardConfig, at: datetime) -> int:
    """Add the ward file's rules that no rule (even a deleted one) is named after yet."""
    added = 0
    for spec in ward.reminders:
        if await reminders.by_name(session, spec.name) is not None:
            continue
        rule = await reminders.add(
            session,
            name=spec.name,
            cron=" ".join(spec.cron.split()),
            audience=spec.audience_code,
            groups=list(spec.groups) if spec.groups else None,
            message=rules.tidy_template(spec.message),
            deadline=spec.deadline,
            created_by=WARD_ACTOR,
            at=at,
        )
        if rule is not None:
            await _audit(session, rule, "reminder_added", WARD_ACTOR, at)
            added += 1
    return added


async def _audit(
    session: AsyncSession, rule: ReminderRule, action: str, actor: str, at: datetime
) -> None:
    await audit.record(
        session,
        actor=actor,
        action=action,
        target=f"reminder:{rule.id}",
        at=at,
        name=rule.name,
        cron=rule.cron,
        audience=rule.audience,
        groups=rule.groups,
    )


async def recipients_for(
    session: AsyncSession,
    ward: WardConfig,
    *,
    audience: str,
    groups: list[str] | None,
    at: datetime,
) -> list[Addressee]:
    """The reachable chats a rule reaches at `at`, without anyone who stopped reminders."""
    year = at.astimezone(LOCAL_TZ).year
    survey_id = None
    if audience == "no_survey":
        if ward.survey is not None:
            await surveys.ensure_ward_survey(session, ward.survey, at)
        survey = await surveys.open_survey(session, at)
        if survey is None:
            return []
        survey_id = survey.id
    found = await audiences.recipients(
        session,
        groups=groups or [g.code for g in ward.groups],
        audience=audience,
        year=year,
        survey_id=survey_id,
    )
    stopped = await reminders.stopped_residents(session)
    names = await reminders.head_names(session)
    return [
        Addressee(r.resident_id, r.channel, r.chat_id, r.lang, r.group_code,
                  names.get(r.resident_id))
        for r in found
        if r.resident_id not in stopped
    ]


def message_for(
    ward: WardConfig, template: str, deadline: date | None, person: Addressee
) -> Reply:
    """The reminder as this person reads it, with the button that stops reminders."""
    group = ward.group(person.group_code)
    text = rules.render(
        template,
        # The officer writes the message in Vietnamese, so the stand-in name is too.
        ten=person.head_name or texts.t("reminders.default_name", "vi"),
        to=group.name if group else person.group_code,
        han=rules.deadline_text(deadline),
    )
    stop = Button(texts.t("reminders.stop_button", person.lang), "cmd:tatnhac")
    return Reply(text=text, buttons=((stop,),))


def outbox_rows(
    ward: WardConfig, rule: ReminderRule, fire_time: datetime, people: list[Addressee],
    not_before: datetime,
) -> list[dict[str, object]]:
    """One outbox row per chat, keyed by rule, fire time and chat."""
    stamp = fire_time.isoformat()
    return [
        {
            "key": f"reminder:{rule.id}:{stamp}:{person.channel}:{person.chat_id}",
            "kind": "reminder",
            "channel": person.channel,
            "chat_id": person.chat_id,
            "payload": reply_to_payload(message_for(ward, rule.message, rule.deadline, person)),
            "not_before": not_before,
        }
        for person in people
    ]
