"""Private check-ins: the rules behind /checkin, its follow-up DM, /checkin-history and /pulse.

Decisions:
- Any newer check-in supersedes the pending follow-up of that member in that server: every check-in cancels the
  member's pending follow-up jobs there (hired: "all pending follow-ups"), and stuck / in a rut then schedules a
  fresh one ``followup_days`` later under a dedupe key per guild + member, so at most one is pending.
- ``share_with_helpers`` only means something for stuck / in a rut; for other statuses it is stored as false.
- A double-pressed button (same ``dedupe_key``) stores one check-in and returns the same reply with
  ``duplicate=True``; follow-ups are left as the first press set them.
- The check-in is committed before the follow-up job is scheduled (the dispatcher has its own transaction). A crash
  in between loses one follow-up DM, never a check-in.
- Streaks count ISO weeks (Monday to Sunday) in the member's reminder time zone if they set one, else UTC. The run
  is still alive while the current week has no check-in yet: it counts back from last week then.
- /pulse weeks start Monday 00:00 UTC (one server spans many zones; UTC is the honest common calendar). Each member
  counts once per week, under their latest status that week. Every count under 3, zero included, is the string
  "fewer than 3" (:func:`safe_count`); the service only hands out those strings, so no caller can leak a small count.
- Payloads of jobs carry ids only, never a status or a note.
- ``share_with_helpers``: the notice in the helper queue is an effect recorded with the check-in (subject
  ``share:<checkin id>``), posted once even across a crash (``services/reach_outs.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from services import settings_catalog
from services.clock import Clock
from services.effects import Outbox
from services.errors import PorchlightError
from services.jobs import JobDispatcher
from services.reach_outs import ReachEffect, share_subject
from services.text import clean_text
from storage import checkins as store
from storage import guilds
from storage.checkins import Checkin
from storage.db import Database
from storage.jobs import DuplicateJob
from storage.sql import Conn, guild_scope

log = logging.getLogger(__name__)

FOLLOWUP_JOB = "checkin.followup"
DEFAULT_FOLLOWUP_DAYS = settings_catalog.BY_NAME["followup_days"].default
NOTE_LIMIT = 1000
HISTORY_LIMIT = 12
K_ANONYMITY = 3
FEWER_THAN = f"fewer than {K_ANONYMITY}"


class Status(StrEnum):
    ON_TRACK = "on_track"
    STUCK = "stuck"
    RUT = "rut"
    HIRED = "hired"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def needs_help(self) -> bool:
        return self in (Status.STUCK, Status.RUT)

    @property
    def level(self) -> int:
        """For the trend line: higher is better."""
        return _LEVELS[self]


_LABELS = {Status.ON_TRACK: "On track", Status.STUCK: "Stuck", Status.RUT: "In a rut", Status.HIRED: "Hired"}
_LEVELS = {Status.STUCK: 1, Status.RUT: 2, Status.ON_TRACK: 3, Status.HIRED: 4}
SPARK = {1: "▂", 2: "▄", 3: "▆", 4: "█"}


class Source(StrEnum):
    COMMAND = "command"
    FOLLOWUP = "followup"
    REMINDER = "reminder"


class ReplyKind(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    OFFER_HELP = "offer_help"
    OFFER_HELP_AGAIN = "offer_help_again"
    CONGRATULATE_AND_OFFER_MENTORING = "congratulate_and_offer_mentoring"


class NoteTooLong(PorchlightError):
    def __init__(self, length: int, limit: int = NOTE_LIMIT) -> None:
        super().__init__(
            f"Your note is {length:,} characters; notes can be at most {limit:,}. "
            f"Shorten it by {length - limit:,} and send it again — nothing was saved."
        )
        self.length = length
        self.limit = limit


class BadStatus(PorchlightError):
    pass


def parse_status(value: Status | str) -> Status:
    if isinstance(value, Status):
        return value
    text = value.strip().casefold()
    for status in Status:
        if text in (status.value, status.label.casefold()):
            return status
    raise BadStatus(f"“{value}” isn't a check-in status. Choose On track, Stuck, In a rut or Hired.")


def safe_count(count: int) -> str:
    """A count fit to show: under 3 (zero included) becomes "fewer than 3" so nobody can be singled out."""
    return FEWER_THAN if count < K_ANONYMITY else str(count)


def sparkline(statuses: list[Status]) -> str:
    """Oldest to newest, one block per check-in: ▂ stuck, ▄ in a rut, ▆ on track, █ hired."""
    return "".join(SPARK[s.level] for s in statuses)


def followup_dedupe_key(guild_id: int, user_id: int) -> str:
    return f"{FOLLOWUP_JOB}:{guild_id}:{user_id}"


# --- what the member reads --------------------------------------------------------------------------------------

_OPENERS = {
    Status.STUCK: "Thanks for being straight with me — feeling stuck is more common than anyone lets on.",
    Status.RUT: "Thanks for saying so. A long search wears anyone down, and a rut is not a verdict on you.",
}
_ASK = (
    "Here is what actually works: asking for help. Not a public post — a quiet word with someone who has been "
    "where you are. You can ask privately (only you and the helpers who take it will see it), or book a short call "
    "with a mentor, even on their commute. Nobody else sees this check-in."
)
_AGAIN = (
    "This is the second check-in in a row where things feel stuck, so I'll say it gently: it might be time to bring "
    "someone in. That isn't failing — it's how most people get unstuck. Asking for help privately is the first "
    "button, and it only takes a minute. Nobody else sees this check-in."
)
_ACK = "Good to hear — thanks for checking in. Keep going. If that changes, /checkin any time; it stays between us."
_HIRED = (
    "Congratulations — you got hired! That took persistence, and it's worth stopping to enjoy it. "
    "If you'd like to give back, you could offer short calls to people who are where you were; "
    "/mentor signup takes a couple of minutes and you choose the times."
)


def _followup_line(days: float) -> str:
    span = "tomorrow" if days == 1 else f"in {days:g} days"
    return f" I'll DM you {span} to see how it's going."


def reply_text(kind: ReplyKind, status: Status, followup_days: float | None) -> str:
    if kind is ReplyKind.ACKNOWLEDGE:
        return _ACK
    if kind is ReplyKind.CONGRATULATE_AND_OFFER_MENTORING:
        return _HIRED
    text = _AGAIN if kind is ReplyKind.OFFER_HELP_AGAIN else f"{_OPENERS[status]} {_ASK}"
    return text + (_followup_line(followup_days) if followup_days is not None else "")


def _reply_kind(status: Status, previous: Checkin | None) -> ReplyKind:
    if status is Status.HIRED:
        return ReplyKind.CONGRATULATE_AND_OFFER_MENTORING
    if status is Status.ON_TRACK:
        return ReplyKind.ACKNOWLEDGE
    if previous is not None and Status(previous.status).needs_help:
        return ReplyKind.OFFER_HELP_AGAIN
    return ReplyKind.OFFER_HELP


# --- results -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckinOutcome:
    checkin: Checkin
    status: Status
    reply: ReplyKind
    message: str  # the ephemeral reply, ready to send
    duplicate: bool  # a repeated press: nothing new was stored or scheduled
    followup_due_at: datetime | None  # a follow-up DM was scheduled for then
    followups_cancelled: int  # pending follow-ups this check-in superseded (a replaced one counts too)
    share_with_helpers: bool  # post the "would welcome a reach-out" notice to the helper queue


@dataclass(frozen=True, slots=True)
class History:
    checkins: tuple[Checkin, ...]  # newest first, at most 12
    sparkline: str  # oldest to newest
    streak_weeks: int
    week_zone: str  # the zone the weeks were counted in


@dataclass(frozen=True, slots=True)
class WeekCounts:
    """Already safe to show: every value is a number of 3 or more, or "fewer than 3"."""

    start: datetime
    by_status: dict[Status, str]
    members: str
    asked_for_reach_out: str


@dataclass(frozen=True, slots=True)
class Pulse:
    this_week: WeekCounts
    last_week: WeekCounts


def week_start(instant: datetime, tz: ZoneInfo | None = None) -> datetime:
    """Monday 00:00 of the week holding ``instant`` (UTC unless ``tz``), as an aware UTC datetime."""
    zone = tz or ZoneInfo("UTC")
    local = instant.astimezone(zone).date()
    monday = local - timedelta(days=local.weekday())
    return datetime.combine(monday, datetime.min.time(), zone).astimezone(UTC)


def _monday(instant: datetime, tz: ZoneInfo) -> date:
    local = instant.astimezone(tz).date()
    return local - timedelta(days=local.weekday())


def streak_weeks(instants: list[datetime], now: datetime, tz: ZoneInfo) -> int:
    """Consecutive weeks with a check-in, ending this week (or last week, while this one is still empty)."""
    weeks = {_monday(i, tz) for i in instants}
    week = _monday(now, tz)
    if week not in weeks:
        week -= timedelta(days=7)
    run = 0
    while week in weeks:
        run += 1
        week -= timedelta(days=7)
    return run


STREAK_CHUNK = 16  # weeks asked about per statement; most streaks fit in one


async def count_streak(
    weeks_in_a_row: Callable[[list[tuple[datetime, datetime]]], Awaitable[int]], now: datetime, tz: ZoneInfo
) -> int:
    """:func:`streak_weeks` without reading the member's history: ``weeks_in_a_row(weeks)`` says how many of the
    given weeks (newest first), from the first, hold a check-in. Asked in chunks of 16 weeks, so a streak of n weeks
    costs about n / 16 + 1 statements of one index seek per week."""

    def weeks(newest: date) -> list[tuple[datetime, datetime]]:
        starts = [newest - timedelta(days=7 * i) for i in range(-1, STREAK_CHUNK)]
        edges = [datetime.combine(day, datetime.min.time(), tz).astimezone(UTC) for day in starts]
        return [(edges[i + 1], edges[i]) for i in range(STREAK_CHUNK)]

    newest = _monday(now, tz)
    run = await weeks_in_a_row(weeks(newest))
    if run == 0:  # this week is still empty: the run may end last week
        newest -= timedelta(days=7)
        run = await weeks_in_a_row(weeks(newest))
    total = run
    while run == STREAK_CHUNK:
        newest -= timedelta(days=7 * STREAK_CHUNK)
        run = await weeks_in_a_row(weeks(newest))
        total += run
    return total


class CheckinService:
    def __init__(self, db: Database, dispatcher: JobDispatcher, clock: Clock) -> None:
        self.db = db
        self.dispatcher = dispatcher
        self.clock = clock
        self.outbox = Outbox(db, dispatcher, clock)

    async def followup_days(self, guild_id: int) -> float:
        return settings_catalog.number(await guilds.get_config(self.db.conn, guild_id), "followup_days")

    async def _schedule_followup(self, conn: Conn, checkin: Checkin, due: datetime) -> None:
        key = followup_dedupe_key(checkin.guild_id, checkin.user_id)
        # The previous follow-up may be being sent right now (its DM button may be what was pressed); a running job
        # cannot be replaced, so this one then gets a key of its own. Check-ins cancel by kind and member, not key.
        for dedupe_key in (key, f"{key}:{checkin.id}"):
            try:
                await self.dispatcher.schedule_in(
                    conn,
                    kind=FOLLOWUP_JOB,
                    due_at=due,
                    payload={"checkin_id": checkin.id},
                    guild_id=checkin.guild_id,
                    user_id=checkin.user_id,
                    dedupe_key=dedupe_key,
                )
            except DuplicateJob:
                continue
            return

    async def record(
        self,
        guild_id: int,
        user_id: int,
        status: Status | str,
        note: str | None = None,
        share_with_helpers: bool = False,
        source: Source | str = Source.COMMAND,
        dedupe_key: str | None = None,
    ) -> CheckinOutcome:
        """Validate, store, supersede follow-ups, and say what to reply. Nothing is stored on bad input."""
        state = parse_status(status)
        origin = Source(source)
        cleaned = clean_text(note)
        if cleaned is not None and len(cleaned) > NOTE_LIMIT:
            raise NoteTooLong(len(cleaned))
        share = bool(share_with_helpers) and state.needs_help
        now = self.clock.now()

        due: datetime | None = None
        days: float | None = None
        cancelled = 0
        # One transaction: the check-in, what it supersedes and the follow-up it schedules commit together. It touches
        # this server's rows only (the check-in, its week counts, its jobs, a notice's effect): beside other servers'.
        async with self.db.transaction(scope=guild_scope(guild_id)) as conn:
            checkin, created = await store.insert_checkin(
                conn,
                guild_id=guild_id,
                user_id=user_id,
                status=state.value,
                note=cleaned,
                share_with_helpers=share,
                source=origin.value,
                created_at=now,
                dedupe_key=dedupe_key,
            )
            previous = await store.recent_checkins(conn, guild_id, user_id, 1, before_id=checkin.id)
            if created and share:
                # The nameless notice in the helper queue, recorded with the check-in (``docs/effects.md``).
                await self.outbox.record(
                    conn, share_subject(checkin.id), ReachEffect.NOTICE, guild_id=guild_id, user_id=user_id
                )
            if created:
                # Any newer check-in supersedes the member's pending follow-ups here (hired: that is all of them);
                # stuck / in a rut then schedules a fresh one.
                cancelled = await self.dispatcher.cancel_in(conn, kind=FOLLOWUP_JOB, guild_id=guild_id, user_id=user_id)
                if Status(checkin.status).needs_help:
                    config = await guilds.get_config(conn, guild_id)
                    days = settings_catalog.number(config, "followup_days")
                    due = checkin.created_at + timedelta(days=days)
                    await self._schedule_followup(conn, checkin, due)
        stored = Status(checkin.status)
        kind = _reply_kind(stored, previous[0] if previous else None)

        if not created:
            return CheckinOutcome(
                checkin=checkin,
                status=stored,
                reply=kind,
                message=reply_text(kind, stored, None),
                duplicate=True,
                followup_due_at=None,
                followups_cancelled=0,
                share_with_helpers=False,
            )
        if due is not None:
            self.dispatcher.wake(due)
        log.info(
            "checkin recorded checkin_id=%d guild_id=%d source=%s followup=%s",
            checkin.id,
            guild_id,
            origin.value,
            due is not None,
        )
        return CheckinOutcome(
            checkin=checkin,
            status=stored,
            reply=kind,
            message=reply_text(kind, stored, days),
            duplicate=False,
            followup_due_at=due,
            followups_cancelled=cancelled,
            share_with_helpers=share,
        )

    async def history(self, guild_id: int, user_id: int) -> History:
        recent = await store.recent_checkins(self.db.conn, guild_id, user_id, HISTORY_LIMIT)
        schedule = await store.get_reminder_schedule(self.db.conn, guild_id, user_id)
        tz = ZoneInfo(schedule.timezone if schedule is not None else "UTC")

        async def weeks_in_a_row(weeks: list[tuple[datetime, datetime]]) -> int:
            return await store.weeks_in_a_row(self.db.conn, guild_id, user_id, weeks)

        return History(
            checkins=tuple(recent),
            sparkline=sparkline([Status(c.status) for c in reversed(recent)]),
            streak_weeks=await count_streak(weeks_in_a_row, self.clock.now(), tz),
            week_zone=tz.key,
        )

    async def pulse(self, guild_id: int, now: datetime | None = None) -> Pulse:
        """Anonymous counts for helpers and moderators, this week (Monday 00:00 UTC) against last week."""
        this_start = week_start(now or self.clock.now())
        last_start = this_start - timedelta(days=7)
        weeks: list[WeekCounts] = []
        for start in (this_start, last_start):
            agg = await store.week_counts(self.db.conn, guild_id, start)
            weeks.append(
                WeekCounts(
                    start=start,
                    by_status={s: safe_count(agg.members_by_status.get(s.value, 0)) for s in Status},
                    members=safe_count(agg.members),
                    asked_for_reach_out=safe_count(agg.shared),
                )
            )
        return Pulse(this_week=weeks[0], last_week=weeks[1])

    async def followup_target(self, checkin_id: int) -> Checkin | None:
        """The check-in a follow-up job points at (None if the member deleted their data since)."""
        return await store.get_checkin(self.db.conn, checkin_id)

    async def export_member(self, guild_id: int, user_id: int) -> dict[str, object]:
        return await store.export_member(self.db.conn, guild_id, user_id)

    async def delete_member(self, guild_id: int, user_id: int) -> int:
        """Forget the member's check-ins, reminders and DM record here, and cancel their pending jobs."""
        async with self.db.transaction() as conn:
            deleted = await store.delete_member(conn, guild_id, user_id)
        for kind in (FOLLOWUP_JOB, "checkin.reminder"):
            await self.dispatcher.cancel(kind=kind, guild_id=guild_id, user_id=user_id)
        log.info("checkin data deleted guild_id=%d user_id=%d rows=%d", guild_id, user_id, deleted)
        return deleted
