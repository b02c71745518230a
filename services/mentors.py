"""Commute-call mentors: profiles, approval, free slots, booking, reminders, invites and outcomes.

No Discord here: cogs call these methods and render what comes back. Decisions:
- Contact modes are named from the mentor's side: ``they_call_me`` (the member calls the mentor: the mentor's number
  is needed at signup), ``i_call_them`` (the mentor calls the member: the member's number is asked when booking),
  ``discord_voice`` (no numbers; a temporary private voice channel). A number the mode does not need is not stored,
  and switching away from a mode drops the number.
- Per-guild settings (``guild_config.settings``): ``mentor_approval`` (default true), ``mentor_min_notice_hours``
  (12), ``mentor_horizon_days`` (14), ``mentor_buffer_minutes`` (5).
- Booking is race-safe twice over: the free-slot check and the insert run in one ``BEGIN IMMEDIATE`` transaction, and
  the partial unique index on live bookings turns any double booking that still slips through (another process) into
  :class:`SlotTaken`, which carries the next free slots.
- Jobs are written in the same transaction as the booking change that causes them (``storage.jobs`` on the same
  connection), so a crash can never leave a confirmed call without reminders or a cancelled one with them; the
  dispatcher is only woken afterwards. Payloads carry ids only. Kinds: ``mentors.request_expiry`` (at
  ``expires_at``), ``mentors.reminder`` (start-24h and start-15min, payload ``minutes_before``; a reminder whose time
  has passed at confirmation is not scheduled), ``mentors.after_call`` (end+30min), and for Discord voice
  ``mentors.voice_create`` (start-5min) and ``mentors.voice_delete`` (end+30min). Handlers should load the booking
  with :meth:`MentorService.booking_for_job` and do nothing when it returns None.
- An unanswered request expires 24 hours after it was made, or when the minimum notice before the call is reached,
  whichever is first, but the mentor always gets at least an hour (never past 15 minutes before the call).
- A pause with an end date hides slots until then and ends by itself; a pause without one hides the mentor. Pausing
  keeps calls already booked. Leaving cancels every upcoming call and deletes the phone number.
- A member holds at most one upcoming call with the same mentor, and cannot book over another call of their own.
- The after-call check: the first answer wins. "They didn't show" records the other person as the no-show; counts
  are for moderators only (:meth:`MentorService.no_show_counts`).
- Invites: UID ``booking-<id>@porchlight``, SEQUENCE is the booking's ``ics_sequence`` (bumped on confirmation-time
  changes: cancellation), times in UTC. Invites name no phone number and no topic text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

import aiosqlite
import icalendar

from services import settings_catalog
from services.clock import Clock
from services.contact import PhoneNumber, PhoneVault, normalize_phone
from services.errors import PorchlightError
from services.slots import Interval, calls_left_this_week, free_slots
from services.text import clean_text
from services.timezones import UnknownTimezone, resolve_timezone
from services.windows import format_windows, parse_windows
from storage import guilds
from storage import jobs as job_store
from storage import mentors as store
from storage.db import Database
from storage.jobs import DuplicateJob
from storage.mentors import LIVE, Booking, Mentor, SlotTaken

log = logging.getLogger(__name__)

__all__ = [
    "AFTER_CALL_JOB",
    "EXPIRY_JOB",
    "JOB_KINDS",
    "REMINDER_JOB",
    "VOICE_CREATE_JOB",
    "VOICE_DELETE_JOB",
    "Booking",
    "BookingError",
    "BookingPolicy",
    "DeclineResult",
    "LeaveResult",
    "Mentor",
    "MentorError",
    "MentorMatch",
    "MentorService",
    "SlotTaken",
    "ics_invite",
    "normalize_topics",
    "validate_timezone",
]

EXPIRY_JOB = "mentors.request_expiry"
REMINDER_JOB = "mentors.reminder"
AFTER_CALL_JOB = "mentors.after_call"
VOICE_CREATE_JOB = "mentors.voice_create"
VOICE_DELETE_JOB = "mentors.voice_delete"
JOB_KINDS = (EXPIRY_JOB, REMINDER_JOB, AFTER_CALL_JOB, VOICE_CREATE_JOB, VOICE_DELETE_JOB)

CALL_MINUTES = (10, 15, 20, 30)
CONTACT_LABELS = {
    "they_call_me": "they_call_me",
    "you call me": "they_call_me",
    "i_call_them": "i_call_them",
    "i call you": "i_call_them",
    "discord_voice": "discord_voice",
    "discord voice": "discord_voice",
}
MAX_TOPICS = 8
MAX_TOPIC_LENGTH = 30
THANKS_LIMIT = 1000  # the thank-you form's limit
REMINDER_OFFSETS = (timedelta(hours=24), timedelta(minutes=15))
AFTER_CALL_DELAY = timedelta(minutes=30)
VOICE_LEAD = timedelta(minutes=5)
VOICE_LINGER = timedelta(minutes=30)
ANSWER_WINDOW = timedelta(hours=24)
MIN_ANSWER_TIME = timedelta(hours=1)
LAST_ANSWER_BEFORE_START = timedelta(minutes=15)
UID_DOMAIN = "porchlight"


class MentorError(PorchlightError):
    """A mentor profile action that cannot be done as asked."""


class BookingError(PorchlightError):
    """A booking action that cannot be done as asked."""


class JobWaker(Protocol):
    """The dispatcher, as far as this service needs it: told to look at the jobs table now."""

    def wake(self) -> None: ...


@dataclass(frozen=True, slots=True)
class BookingPolicy:
    horizon_days: int = 14
    min_notice_hours: float = 12
    buffer_minutes: int = 5


@dataclass(frozen=True, slots=True)
class MentorMatch:
    mentor: Mentor
    slots: list[datetime]  # next free starts, aware UTC
    calls_left_this_week: int


@dataclass(frozen=True, slots=True)
class LeaveResult:
    mentor: Mentor  # status 'left'; roster_message_id still set so the card can be removed
    cancelled: list[Booking]  # tell each member; confirmed ones also get a METHOD:CANCEL invite


@dataclass(frozen=True, slots=True)
class DeclineResult:
    booking: Booking
    alternatives: list[datetime] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DeleteResult:
    cancelled: list[Booking]  # upcoming calls cancelled for the other person's sake, before the rows went
    roster_cards: list[tuple[int, int]]  # (guild_id, message_id) of roster cards to remove
    bookings_deleted: int
    profiles_deleted: int


# -- validation helpers ---------------------------------------------------------------------------------------------


def validate_timezone(name: str) -> ZoneInfo:
    """The IANA zone, resolved as everywhere else (services.timezones), or :class:`MentorError` saying what to type."""
    try:
        return resolve_timezone(name)
    except UnknownTimezone as unknown:
        raise MentorError(unknown.message) from None


def normalize_topics(topics: str | Sequence[str]) -> tuple[str, ...]:
    """Comma-separated text (or a list) to lowercase-hyphenated tags, in order, without repeats, at most 8."""
    parts = re.split(r"[,;\n]", clean_text(topics) or "") if isinstance(topics, str) else list(topics)
    tags: list[str] = []
    for part in parts:
        tag = re.sub(r"[^a-z0-9+#]+", "-", (clean_text(part) or "").lower()).strip("-")
        if not tag:
            continue
        if len(tag) > MAX_TOPIC_LENGTH:
            raise MentorError(
                f"Topics are short tags of up to {MAX_TOPIC_LENGTH} characters, like `interviews, career-change, "
                "product-management`. Shorten the long one."
            )
        if tag not in tags:
            tags.append(tag)
    if not tags:
        raise MentorError("Please give at least one topic, comma-separated, e.g. `interviews, resume, fintech`.")
    if len(tags) > MAX_TOPICS:
        raise MentorError(f"You gave {len(tags)} topics; please keep it to {MAX_TOPICS} or fewer.")
    return tuple(tags)


def _contact_mode(value: str) -> str:
    mode = CONTACT_LABELS.get((value or "").strip().lower())
    if mode is None:
        raise MentorError("Choose how calls happen: `you call me`, `I call you` or `Discord voice`.")
    return mode


def _call_minutes(value: int) -> int:
    if value not in CALL_MINUTES:
        raise MentorError("Calls can be 10, 15, 20 or 30 minutes long. Pick one of those.")
    return value


def _weekly_limit(value: int) -> int:
    if not 1 <= value <= 20:
        raise MentorError("The weekly limit is between 1 and 20 calls. Pick a number in that range.")
    return value


def _text(value: str | None, *, name: str, limit: int, required: bool) -> str:
    cleaned = clean_text(value) or ""
    if required and not cleaned:
        raise MentorError(f"Please fill in your {name}.")
    if len(cleaned) > limit:
        raise MentorError(f"Your {name} is {len(cleaned)} characters; please keep it to {limit}.")
    return cleaned


def _needs_mentor_phone(mode: str) -> bool:
    return mode == "they_call_me"


def _tag_matches(query: str, topics: Sequence[str]) -> bool:
    return any(query == tag or query in tag for tag in topics)


def expiry_for(requested_at: datetime, starts_at: datetime, min_notice: timedelta) -> datetime:
    """When an unanswered request lapses; see the module docstring."""
    expires = min(requested_at + ANSWER_WINDOW, starts_at - min_notice)
    floor = min(requested_at + MIN_ANSWER_TIME, starts_at - LAST_ANSWER_BEFORE_START)
    return max(expires, floor)


# -- invites ----------------------------------------------------------------------------------------------------------


def ics_invite(
    booking: Booking, method: Literal["REQUEST", "CANCEL"] = "REQUEST", *, summary: str | None = None
) -> bytes:
    """An iCalendar invite for the call: stable UID per booking, SEQUENCE from the booking, UTC times, METHOD set."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError("method must be REQUEST or CANCEL")
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Porchlight//Commute calls//EN")
    cal.add("version", "2.0")
    cal.add("method", method)
    event = icalendar.Event()
    event.add("uid", f"booking-{booking.id}@{UID_DOMAIN}")
    event.add("sequence", booking.ics_sequence)
    event.add("dtstamp", booking.updated_at)
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.ends_at)
    event.add("summary", summary or "Porchlight commute call")
    how = {
        "they_call_me": "The member calls the mentor; the number is in your Discord DM from Porchlight.",
        "i_call_them": "The mentor calls the member; the number is in your Discord DM from Porchlight.",
        "discord_voice": "A private Discord voice channel opens 5 minutes before the call.",
    }[booking.contact_mode]
    event.add("description", how)
    event.add("organizer", "mailto:calls@porchlight.invalid", parameters={"CN": "Porchlight"})
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    cal.add_component(event)
    return bytes(cal.to_ical())


# -- the service ------------------------------------------------------------------------------------------------------


class MentorService:
    def __init__(
        self,
        db: Database,
        jobs: JobWaker | None,
        clock: Clock,
        vault: PhoneVault,
        *,
        default_region: str | None = None,
    ) -> None:
        self.db = db
        self.jobs = jobs
        self.clock = clock
        self.vault = vault
        self.default_region = default_region

    def __repr__(self) -> str:
        return "MentorService()"

    # -- settings and loading ----------------------------------------------------------------------------------

    async def approval_required(self, conn: aiosqlite.Connection, guild_id: int) -> bool:
        config = await guilds.get_config(conn, guild_id)
        return settings_catalog.flag(config, "mentor_approval")

    async def policy(self, conn: aiosqlite.Connection, guild_id: int) -> BookingPolicy:
        config = await guilds.get_config(conn, guild_id)
        return BookingPolicy(
            horizon_days=settings_catalog.number(config, "mentor_horizon_days"),
            min_notice_hours=settings_catalog.number(config, "mentor_min_notice_hours"),
            buffer_minutes=settings_catalog.number(config, "mentor_buffer_minutes"),
        )

    async def _mentor(self, conn: aiosqlite.Connection, guild_id: int, user_id: int) -> Mentor | None:
        """The profile, with a dated pause that has run out ended on the way."""
        mentor = await store.get_mentor(conn, guild_id, user_id)
        now = self.clock.now()
        if mentor and mentor.status == "paused" and mentor.paused_until is not None and mentor.paused_until <= now:
            mentor = await store.update_mentor(
                conn, guild_id, user_id, now=now, expect_status=("paused",), status="active", paused_until=None
            )
        return mentor

    async def get(self, guild_id: int, user_id: int) -> Mentor | None:
        return await self._mentor(self.db.conn, guild_id, user_id)

    async def _require(self, conn: aiosqlite.Connection, guild_id: int, user_id: int) -> Mentor:
        mentor = await self._mentor(conn, guild_id, user_id)
        if mentor is None or mentor.status in ("left", "declined"):
            raise MentorError("You're not a mentor on this server. Use /mentor signup to offer calls.")
        return mentor

    def _wake(self) -> None:
        if self.jobs is not None:
            self.jobs.wake()

    # -- profile ------------------------------------------------------------------------------------------------

    async def signup(
        self,
        guild_id: int,
        user_id: int,
        *,
        timezone: str,
        windows: str,
        call_minutes: int,
        contact_mode: str,
        headline: str,
        topics: str | Sequence[str],
        about: str = "",
        phone: str | None = None,
        weekly_limit: int = 3,
    ) -> Mentor:
        """Create a profile: ``pending_approval`` when the server wants approval, else ``active``."""
        minutes = _call_minutes(call_minutes)
        zone = validate_timezone(timezone)
        canonical = format_windows(parse_windows(windows, call_minutes=minutes))
        mode = _contact_mode(contact_mode)
        tags = normalize_topics(topics)
        headline = _text(headline, name="headline", limit=100, required=True)
        about = _text(about, name="about text", limit=1000, required=False)
        limit = _weekly_limit(weekly_limit)
        token = self._phone_token(mode, phone, current=None)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            existing = await store.get_mentor(conn, guild_id, user_id)
            if existing is not None and existing.status in ("pending_approval", "active", "paused"):
                raise MentorError("You're already signed up as a mentor here. Use /mentor edit to change your profile.")
            status = "pending_approval" if await self.approval_required(conn, guild_id) else "active"
            mentor = await store.save_mentor(
                conn,
                guild_id=guild_id,
                user_id=user_id,
                status=status,
                headline=headline,
                topics=tags,
                about=about,
                timezone=zone.key,
                windows=canonical,
                call_minutes=minutes,
                contact_mode=mode,
                phone_encrypted=token,
                weekly_limit=limit,
                now=now,
            )
        log.info("mentor signup guild=%d user=%d status=%s", guild_id, user_id, status)
        return mentor

    def _phone_token(self, mode: str, phone: str | None, current: bytes | None) -> bytes | None:
        if not _needs_mentor_phone(mode):
            return None  # a number the mode does not need is not kept
        number = clean_text(phone)
        if number:
            return self.vault.encrypt(normalize_phone(number, self.default_region))
        if current is not None:
            return current
        raise MentorError(
            "With “you call me”, members need your phone number. Add it (with the country code, e.g. "
            "+44 20 7946 0958), or choose “I call you” or “Discord voice” instead."
        )

    async def approve(self, guild_id: int, user_id: int, *, moderator_id: int) -> Mentor:
        async with self.db.transaction() as conn:
            mentor = await store.update_mentor(
                conn,
                guild_id,
                user_id,
                now=self.clock.now(),
                expect_status=("pending_approval",),
                status="active",
                decided_by=moderator_id,
            )
            if mentor is None:
                current = await store.get_mentor(conn, guild_id, user_id)
                if current is not None and current.status in ("active", "paused"):
                    return current  # a second click on Approve
                raise MentorError("This mentor application is no longer waiting for approval.")
        log.info("mentor approved guild=%d user=%d by=%d", guild_id, user_id, moderator_id)
        return mentor

    async def decline_application(self, guild_id: int, user_id: int, *, moderator_id: int) -> Mentor:
        async with self.db.transaction() as conn:
            mentor = await store.update_mentor(
                conn,
                guild_id,
                user_id,
                now=self.clock.now(),
                expect_status=("pending_approval",),
                status="declined",
                decided_by=moderator_id,
                phone_encrypted=None,
            )
            if mentor is None:
                current = await store.get_mentor(conn, guild_id, user_id)
                if current is not None and current.status == "declined":
                    return current
                raise MentorError("This mentor application is no longer waiting for approval.")
        log.info("mentor declined guild=%d user=%d by=%d", guild_id, user_id, moderator_id)
        return mentor

    async def edit(
        self,
        guild_id: int,
        user_id: int,
        *,
        timezone: str | None = None,
        windows: str | None = None,
        call_minutes: int | None = None,
        contact_mode: str | None = None,
        headline: str | None = None,
        topics: str | Sequence[str] | None = None,
        about: str | None = None,
        phone: str | None = None,
        weekly_limit: int | None = None,
    ) -> Mentor:
        """Change the fields given. Calls already booked keep their time, length and contact mode."""
        async with self.db.transaction() as conn:
            mentor = await self._require(conn, guild_id, user_id)
            changes: dict[str, Any] = {}
            minutes = _call_minutes(call_minutes) if call_minutes is not None else mentor.call_minutes
            if call_minutes is not None:
                changes["call_minutes"] = minutes
            if timezone is not None:
                changes["timezone"] = validate_timezone(timezone).key
            if windows is not None or call_minutes is not None:
                text = windows if windows is not None else mentor.windows
                changes["windows"] = format_windows(parse_windows(text, call_minutes=minutes))
            mode = _contact_mode(contact_mode) if contact_mode is not None else mentor.contact_mode
            if contact_mode is not None:
                changes["contact_mode"] = mode
            if contact_mode is not None or phone is not None:
                changes["phone_encrypted"] = self._phone_token(mode, phone, current=mentor.phone_encrypted)
            if headline is not None:
                changes["headline"] = _text(headline, name="headline", limit=100, required=True)
            if topics is not None:
                changes["topics"] = list(normalize_topics(topics))
            if about is not None:
                changes["about"] = _text(about, name="about text", limit=1000, required=False)
            if weekly_limit is not None:
                changes["weekly_limit"] = _weekly_limit(weekly_limit)
            updated = await store.update_mentor(conn, guild_id, user_id, now=self.clock.now(), **changes)
            assert updated is not None
        log.info("mentor edited guild=%d user=%d fields=%s", guild_id, user_id, ",".join(sorted(changes)))
        return updated

    async def pause(self, guild_id: int, user_id: int, until: datetime | None = None) -> Mentor:
        now = self.clock.now()
        if until is not None and until <= now:
            raise MentorError("That date has already passed. Pick a date in the future, or leave it out to pause.")
        async with self.db.transaction() as conn:
            mentor = await self._require(conn, guild_id, user_id)
            if mentor.status == "pending_approval":
                raise MentorError("Your profile is still waiting for approval; there is nothing to pause yet.")
            updated = await store.update_mentor(conn, guild_id, user_id, now=now, status="paused", paused_until=until)
            assert updated is not None
        log.info("mentor paused guild=%d user=%d dated=%s", guild_id, user_id, until is not None)
        return updated

    async def resume(self, guild_id: int, user_id: int) -> Mentor:
        async with self.db.transaction() as conn:
            mentor = await self._require(conn, guild_id, user_id)
            if mentor.status == "active":
                return mentor
            if mentor.status != "paused":
                raise MentorError("Your profile is still waiting for approval; a moderator will look at it soon.")
            updated = await store.update_mentor(
                conn, guild_id, user_id, now=self.clock.now(), status="active", paused_until=None
            )
            assert updated is not None
        return updated

    async def set_roster_message(self, guild_id: int, user_id: int, message_id: int | None) -> Mentor | None:
        return await store.update_mentor(
            self.db.conn, guild_id, user_id, now=self.clock.now(), roster_message_id=message_id
        )

    async def leave(self, guild_id: int, user_id: int) -> LeaveResult:
        """Stop offering calls: the phone number is deleted and every upcoming call is cancelled."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await self._require(conn, guild_id, user_id)
            upcoming = await store.list_bookings(
                conn, guild_id=guild_id, mentor_user_id=user_id, statuses=LIVE, ends_after=now
            )
            cancelled = [
                b
                for b in [
                    await self._cancel_in(conn, b, by=user_id, reason="The mentor has stopped offering calls.")
                    for b in upcoming
                ]
                if b is not None
            ]
            mentor = await store.update_mentor(
                conn, guild_id, user_id, now=now, status="left", phone_encrypted=None, paused_until=None
            )
            assert mentor is not None
        self._wake()
        log.info("mentor left guild=%d user=%d cancelled=%d", guild_id, user_id, len(cancelled))
        return LeaveResult(mentor, cancelled)

    # -- slots ----------------------------------------------------------------------------------------------------

    async def _free(
        self, conn: aiosqlite.Connection, mentor: Mentor, *, limit: int, exclude: Sequence[datetime] = ()
    ) -> list[datetime]:
        now = self.clock.now()
        if mentor.status == "paused" and mentor.paused_until is None:
            return []
        if mentor.status not in ("active", "paused"):
            return []
        policy = await self.policy(conn, mentor.guild_id)
        booked = await self._booked(conn, mentor, now)
        zone = ZoneInfo(mentor.timezone)
        slots = free_slots(
            parse_windows(mentor.windows, call_minutes=mentor.call_minutes),
            tz=zone,
            call_minutes=mentor.call_minutes,
            buffer_minutes=policy.buffer_minutes,
            now=now,
            horizon_days=policy.horizon_days,
            min_notice_hours=policy.min_notice_hours,
            weekly_limit=mentor.weekly_limit,
            booked=booked,
            paused_until=mentor.paused_until if mentor.status == "paused" else None,
            limit=limit + len(exclude),
        )
        return [s for s in slots if s not in exclude][:limit]

    async def _booked(self, conn: aiosqlite.Connection, mentor: Mentor, now: datetime) -> list[Interval]:
        """Calls that hold time or count toward the weekly limit: live and completed ones from 8 days back."""
        rows = await store.list_bookings(
            conn,
            guild_id=mentor.guild_id,
            mentor_user_id=mentor.user_id,
            statuses=(*LIVE, "completed"),
            starts_from=now - timedelta(days=8),
        )
        return [(b.starts_at, b.ends_at) for b in rows]

    async def slots_for(self, guild_id: int, mentor_user_id: int, member_id: int, limit: int = 25) -> list[datetime]:
        """The next free starts a member can pick (aware UTC), at most ``limit`` (25 fits one select)."""
        if member_id == mentor_user_id:
            raise BookingError("That's your own mentor profile, so you can't book a call with yourself.")
        mentor = await self._mentor(self.db.conn, guild_id, mentor_user_id)
        if mentor is None or mentor.status not in ("active", "paused"):
            raise BookingError("This mentor isn't taking calls right now. Try /mentors to find someone else.")
        return await self._free(self.db.conn, mentor, limit=limit)

    async def calls_left(self, mentor: Mentor) -> int:
        now = self.clock.now()
        booked = await self._booked(self.db.conn, mentor, now)
        return calls_left_this_week(
            tz=ZoneInfo(mentor.timezone), weekly_limit=mentor.weekly_limit, booked=booked, now=now
        )

    async def roster(self, guild_id: int) -> list[MentorMatch]:
        """Every active or paused mentor with their next 3 free slots and calls left this week (roster cards)."""
        out: list[MentorMatch] = []
        for listed in await store.list_mentors(self.db.conn, guild_id, ("active", "paused")):
            mentor = await self._mentor(self.db.conn, guild_id, listed.user_id) or listed
            out.append(
                MentorMatch(mentor, await self._free(self.db.conn, mentor, limit=3), await self.calls_left(mentor))
            )
        return out

    async def departed_with_cards(self, guild_id: int) -> list[Mentor]:
        """Mentors who left or were declined but still have a roster message id: their cards should go."""
        gone = await store.list_mentors(self.db.conn, guild_id, ("left", "declined", "pending_approval"))
        return [m for m in gone if m.roster_message_id is not None]

    async def matching(
        self, guild_id: int, topic: str | None = None, *, member_id: int | None = None
    ) -> list[MentorMatch]:
        """Mentors who can be booked, optionally on a topic (a tag or part of one), with their next 3 free slots.

        Mentors with a free slot come first, soonest first; fully booked ones follow. The member's own profile is
        left out.
        """
        searched = clean_text(topic)
        query = normalize_topics(searched)[0] if searched else None
        matches: list[MentorMatch] = []
        for match in await self.roster(guild_id):
            if member_id is not None and match.mentor.user_id == member_id:
                continue
            if query is not None and not _tag_matches(query, match.mentor.topics):
                continue
            if match.mentor.status == "paused" and match.mentor.paused_until is None:
                continue
            matches.append(match)
        far = datetime.max.replace(tzinfo=self.clock.now().tzinfo)
        matches.sort(key=lambda m: (m.slots[0] if m.slots else far, m.mentor.user_id))
        return matches

    # -- booking --------------------------------------------------------------------------------------------------

    async def request_booking(
        self,
        guild_id: int,
        mentor_user_id: int,
        member_id: int,
        starts_at: datetime,
        *,
        topic_text: str = "",
        member_phone: str | None = None,
    ) -> Booking:
        """Ask the mentor for a call at ``starts_at``; :class:`SlotTaken` (with the next free slots) if it's gone."""
        if member_id == mentor_user_id:
            raise BookingError("That's your own mentor profile, so you can't book a call with yourself.")
        topic = clean_text(topic_text) or ""
        if len(topic) > 1000:
            raise BookingError(f"Please keep what you'd like to talk about to 1000 characters (it's {len(topic)}).")
        now = self.clock.now()
        async with self.db.transaction() as conn:
            mentor = await self._mentor(conn, guild_id, mentor_user_id)
            if mentor is None or mentor.status not in ("active", "paused"):
                raise BookingError("This mentor isn't taking calls right now. Try /mentors to find someone else.")
            phone_token = None
            if mentor.contact_mode == "i_call_them":
                number = clean_text(member_phone)
                if not number:
                    raise BookingError(
                        "This mentor calls you, so please add your phone number with the country code "
                        "(e.g. +44 20 7946 0958)."
                    )
                phone_token = self.vault.encrypt(normalize_phone(number, self.default_region))
            free = await self._free(conn, mentor, limit=10_000)
            if starts_at not in free:
                raise SlotTaken(
                    "That time was just taken or is no longer free. Pick one of the next free times instead.",
                    free[:5],
                )
            ends_at = starts_at + timedelta(minutes=mentor.call_minutes)
            await self._check_member_free(conn, guild_id, mentor_user_id, member_id, starts_at, ends_at, now)
            policy = await self.policy(conn, guild_id)
            expires = expiry_for(now, starts_at, timedelta(hours=policy.min_notice_hours))
            try:
                booking = await store.insert_booking(
                    conn,
                    guild_id=guild_id,
                    mentor_user_id=mentor_user_id,
                    member_user_id=member_id,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    contact_mode=mentor.contact_mode,
                    topic_text=topic,
                    member_phone_encrypted=phone_token,
                    expires_at=expires,
                    now=now,
                )
            except SlotTaken as taken:
                alternatives = [s for s in free if s != starts_at][:5]
                raise SlotTaken(
                    "Someone booked that time a moment ago. Pick one of the next free times instead.", alternatives
                ) from taken
            await self._schedule(conn, booking, EXPIRY_JOB, booking.expires_at, now)
        self._wake()
        log.info(
            "booking requested id=%d guild=%d mentor=%d member=%d", booking.id, guild_id, mentor_user_id, member_id
        )
        return booking

    async def _check_member_free(
        self,
        conn: aiosqlite.Connection,
        guild_id: int,
        mentor_user_id: int,
        member_id: int,
        starts_at: datetime,
        ends_at: datetime,
        now: datetime,
    ) -> None:
        mine = await store.list_bookings(conn, involving=member_id, statuses=LIVE, ends_after=now)
        for other in mine:
            if other.guild_id == guild_id and other.mentor_user_id == mentor_user_id:
                raise BookingError(
                    "You already have a call with this mentor coming up. Cancel it in /calls first if you'd like "
                    "a different time."
                )
            if other.starts_at < ends_at and starts_at < other.ends_at:
                raise BookingError("You already have another call at that time. Pick a different time.")

    async def _schedule(
        self,
        conn: aiosqlite.Connection,
        booking: Booking,
        kind: str,
        due_at: datetime,
        now: datetime,
        *,
        suffix: str = "",
        payload: dict[str, Any] | None = None,
    ) -> None:
        try:
            await job_store.schedule(
                conn,
                kind=kind,
                due_at=due_at,
                payload={"booking_id": booking.id, **(payload or {})},
                guild_id=booking.guild_id,
                dedupe_key=f"{kind}:{booking.id}{suffix}",
                now=now,
            )
        except DuplicateJob:
            log.info("job already running kind=%s booking=%d", kind, booking.id)

    async def _cancel_jobs(
        self, conn: aiosqlite.Connection, booking: Booking, kinds: Sequence[str], now: datetime
    ) -> None:
        for kind in kinds:
            suffixes = [f":{int(o.total_seconds() // 60)}" for o in REMINDER_OFFSETS] if kind == REMINDER_JOB else [""]
            for suffix in suffixes:
                await job_store.cancel(conn, dedupe_key=f"{kind}:{booking.id}{suffix}", now=now)

    async def _load_booking(self, conn: aiosqlite.Connection, booking_id: int) -> Booking:
        booking = await store.get_booking(conn, booking_id)
        if booking is None:
            raise BookingError("I can't find that call any more. Use /calls to see your calls.")
        return booking

    async def accept(self, booking_id: int, mentor_id: int) -> Booking:
        """Confirm a request. Both people then get the confirmation; reminders and follow-ups are scheduled.

        A request past its ``expires_at`` is expired instead (and stays expired: the refusal is raised after the
        commit), even when the expiry job has not run yet.
        """
        now = self.clock.now()
        confirmed: Booking | None = None
        async with self.db.transaction() as conn:
            booking = await self._load_booking(conn, booking_id)
            if booking.mentor_user_id != mentor_id:
                raise BookingError("Only the mentor of this call can accept it.")
            if booking.status == "confirmed":
                return booking  # a second click
            if booking.status != "requested":
                raise BookingError(f"This request was already {booking.status}; there is nothing to accept.")
            if now >= booking.expires_at:
                await self._expire_in(conn, booking, now)
            else:
                if booking.contact_mode == "they_call_me":
                    mentor = await store.get_mentor(conn, booking.guild_id, booking.mentor_user_id)
                    if mentor is None or mentor.phone_encrypted is None:
                        raise BookingError(
                            "This call needs your phone number. Add it with /mentor edit, then accept again."
                        )
                confirmed = await store.transition_booking(
                    conn, booking_id, from_statuses=("requested",), to_status="confirmed", now=now, decided=True
                )
                assert confirmed is not None
                await self._cancel_jobs(conn, confirmed, (EXPIRY_JOB,), now)
                await self._schedule_call_jobs(conn, confirmed, now)
        if confirmed is None:
            raise BookingError(
                "This request expired before it was answered, so the member has been offered other times."
            )
        self._wake()
        log.info("booking confirmed id=%d", booking_id)
        return confirmed

    async def _schedule_call_jobs(self, conn: aiosqlite.Connection, booking: Booking, now: datetime) -> None:
        for offset in REMINDER_OFFSETS:
            due = booking.starts_at - offset
            if due > now:
                minutes = int(offset.total_seconds() // 60)
                await self._schedule(
                    conn, booking, REMINDER_JOB, due, now, suffix=f":{minutes}", payload={"minutes_before": minutes}
                )
        await self._schedule(conn, booking, AFTER_CALL_JOB, booking.ends_at + AFTER_CALL_DELAY, now)
        if booking.contact_mode == "discord_voice":
            await self._schedule(conn, booking, VOICE_CREATE_JOB, max(now, booking.starts_at - VOICE_LEAD), now)
            await self._schedule(conn, booking, VOICE_DELETE_JOB, booking.ends_at + VOICE_LINGER, now)

    async def decline(self, booking_id: int, mentor_id: int) -> DeclineResult:
        """The mentor says no; the member is shown other times (not the declined one)."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            booking = await self._load_booking(conn, booking_id)
            if booking.mentor_user_id != mentor_id:
                raise BookingError("Only the mentor of this call can decline it.")
            if booking.status == "declined":
                return DeclineResult(booking)
            declined = await store.transition_booking(
                conn, booking_id, from_statuses=("requested",), to_status="declined", now=now, decided=True
            )
            if declined is None:
                raise BookingError(f"This request was already {booking.status}; use /calls to cancel a booked call.")
            await store.forget_member_phone(conn, [booking_id])
            await self._cancel_jobs(conn, declined, (EXPIRY_JOB,), now)
            alternatives = await self._alternatives(conn, declined)
        log.info("booking declined id=%d", booking_id)
        return DeclineResult(declined, alternatives)

    async def _alternatives(self, conn: aiosqlite.Connection, booking: Booking) -> list[datetime]:
        mentor = await self._mentor(conn, booking.guild_id, booking.mentor_user_id)
        if mentor is None:
            return []
        return await self._free(conn, mentor, limit=5, exclude=(booking.starts_at,))

    async def _expire_in(self, conn: aiosqlite.Connection, booking: Booking, now: datetime) -> Booking | None:
        expired = await store.transition_booking(
            conn, booking.id, from_statuses=("requested",), to_status="expired", now=now, decided=True
        )
        if expired is not None:
            await store.forget_member_phone(conn, [booking.id])
            await self._cancel_jobs(conn, expired, (EXPIRY_JOB,), now)
        return expired

    async def expire(self, booking_id: int) -> DeclineResult | None:
        """The expiry job: lapse the request if it is still unanswered and due; None when there was nothing to do."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            booking = await store.get_booking(conn, booking_id)
            if booking is None or booking.status != "requested" or booking.expires_at > now:
                return None
            expired = await self._expire_in(conn, booking, now)
            if expired is None:
                return None
            alternatives = await self._alternatives(conn, expired)
        log.info("booking expired id=%d", booking_id)
        return DeclineResult(expired, alternatives)

    async def expire_due(self) -> list[DeclineResult]:
        """Catch-up after downtime: lapse every overdue request (the jobs do the same one by one)."""
        overdue = await store.expired_requests(self.db.conn, self.clock.now())
        results = [await self.expire(b.id) for b in overdue]
        return [r for r in results if r is not None]

    async def _cancel_in(
        self, conn: aiosqlite.Connection, booking: Booking, *, by: int, reason: str | None
    ) -> Booking | None:
        now = self.clock.now()
        cancelled = await store.transition_booking(
            conn,
            booking.id,
            from_statuses=LIVE,
            to_status="cancelled",
            now=now,
            bump_sequence=booking.status == "confirmed",
            cancel_reason=reason,
            cancelled_by=by,
        )
        if cancelled is None:
            return None
        await store.forget_member_phone(conn, [booking.id])
        await self._cancel_jobs(conn, cancelled, (EXPIRY_JOB, REMINDER_JOB, AFTER_CALL_JOB, VOICE_CREATE_JOB), now)
        if cancelled.contact_mode == "discord_voice":
            if now >= booking.starts_at - VOICE_LEAD:  # the room may exist already: remove it now
                await self._schedule(conn, cancelled, VOICE_DELETE_JOB, now, now)
            else:
                await self._cancel_jobs(conn, cancelled, (VOICE_DELETE_JOB,), now)
        return cancelled

    async def cancel(self, booking_id: int, by_user_id: int, reason: str | None = None) -> Booking:
        """Cancel by either person, before the call starts. Returns the booking (status ``cancelled``).

        A confirmed call's ``ics_sequence`` is bumped, so the cancelling invite supersedes the first one.
        """
        cleaned = clean_text(reason)
        if cleaned is not None and len(cleaned) > 500:
            raise BookingError("Please keep the reason to 500 characters.")
        now = self.clock.now()
        async with self.db.transaction() as conn:
            booking = await self._load_booking(conn, booking_id)
            if not booking.involves(by_user_id):
                raise BookingError("You can only cancel your own calls. Use /calls to see them.")
            if booking.status == "cancelled":
                return booking  # a second click
            if booking.status not in LIVE:
                raise BookingError(f"This call was already {booking.status}, so there is nothing to cancel.")
            if now >= booking.starts_at:
                raise BookingError("This call has already started. Use the after-call check to say how it went.")
            cancelled = await self._cancel_in(conn, booking, by=by_user_id, reason=cleaned)
            assert cancelled is not None
        self._wake()
        log.info(
            "booking cancelled id=%d by=%s", booking_id, "mentor" if by_user_id == booking.mentor_user_id else "member"
        )
        return cancelled

    async def upcoming_calls(self, user_id: int, guild_id: int | None = None) -> list[Booking]:
        """``/calls``: requested and confirmed calls, as mentor or as member, that have not ended yet."""
        return await store.list_bookings(
            self.db.conn, guild_id=guild_id, involving=user_id, statuses=LIVE, ends_after=self.clock.now()
        )

    async def get_booking(self, booking_id: int) -> Booking | None:
        return await store.get_booking(self.db.conn, booking_id)

    async def thanks_note(self, booking_id: int, member_id: int, note: str | None) -> tuple[Booking, str]:
        """The member's thank-you for their mentor, cleaned and checked, with the booking to forward it for. Not
        stored: the Discord layer sends it by DM."""
        booking = await store.get_booking(self.db.conn, booking_id)
        if booking is None or booking.member_user_id != member_id:
            raise BookingError("Only the member of this call can send a thank-you from here.")
        cleaned = clean_text(note)
        if cleaned is None:
            raise BookingError("The thank-you came through empty, so nothing was sent. Write a few words and send it.")
        if len(cleaned) > THANKS_LIMIT:
            raise BookingError(f"Please keep the thank-you to {THANKS_LIMIT} characters (it's {len(cleaned)}).")
        return booking, cleaned

    async def booking_for_job(self, booking_id: int, *, statuses: Sequence[str] = ("confirmed",)) -> Booking | None:
        """For job handlers: the booking if it is still in one of ``statuses``, else None (do nothing)."""
        booking = await store.get_booking(self.db.conn, booking_id)
        return booking if booking is not None and booking.status in statuses else None

    async def contact_for(self, booking: Booking, recipient_id: int) -> PhoneNumber | None:
        """The number ``recipient_id`` should see in their confirmation DM, or None.

        Only for a confirmed booking: the member gets the mentor's number in “you call me” mode, the mentor gets the
        member's number in “I call you” mode. Nobody else ever gets one.
        """
        if booking.status != "confirmed" or not booking.involves(recipient_id):
            return None
        if booking.contact_mode == "they_call_me" and recipient_id == booking.member_user_id:
            mentor = await store.get_mentor(self.db.conn, booking.guild_id, booking.mentor_user_id)
            if mentor is None or mentor.phone_encrypted is None:
                return None
            return self.vault.decrypt_number(mentor.phone_encrypted)
        if booking.contact_mode == "i_call_them" and recipient_id == booking.mentor_user_id:
            if booking.member_phone_encrypted is None:
                return None
            return self.vault.decrypt_number(booking.member_phone_encrypted)
        return None

    def ics_invite(self, booking: Booking, method: Literal["REQUEST", "CANCEL"] = "REQUEST") -> bytes:
        return ics_invite(booking, method)

    # -- after the call ---------------------------------------------------------------------------------------------

    async def record_outcome(self, booking_id: int, reporter_id: int, outcome: str) -> Booking:
        """ "Did the call happen?" — the first answer wins; later answers return the booking unchanged."""
        if outcome not in store.OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        now = self.clock.now()
        async with self.db.transaction() as conn:
            booking = await self._load_booking(conn, booking_id)
            if not booking.involves(reporter_id):
                raise BookingError("Only the two people on this call can say how it went.")
            if booking.status == "completed":
                return booking
            if booking.status != "confirmed":
                raise BookingError(f"This call was {booking.status}, so there is nothing to report.")
            if now < booking.starts_at:
                raise BookingError("This call hasn't started yet. Tell me how it went after it ends.")
            no_show = booking.other_party(reporter_id) if outcome == "no_show" else None
            done = await store.record_outcome(
                conn, booking_id, outcome=outcome, reported_by=reporter_id, no_show_user_id=no_show, now=now
            )
            assert done is not None
            await store.forget_member_phone(conn, [booking_id])
        log.info("booking outcome id=%d outcome=%s", booking_id, outcome)
        return done

    async def no_show_counts(self, guild_id: int) -> dict[int, int]:
        """Private: how often each person did not show. For moderators only."""
        return await store.no_show_counts(self.db.conn, guild_id)

    # -- privacy --------------------------------------------------------------------------------------------------

    async def export_member(self, user_id: int, guild_id: int | None = None) -> dict[str, Any]:
        """Everything kept about one person, as JSON-ready data: their profiles (with their own number) and calls.

        Another person's number and another person's words (a member's topic, seen by the mentor) are left out.
        """
        conn = self.db.conn
        profiles = []
        for mentor in await store.mentors_of_user(conn, user_id, guild_id):
            profiles.append(
                {
                    "guild_id": mentor.guild_id,
                    "status": mentor.status,
                    "headline": mentor.headline,
                    "topics": list(mentor.topics),
                    "about": mentor.about,
                    "timezone": mentor.timezone,
                    "windows": mentor.windows,
                    "call_minutes": mentor.call_minutes,
                    "contact_mode": mentor.contact_mode,
                    "phone": self._own_number(mentor.phone_encrypted),
                    "weekly_limit": mentor.weekly_limit,
                    "paused_until": mentor.paused_until.isoformat() if mentor.paused_until else None,
                    "created_at": mentor.created_at.isoformat(),
                    "updated_at": mentor.updated_at.isoformat(),
                }
            )
        calls = []
        for booking in await store.list_bookings(conn, guild_id=guild_id, involving=user_id):
            as_member = booking.member_user_id == user_id
            calls.append(
                {
                    "id": booking.id,
                    "guild_id": booking.guild_id,
                    "role": "member" if as_member else "mentor",
                    "with_user_id": booking.other_party(user_id),
                    "starts_at": booking.starts_at.isoformat(),
                    "ends_at": booking.ends_at.isoformat(),
                    "status": booking.status,
                    "contact_mode": booking.contact_mode,
                    "topic": booking.topic_text if as_member else None,
                    "your_phone": self._own_number(booking.member_phone_encrypted) if as_member else None,
                    "cancel_reason": booking.cancel_reason if booking.cancelled_by == user_id else None,
                    "outcome": booking.outcome,
                    "created_at": booking.created_at.isoformat(),
                }
            )
        return {"mentor_profiles": profiles, "calls": calls}

    def _own_number(self, token: bytes | None) -> str | None:
        if token is None:
            return None
        try:
            return self.vault.decrypt(token)
        except PorchlightError:
            return None

    async def delete_member(self, user_id: int, guild_id: int | None = None) -> DeleteResult:
        """Delete one person's profiles and calls. Upcoming calls are cancelled first; the result lists them so the
        other person can be told, and the roster cards to remove."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            upcoming = await store.list_bookings(
                conn, guild_id=guild_id, involving=user_id, statuses=LIVE, ends_after=now
            )
            cancelled: list[Booking] = []
            for booking in upcoming:
                done = await self._cancel_in(conn, booking, by=user_id, reason=None)
                if done is not None:
                    cancelled.append(done)
            profiles = await store.mentors_of_user(conn, user_id, guild_id)
            cards: list[tuple[int, int]] = []
            for profile in profiles:
                if profile.roster_message_id is not None:
                    cards.append((profile.guild_id, profile.roster_message_id))
            deleted = await store.delete_bookings_involving(conn, user_id, guild_id)
            removed = 0
            for mentor in profiles:
                removed += int(await store.delete_mentor(conn, mentor.guild_id, user_id))
        self._wake()
        log.info("mentor data deleted user=%d bookings=%d profiles=%d", user_id, deleted, removed)
        return DeleteResult(cancelled, cards, deleted, removed)
