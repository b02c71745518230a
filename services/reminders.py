"""Check-in reminders by DM at the member's local time, and what happens when DMs do not get through.

The next reminder is computed from the local rule ("07:30 every weekday in Europe/Berlin"), never by adding 24
hours, so it stays at 07:30 on the wall clock across daylight-saving changes. Decisions:

- A local time that does not exist that day (the spring-forward gap, e.g. 02:30 in New York on 8 March 2026) fires
  at the first instant after the gap (03:00 local), the nearest moment to what the member asked for.
- A local time that happens twice (fall back) fires once, at the first of the two (``fold=0``).
- Cadences use the member's local calendar: ``weekdays`` is Monday to Friday where the member lives, and ``weekly``
  on Monday is Monday local time even when it is still Sunday in UTC.
- After downtime the one overdue reminder job is sent once; the next one is then computed after *now*, so reminders
  missed while the bot was down are caught up once, not one per missed day.
- A reminder gives way to the member's check-in follow-up in the same server when that follow-up is due within the
  hour (or overdue, as after downtime) or was sent in the last hour: it asks the same question about the check-in
  they made, so one DM does. The next reminder is scheduled as usual.
- DMs are per user, not per guild: after three failures in a row the member's reminders are paused in every server
  and their reminder jobs are cancelled; the member is told the next time they use a command. Setting reminders
  again (``/reminders checkin``) resumes them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from services.checkins import FOLLOWUP_JOB
from services.clock import Clock
from services.errors import PorchlightError
from services.jobs import JobDispatcher
from services.text import clean_text
from services.timezones import resolve_timezone
from storage import checkins as store
from storage import dm_channels
from storage import jobs as jobs_store
from storage.checkins import ReminderSchedule
from storage.db import Database, to_epoch
from storage.jobs import Job, JobStatus

log = logging.getLogger(__name__)

REMINDER_JOB = "checkin.reminder"
GIVE_WAY_WITHIN = timedelta(hours=1)  # a follow-up due this soon replaces the reminder's DM
PAUSE_AFTER_FAILURES = 3
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Cadence(StrEnum):
    DAILY = "daily"
    WEEKDAYS = "weekdays"
    WEEKLY = "weekly"


class BadTime(PorchlightError):
    """A reminder time we cannot read."""


class MissingWeekday(PorchlightError):
    """A weekly reminder without a day."""


class BadWeekday(PorchlightError):
    """A day that is not a weekday name."""


class BadCadence(PorchlightError):
    """Not daily, weekdays or weekly."""


class NoReminders(PorchlightError):
    """The member has no reminders set in this server."""


_TIME = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*(?:([ap])\.?\s*m\.?)?$")


def parse_local_time(text: str) -> time:
    """Read "7:30", "07:30", "7:30am", "7 pm", "19:05" or "19.05" as a wall-clock time."""
    text = clean_text(text) or ""
    cleaned = " ".join(text.strip().casefold().split())
    match = _TIME.match(cleaned)
    shown = text.strip()[:40] or "nothing"
    hint = "Type the time as HH:MM on a 24-hour clock, like 07:30 or 19:05 (7:30am and 7pm work too)."
    if match is None:
        raise BadTime(f"I couldn't read “{shown}” as a time. {hint}")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    meridiem = match.group(3)
    if match.group(2) is None and meridiem is None:
        raise BadTime(f"“{shown}” needs minutes or am/pm. {hint}")
    if minute > 59:
        raise BadTime(f"“{shown}” has {minute} minutes; an hour only has 0–59. {hint}")
    if meridiem is not None:
        if not 1 <= hour <= 12:
            raise BadTime(f"“{shown}”: with am/pm the hour runs from 1 to 12. {hint}")
        hour = hour % 12 + (12 if meridiem == "p" else 0)
    elif hour > 23:
        raise BadTime(f"“{shown}”: the hour runs from 0 to 23. {hint}")
    return time(hour, minute)


def parse_weekday(day: int | str | None) -> int | None:
    """0 = Monday. Accepts an index, a name or its first three letters ("mon", "Tuesday")."""
    if day is None or (isinstance(day, str) and not day.strip()):
        return None
    if isinstance(day, int):
        if 0 <= day <= 6:
            return day
    else:
        word = day.strip().casefold()
        for index, name in enumerate(WEEKDAY_NAMES):
            if len(word) >= 3 and name.casefold().startswith(word):
                return index
    raise BadWeekday(f"“{day}” isn't a day of the week. Type a day like Monday or Thu.")


def parse_cadence(cadence: Cadence | str) -> Cadence:
    try:
        return Cadence(str(cadence).strip().casefold())
    except ValueError:
        raise BadCadence(f"“{cadence}” isn't a reminder rhythm. Choose daily, weekdays or weekly.") from None


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall time ``at`` on local ``day``.

    Ambiguous (fall back): the first occurrence (fold=0). Nonexistent (spring forward): the first instant after the
    gap, found by searching between the two readings of the wall time, which are exactly one gap apart.
    """
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if _wall(first, tz) == wall:
        return first
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    lo, hi = int(min(first, second).timestamp()), int(max(first, second).timestamp())
    # Invariant: wall(lo) < wall, wall(hi) >= wall; the transition is the first second whose wall time is past.
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _wall(datetime.fromtimestamp(mid, UTC), tz) < wall:
            lo = mid
        else:
            hi = mid
    return datetime.fromtimestamp(hi, UTC)


def _fires_on(cadence: Cadence, day: date, weekday: int | None) -> bool:
    if cadence is Cadence.DAILY:
        return True
    if cadence is Cadence.WEEKDAYS:
        return day.weekday() < 5
    return day.weekday() == weekday


def next_occurrence(
    cadence: Cadence | str, local_time: time, tz: ZoneInfo, weekday: int | None, after: datetime
) -> datetime:
    """The first reminder instant strictly after ``after``, as an aware UTC datetime."""
    if after.tzinfo is None:
        raise ValueError("after must be an aware datetime")
    rule = parse_cadence(cadence)
    if rule is Cadence.WEEKLY and weekday is None:
        raise MissingWeekday(_missing_weekday())
    start = after.astimezone(tz).date() - timedelta(days=1)  # a gap shifted past midnight cannot hide a day
    for offset in range(16):
        day = start + timedelta(days=offset)
        if not _fires_on(rule, day, weekday):
            continue
        candidate = local_instant(day, local_time, tz)
        if candidate > after:
            return candidate
    raise AssertionError("no reminder within 16 days")  # pragma: no cover - every rule fires weekly


def _missing_weekday() -> str:
    return "Weekly reminders need a day: add day:Monday (or whichever day suits you), or choose daily or weekdays."


def describe(schedule: ReminderSchedule) -> str:
    """ "Every weekday at 07:30 (Europe/Berlin)" """
    if schedule.cadence == Cadence.WEEKLY and schedule.weekday is not None:
        when = f"Every {WEEKDAY_NAMES[schedule.weekday]}"
    elif schedule.cadence == Cadence.WEEKDAYS:
        when = "Every weekday (Monday to Friday)"
    else:
        when = "Every day"
    return f"{when} at {schedule.local_time} ({schedule.timezone})"


@dataclass(frozen=True, slots=True)
class ReminderView:
    """What /reminders shows: the schedule, when the next DM goes (None while paused) and a sentence."""

    schedule: ReminderSchedule
    next_at: datetime | None
    text: str


@dataclass(frozen=True, slots=True)
class DmFailureOutcome:
    consecutive_failures: int
    paused: bool  # True when this failure paused the member's reminders


DM_HOW_TO = (
    "To open them: click the server name at the top left → Privacy Settings → turn on Direct Messages "
    "(on a phone: tap the server name → Privacy Settings / Allow direct messages)."
)


def _schedule_time(schedule: ReminderSchedule) -> time:
    hour, minute = schedule.local_time.split(":")
    return time(int(hour), int(minute))


def _next_for(schedule: ReminderSchedule, after: datetime) -> datetime:
    return next_occurrence(
        schedule.cadence, _schedule_time(schedule), ZoneInfo(schedule.timezone), schedule.weekday, after
    )


def reminder_dedupe_key(guild_id: int, user_id: int, due_at: datetime) -> str:
    """Per occurrence, not per member: the handler schedules the next reminder while its own job (holding its own
    key) is still running, and a running job's key cannot be taken over."""
    return f"{REMINDER_JOB}:{guild_id}:{user_id}:{to_epoch(due_at)}"


class ReminderService:
    def __init__(self, db: Database, dispatcher: JobDispatcher, clock: Clock) -> None:
        self.db = db
        self.dispatcher = dispatcher
        self.clock = clock

    async def _schedule_job(self, schedule: ReminderSchedule, due_at: datetime) -> None:
        """One job per occurrence; scheduling the same occurrence twice replaces it (an idempotent handler)."""
        await self.dispatcher.schedule(
            kind=REMINDER_JOB,
            due_at=due_at,
            payload={},
            guild_id=schedule.guild_id,
            user_id=schedule.user_id,
            dedupe_key=reminder_dedupe_key(schedule.guild_id, schedule.user_id, due_at),
        )

    def _view(self, schedule: ReminderSchedule, next_at: datetime | None) -> ReminderView:
        text = describe(schedule)
        if schedule.paused:
            text += (
                " — paused, because my last messages to you could not be delivered. "
                "Open your DMs, then set your reminders again with /reminders checkin."
            )
        return ReminderView(schedule, next_at, text)

    async def set(
        self,
        guild_id: int,
        user_id: int,
        cadence: Cadence | str,
        time_text: str,
        tz_text: str,
        day: int | str | None = None,
    ) -> ReminderView:
        """Validate everything first (nothing is stored on bad input), then store and schedule the next DM."""
        rule = parse_cadence(cadence)
        at = parse_local_time(time_text)
        tz = resolve_timezone(tz_text)
        weekday = parse_weekday(day)
        if rule is Cadence.WEEKLY and weekday is None:
            raise MissingWeekday(_missing_weekday())
        if rule is not Cadence.WEEKLY:
            weekday = None
        now = self.clock.now()
        async with self.db.transaction() as conn:
            schedule = await store.upsert_reminder_schedule(
                conn,
                guild_id=guild_id,
                user_id=user_id,
                cadence=rule.value,
                local_time=at.strftime("%H:%M"),
                timezone=tz.key,
                weekday=weekday,
                now=now,
            )
        due = next_occurrence(rule, at, tz, weekday, now)
        await self.dispatcher.cancel(kind=REMINDER_JOB, guild_id=guild_id, user_id=user_id)
        await self._schedule_job(schedule, due)
        log.info("reminders set guild_id=%d user_id=%d cadence=%s", guild_id, user_id, rule.value)
        return self._view(schedule, due)

    async def show(self, guild_id: int, user_id: int) -> ReminderView | None:
        schedule = await store.get_reminder_schedule(self.db.conn, guild_id, user_id)
        if schedule is None:
            return None
        next_at = None if schedule.paused else _next_for(schedule, self.clock.now())
        return self._view(schedule, next_at)

    async def off(self, guild_id: int, user_id: int) -> bool:
        """Delete the schedule and cancel its job; False when there was nothing to turn off."""
        async with self.db.transaction() as conn:
            deleted = await store.delete_reminder_schedule(conn, guild_id, user_id)
        cancelled = await self.dispatcher.cancel(kind=REMINDER_JOB, guild_id=guild_id, user_id=user_id)
        log.info("reminders off guild_id=%d user_id=%d jobs_cancelled=%d", guild_id, user_id, cancelled)
        return deleted or cancelled > 0

    async def gives_way(self, job: Job) -> bool:
        """Whether reminder ``job`` sends no DM because the member's check-in follow-up in the same server asks the
        same question within :data:`GIVE_WAY_WITHIN` of now: due by then (or overdue), running, or just sent."""
        if job.guild_id is None or job.user_id is None:
            return False
        now = self.clock.now()
        since = now - GIVE_WAY_WITHIN
        followups = await jobs_store.of_member(
            self.db.conn, kind=FOLLOWUP_JOB, user_id=job.user_id, guild_id=job.guild_id, done_since=since
        )
        if not any(f.status is not JobStatus.PENDING or f.due_at <= now + GIVE_WAY_WITHIN for f in followups):
            return False
        log.info("reminder gives way to a follow-up guild_id=%d user_id=%d", job.guild_id, job.user_id)
        return True

    async def on_reminder_sent(self, job: Job) -> datetime | None:
        """Schedule the reminder after ``job``; call it once the DM was attempted (delivered or not).

        The next occurrence is computed after the job's due time, so a slightly late run does not skip a day; if
        downtime made further occurrences pass, it is computed after now instead, so they are caught up once.
        Returns the new due time, or None when the schedule is gone or paused.
        """
        if job.guild_id is None or job.user_id is None:
            return None
        schedule = await store.get_reminder_schedule(self.db.conn, job.guild_id, job.user_id)
        if schedule is None or schedule.paused:
            return None
        now = self.clock.now()
        due = _next_for(schedule, job.due_at)
        if due <= now:
            due = _next_for(schedule, now)
        await self._schedule_job(schedule, due)
        return due

    async def rearm(self) -> int:
        """Give every running schedule without a pending job its next reminder; return how many were re-armed.

        Call at start-up (and now and then): it repairs a chain broken by a job that failed for good or was skipped
        as too late, so a schedule never goes silent. A schedule whose job is merely overdue keeps it (sent once).
        """
        now = self.clock.now()
        armed = {(j.guild_id, j.user_id) for j in await jobs_store.pending(self.db.conn, kind=REMINDER_JOB)}
        count = 0
        for schedule in await store.active_reminder_schedules(self.db.conn):
            key = (schedule.guild_id, schedule.user_id)
            if key in armed:
                continue
            await self._schedule_job(schedule, _next_for(schedule, now))
            count += 1
        if count:
            log.info("reminders re-armed count=%d", count)
        return count

    async def record_dm_failure(self, user_id: int) -> DmFailureOutcome:
        """Count a failed DM (Discord error 50007); on the third in a row pause the member's reminders."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            delivery = await store.record_dm_failure(conn, user_id, now)
            paused = 0
            if delivery.consecutive_failures >= PAUSE_AFTER_FAILURES:
                paused = await store.pause_user_schedules(conn, user_id, now)
        if paused:
            await self.dispatcher.cancel(kind=REMINDER_JOB, user_id=user_id)
            log.info("reminders paused after dm failures user_id=%d", user_id)
        return DmFailureOutcome(delivery.consecutive_failures, paused > 0)

    async def record_dm_success(self, user_id: int) -> None:
        """A DM got through. A pending notice is kept only if it still matters (reminders paused)."""
        delivery = await store.get_dm_delivery(self.db.conn, user_id)
        if delivery is None or (delivery.consecutive_failures == 0 and not delivery.notice_pending):
            return  # the common case: nothing to reset, so no write
        async with self.db.transaction() as conn:
            paused = any(s.paused for s in await store.user_reminder_schedules(conn, user_id))
            await store.record_dm_success(conn, user_id, clear_notice=not paused)

    async def pending_notice(self, user_id: int) -> str | None:
        """The notice about closed DMs, once: the first call after a failure returns it, later calls None."""
        if not await store.has_dm_notice(self.db.conn, user_id):  # the common case: no write at all
            return None
        async with self.db.transaction() as conn:
            delivery = await store.take_dm_notice(conn, user_id)
        if delivery is None:
            return None
        schedules = await store.user_reminder_schedules(self.db.conn, user_id)
        text = (
            "I tried to send you a direct message and couldn't — your DMs look closed. "
            "Follow-ups, reminders and call confirmations only ever come by DM (never in a channel). " + DM_HOW_TO
        )
        if any(s.paused for s in schedules):
            text += (
                " After three messages that didn't arrive I paused your check-in reminders; once DMs are open, "
                "/reminders checkin starts them again."
            )
        return text

    # --- DM channels (per person, stable: a known one makes a DM one request) ----------------------------------------

    async def dm_channel(self, user_id: int) -> int | None:
        return await dm_channels.get(self.db.conn, user_id)

    async def remember_dm_channel(self, user_id: int, channel_id: int) -> None:
        async with self.db.transaction() as conn:
            await dm_channels.remember(conn, user_id, channel_id)

    async def forget_dm_channel(self, user_id: int, channel_id: int) -> None:
        """Discord said the channel is unknown: forget it (unless another DM already stored a newer one)."""
        async with self.db.transaction() as conn:
            await dm_channels.forget(conn, user_id, channel_id)
