"""What every part of the mentor service shares: settings, loading, free slots, and the jobs a booking change arms."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services import settings_catalog
from services.clock import Clock
from services.contact import PhoneVault
from services.effects import Outbox
from services.jobs import JobDispatcher
from services.mentors._rules import (
    AFTER_CALL_DELAY,
    AFTER_CALL_JOB,
    EXPIRY_JOB,
    MOVE_EXPIRY_JOB,
    REMINDER_JOB,
    REMINDER_OFFSETS,
    VOICE_CREATE_JOB,
    VOICE_DELETE_JOB,
    VOICE_LEAD,
    VOICE_LINGER,
    BookingError,
    BookingPolicy,
    CancelCause,
    MentorEffect,
    MentorError,
    Role,
    booking_subject,
    erase_subject,
    mentor_subject,
    number_holder,
)
from services.slots import Absence, Interval, calls_left_this_week, free_slots
from services.windows import Window, parse_windows
from storage import booking_moves as moves_store
from storage import effects as effects_store
from storage import guilds
from storage import jobs as job_store
from storage import mentors as store
from storage.db import Database
from storage.jobs import DuplicateJob
from storage.mentors import LIVE, Booking, Mentor
from storage.sql import Conn

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1024)
def _windows(text: str, call_minutes: int) -> tuple[Window, ...]:
    """A mentor's stored windows, parsed once per text (every free-time computation reads them; the result is an
    immutable tuple of frozen windows)."""
    return parse_windows(text, call_minutes=call_minutes)


class MentorBase:
    def __init__(
        self,
        db: Database,
        jobs: JobDispatcher,
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
        self.outbox = Outbox(db, jobs, clock)

    def __repr__(self) -> str:
        return "MentorService()"

    # -- settings and loading ----------------------------------------------------------------------------------

    async def approval_required(self, conn: Conn, guild_id: int) -> bool:
        config = await guilds.get_config(conn, guild_id)
        return settings_catalog.flag(config, "mentor_approval")

    async def policy(self, conn: Conn, guild_id: int) -> BookingPolicy:
        config = await guilds.get_config(conn, guild_id)
        return BookingPolicy(
            horizon_days=settings_catalog.number(config, "mentor_horizon_days"),
            min_notice_hours=settings_catalog.number(config, "mentor_min_notice_hours"),
            buffer_minutes=settings_catalog.number(config, "mentor_buffer_minutes"),
        )

    async def _mentor(self, conn: Conn, guild_id: int, user_id: int) -> Mentor | None:
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

    async def _require(self, conn: Conn, guild_id: int, user_id: int) -> Mentor:
        mentor = await self._mentor(conn, guild_id, user_id)
        if mentor is None or mentor.status in ("left", "declined"):
            raise MentorError("You're not a mentor on this server. Use /mentor signup to offer calls.")
        return mentor

    def _wake(self, due_at: datetime | None = None) -> None:
        """After a change that scheduled jobs: the dispatcher looks at the table now (``due_at``: only if the
        soonest of them is due before it looks by itself; effects' safety nets need no wake, the inline run goes
        first)."""
        if self.jobs is not None:
            self.jobs.wake(due_at)

    # -- slots ----------------------------------------------------------------------------------------------------

    async def _free(
        self,
        conn: Conn,
        mentor: Mentor,
        *,
        limit: int,
        exclude: Sequence[datetime] = (),
        ignore: int | None = None,
        until: datetime | None = None,
        policy: BookingPolicy | None = None,
        calendar: tuple[list[Interval], list[Interval]] | None = None,
    ) -> list[datetime]:
        """The mentor's next free starts; ``ignore`` leaves one booking out (the call being moved); ``until``: none
        after it (to check one start). ``policy`` and ``calendar`` (:meth:`_calendar`, read with the same ``ignore``)
        when the caller has read them already."""
        now = self.clock.now()
        if mentor.status == "paused" and mentor.paused_until is None:
            return []
        if mentor.status not in ("active", "paused"):
            return []
        if policy is None:
            policy = await self.policy(conn, mentor.guild_id)
        booked, elsewhere = calendar if calendar is not None else await self._calendar(conn, mentor, now, ignore=ignore)
        zone = ZoneInfo(mentor.timezone)
        slots = free_slots(
            _windows(mentor.windows, mentor.call_minutes),
            tz=zone,
            call_minutes=mentor.call_minutes,
            buffer_minutes=policy.buffer_minutes,
            now=now,
            horizon_days=policy.horizon_days,
            min_notice_hours=policy.min_notice_hours,
            weekly_limit=mentor.weekly_limit,
            booked=booked,
            paused_until=mentor.paused_until if mentor.status == "paused" else None,
            absences=await self._absences(conn, mentor),
            limit=limit + len(exclude),
            elsewhere=elsewhere,
            until=until,
        )
        return [s for s in slots if s not in exclude][:limit]

    async def _absences(self, conn: Conn, mentor: Mentor) -> list[Absence]:
        """The mentor's away and travel ranges (``_away.py``); none here."""
        return []

    async def _booked(self, conn: Conn, mentor: Mentor, now: datetime, *, ignore: int | None = None) -> list[Interval]:
        """Calls that hold time or count toward the weekly limit here (:meth:`_calendar`)."""
        here, _elsewhere = await self._calendar(conn, mentor, now, ignore=ignore)
        return here

    async def _calendar(
        self, conn: Conn, mentor: Mentor, now: datetime, *, ignore: int | None = None
    ) -> tuple[list[Interval], list[Interval]]:
        """The mentor's taken time, read once across every server, as ``(here, elsewhere)``:

        - here: live and completed calls from 8 days back, which hold time and count toward this server's weekly
          limit, and the times held by proposals to move a call (``_moves.py``);
        - elsewhere: live calls and held times in every other server: one person cannot take two calls at once,
          whichever communities (and Porchlight processes) booked them; they count toward their own server's limit.

        ``ignore`` leaves one booking out (the call being moved)."""
        taken = await moves_store.taken_times(
            conn, mentor.user_id, statuses=(*LIVE, "completed"), starts_from=now - timedelta(days=8)
        )
        here: list[Interval] = []
        elsewhere: list[Interval] = []
        for t in taken:
            if t.booking_id is not None and t.booking_id == ignore:
                continue
            if t.guild_id == mentor.guild_id:
                here.append((t.starts_at, t.ends_at))
            elif t.status in LIVE or t.booking_id is None:  # a live call, or a proposal's held time
                elsewhere.append((t.starts_at, t.ends_at))
        return here, elsewhere

    async def slots_for(self, guild_id: int, mentor_user_id: int, member_id: int, limit: int = 25) -> list[datetime]:
        """The next free starts a member can pick (aware UTC), at most ``limit`` (25 fits one select)."""
        _mentor, slots = await self.offer(guild_id, mentor_user_id, member_id, limit)
        return slots

    async def offer(
        self, guild_id: int, mentor_user_id: int, member_id: int, limit: int = 25
    ) -> tuple[Mentor, list[datetime]]:
        """:meth:`slots_for` with the mentor they were computed for (the picker shows times in the mentor's zone)."""
        if member_id == mentor_user_id:
            raise BookingError("That's your own mentor profile, so you can't book a call with yourself.")
        mentor = await self._mentor(self.db.conn, guild_id, mentor_user_id)
        if mentor is None or mentor.status not in ("active", "paused"):
            raise BookingError("This mentor isn't taking calls right now. Try /mentors to find someone else.")
        return mentor, await self._free(self.db.conn, mentor, limit=limit)

    async def calls_left(self, mentor: Mentor) -> int:
        now = self.clock.now()
        booked = await self._booked(self.db.conn, mentor, now)
        return calls_left_this_week(
            tz=ZoneInfo(mentor.timezone), weekly_limit=mentor.weekly_limit, booked=booked, now=now
        )

    # -- jobs ---------------------------------------------------------------------------------------------------

    async def _schedule(
        self,
        conn: Conn,
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

    async def _cancel_jobs(self, conn: Conn, booking: Booking, kinds: Sequence[str], now: datetime) -> None:
        for kind in kinds:
            suffixes = [f":{int(o.total_seconds() // 60)}" for o in REMINDER_OFFSETS] if kind == REMINDER_JOB else [""]
            for suffix in suffixes:
                await job_store.cancel(conn, dedupe_key=f"{kind}:{booking.id}{suffix}", now=now)

    async def _load_booking(self, conn: Conn, booking_id: int) -> Booking:
        booking = await store.get_booking(conn, booking_id)
        if booking is None:
            raise BookingError("I can't find that call any more. Use /calls to see your calls.")
        return booking

    async def _schedule_call_jobs(self, conn: Conn, booking: Booking, now: datetime) -> None:
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

    async def alternatives(self, booking: Booking) -> list[datetime]:
        """Other free times with the same mentor, for a member whose request was declined or lapsed."""
        return await self._alternatives(self.db.conn, booking)

    async def _alternatives(self, conn: Conn, booking: Booking) -> list[datetime]:
        mentor = await self._mentor(conn, booking.guild_id, booking.mentor_user_id)
        if mentor is None:
            return []
        return await self._free(conn, mentor, limit=5, exclude=(booking.starts_at,))

    async def _cancel_in(
        self,
        conn: Conn,
        booking: Booking,
        *,
        by: int,
        reason: str | None,
        cause: CancelCause = CancelCause.BY_PERSON,
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
        pending = await moves_store.pending_move(conn, booking.id)
        if pending is not None:  # a proposal to move it goes with it (its time is free again)
            await moves_store.decide_move(conn, pending.id, to_status="withdrawn", now=now)
        jobs = (EXPIRY_JOB, REMINDER_JOB, AFTER_CALL_JOB, VOICE_CREATE_JOB, MOVE_EXPIRY_JOB)
        await self._cancel_jobs(conn, cancelled, jobs, now)
        if cancelled.contact_mode == "discord_voice":
            if now >= booking.starts_at - VOICE_LEAD:  # the room may exist already: remove it now
                await self._schedule(conn, cancelled, VOICE_DELETE_JOB, now, now)
            else:
                await self._cancel_jobs(conn, cancelled, (VOICE_DELETE_JOB,), now)
        await self._tell_cancelled(conn, cancelled, by=by, cause=cause)
        return cancelled

    async def _tell_cancelled(self, conn: Conn, booking: Booking, *, by: int, cause: CancelCause) -> None:
        """The one cancellation path, whatever the cause: the other person's DM (with the METHOD:CANCEL invite when
        the call had been confirmed), the number taken out of the confirmation, and the mentor's card. The DM's
        args keep what the invite needs (times, sequence; no member), since a deletion removes the booking row."""
        other: Role = "member" if by == booking.mentor_user_id else "mentor"
        await self._booking_effect(
            conn,
            booking,
            other,
            MentorEffect.CANCELLED_DM,
            cause=cause.value,
            starts_at=int(booking.starts_at.timestamp()),
            ends_at=int(booking.ends_at.timestamp()),
            updated_at=int(booking.updated_at.timestamp()),
            sequence=booking.ics_sequence,
            contact_mode=booking.contact_mode,
        )
        if booking.ics_sequence > 0:
            await self._redact_number(conn, booking)
        if cause != CancelCause.MENTOR_LEFT:  # a leaving mentor's card goes with the profile
            await self._card(conn, booking)

    # -- effects (docs/effects.md): recorded on the transaction of the change --------------------------------------

    async def _mentor_effect(self, conn: Conn, guild_id: int, user_id: int, kind: MentorEffect, **args: Any) -> None:
        subject = mentor_subject(guild_id, user_id)
        if kind in (MentorEffect.CARD, MentorEffect.ROLE):  # they show the profile as it stands when they run
            await self.outbox.cancel(conn, subject, kind)
        await self.outbox.record(conn, subject, kind, guild_id=guild_id, user_id=user_id, args=args or None)

    async def _booking_effect(self, conn: Conn, booking: Booking, role: Role, kind: MentorEffect, **args: Any) -> None:
        person = booking.member_user_id if role == "member" else booking.mentor_user_id
        await self.outbox.record(
            conn, booking_subject(booking.id, role), kind, guild_id=booking.guild_id, user_id=person, args=args or None
        )

    async def _card(self, conn: Conn, booking: Booking) -> None:
        """The mentor's roster card shows the booking's slot taken or freed."""
        await self._mentor_effect(conn, booking.guild_id, booking.mentor_user_id, MentorEffect.CARD)

    async def _redact_number(self, conn: Conn, booking: Booking) -> None:
        """The call is cancelled or over: the confirmation DM that holds the other's number is edited without it."""
        holder = number_holder(booking)
        if holder is not None:
            await self._booking_effect(conn, booking, holder, MentorEffect.REDACT, what="confirmation")

    async def _posted(self, conn: Conn, subject: str, kind: MentorEffect) -> list[tuple[int, int]]:
        """(channel id, message id) of what ``kind`` effects of ``subject`` posted."""
        return [
            (e.channel_id, e.result_id)
            for e in await effects_store.done(conn, subject)
            if e.kind == kind and e.channel_id is not None and e.result_id is not None
        ]

    async def _take_down(self, conn: Conn, guild_id: int, channel_id: int | None, message_id: int, what: str) -> None:
        """Record the take-down of a message that carried a member who is deleting their data. It names no member
        (the subject is the server's, the args are message ids), so the deletion that follows does not remove it."""
        await self.outbox.record(
            conn,
            erase_subject(guild_id),
            MentorEffect.TAKE_DOWN,
            guild_id=guild_id,
            user_id=None,
            args={"channel_id": channel_id, "message_id": message_id, "what": what},
        )
