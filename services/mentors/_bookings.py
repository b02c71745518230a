"""Booking a call: requests, answers, expiry, cancelling, the contact shown, and the after-call outcome."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from services.contact import PhoneNumber, normalize_phone
from services.mentors._profiles import MentorProfiles
from services.mentors._rules import (
    EXPIRY_JOB,
    THANKS_LIMIT,
    BookingError,
    CancelCause,
    DeclineResult,
    MentorEffect,
    booking_subject,
    expiry_for,
    ics_invite,
)
from services.text import clean_text
from storage import mentors as store
from storage.mentors import LIVE, Booking, SlotTaken
from storage.sql import Conn

log = logging.getLogger(__name__)


class MentorBookings(MentorProfiles):
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
            # Free times up to the one asked for only: the check needs no further (a fraction of the computation,
            # made inside the transaction every other write waits for). The server's policy and the mentor's
            # calendar are read once for the check, the alternatives and the expiry.
            policy = await self.policy(conn, guild_id)
            calendar = await self._calendar(conn, mentor, now)
            free = await self._free(conn, mentor, limit=10_000, until=starts_at, policy=policy, calendar=calendar)
            if starts_at not in free:
                raise SlotTaken(
                    "That time was just taken or is no longer free. Pick one of the next free times instead.",
                    await self._free(conn, mentor, limit=5, policy=policy, calendar=calendar),
                )
            ends_at = starts_at + timedelta(minutes=mentor.call_minutes)
            await self._check_member_free(conn, guild_id, mentor_user_id, member_id, starts_at, ends_at, now)
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
                alternatives = [s for s in await self._free(conn, mentor, limit=6) if s != starts_at][:5]
                raise SlotTaken(
                    "Someone booked that time a moment ago. Pick one of the next free times instead.", alternatives
                ) from taken
            await self._schedule(conn, booking, EXPIRY_JOB, booking.expires_at, now)
            await self._booking_effect(conn, booking, "mentor", MentorEffect.REQUEST_DM)
            await self._card(conn, booking)
        self._wake(booking.expires_at)
        log.info(
            "booking requested id=%d guild=%d mentor=%d member=%d", booking.id, guild_id, mentor_user_id, member_id
        )
        return booking

    async def _check_member_free(
        self,
        conn: Conn,
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
                for role in ("member", "mentor"):
                    await self._booking_effect(conn, confirmed, role, MentorEffect.CONFIRMATION)
                await self._card(conn, confirmed)
        if confirmed is None:
            raise BookingError(
                "This request expired before it was answered, so the member has been offered other times."
            )
        self._wake()
        log.info("booking confirmed id=%d", booking_id)
        return confirmed

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
            await self._booking_effect(conn, declined, "member", MentorEffect.DECLINED_DM, expired=False)
            await self._card(conn, declined)
        log.info("booking declined id=%d", booking_id)
        return DeclineResult(declined, alternatives)

    async def _expire_in(self, conn: Conn, booking: Booking, now: datetime) -> Booking | None:
        expired = await store.transition_booking(
            conn, booking.id, from_statuses=("requested",), to_status="expired", now=now, decided=True
        )
        if expired is not None:
            await store.forget_member_phone(conn, [booking.id])
            await self._cancel_jobs(conn, expired, (EXPIRY_JOB,), now)
            await self._booking_effect(conn, expired, "member", MentorEffect.DECLINED_DM, expired=True)
            await self._booking_effect(conn, expired, "mentor", MentorEffect.EXPIRED_DM)
            await self._card(conn, expired)
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

    async def cancel(
        self,
        booking_id: int,
        by_user_id: int,
        reason: str | None = None,
        *,
        cause: CancelCause = CancelCause.BY_PERSON,
    ) -> Booking:
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
            cancelled = await self._cancel_in(conn, booking, by=by_user_id, reason=cleaned, cause=cause)
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

    # -- reminders and after the call ------------------------------------------------------------------------------

    async def remind(self, booking_id: int, minutes_before: int) -> Booking | None:
        """The reminder job: record the reminder DM for both people, once (a re-run of the job finds them). None when
        there is nothing to remind of (cancelled, or already started)."""
        async with self.db.transaction() as conn:
            booking = await store.get_booking(conn, booking_id)
            if booking is None or booking.status != "confirmed" or self.clock.now() >= booking.starts_at:
                return None
            for role in ("member", "mentor"):
                latest = await self.outbox.latest(booking_subject(booking.id, role), MentorEffect.REMINDER)
                start = int(booking.starts_at.timestamp())  # a moved call is reminded again, of its new time
                if latest is None or (latest.args.get("minutes"), latest.args.get("starts_at")) != (
                    minutes_before,
                    start,
                ):
                    await self._booking_effect(
                        conn, booking, role, MentorEffect.REMINDER, minutes=minutes_before, starts_at=start
                    )
        return booking

    async def open_voice(self, booking_id: int) -> Booking | None:
        """The voice job: record the room and each person's "join" DM, once. None when there is no call to open."""
        async with self.db.transaction() as conn:
            booking = await store.get_booking(conn, booking_id)
            if booking is None or booking.status != "confirmed" or booking.contact_mode != "discord_voice":
                return None
            if await self.outbox.latest(booking_subject(booking.id, "member"), MentorEffect.VOICE_ROOM) is None:
                await self._booking_effect(conn, booking, "member", MentorEffect.VOICE_ROOM)
                for role in ("member", "mentor"):
                    await self._booking_effect(conn, booking, role, MentorEffect.VOICE_READY)
        return booking

    async def after_call(self, booking_id: int) -> Booking | None:
        """The after-call job: ask both people how it went, once, and take the number out of the confirmation."""
        async with self.db.transaction() as conn:
            booking = await store.get_booking(conn, booking_id)
            if booking is None or booking.status != "confirmed":
                return None
            if await self.outbox.latest(booking_subject(booking.id, "member"), MentorEffect.AFTER_CALL) is None:
                for role in ("member", "mentor"):
                    await self._booking_effect(conn, booking, role, MentorEffect.AFTER_CALL)
                await self._redact_number(conn, booking)
        return booking

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
