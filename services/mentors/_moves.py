"""Moving a confirmed call to another of the mentor's free times.

Decisions (``docs/decisions.md``):
- The member proposes (from ``/calls``), the mentor answers by DM: the mentor's free times are theirs to give, and a
  mentor who can't make a time cancels with a note (the one cancellation path) so the member can book another.
- A proposal holds its new time (the free-slot rules treat it as booked, and a partial unique index refuses a
  second proposal of it) until the mentor answers or it lapses; the call itself stays where it is until then.
- On accept the booking keeps its row (so the invite keeps its UID), takes the new times, and its ``ics_sequence``
  goes up by one (RFC 5545); the partial unique index on live bookings still guards the new start. Both people get
  a new confirmation with the updated invite; reminders, the voice room and the after-call check move with it.
- On decline or expiry the call stands, and both people are told. A proposal lapses like a booking request (24 hours,
  or the minimum notice before the earlier of the two times, at least an hour), and never later than 15 minutes
  before the call as booked; moving is refused from then on.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from services.mentors._bookings import MentorBookings
from services.mentors._rules import (
    LAST_ANSWER_BEFORE_START,
    MOVE_EXPIRY_JOB,
    REMINDER_JOB,
    BookingError,
    MentorEffect,
    expiry_for,
)
from storage import booking_moves as moves_store
from storage import mentors as store
from storage.booking_moves import Move
from storage.mentors import LIVE, Booking, Mentor, SlotTaken
from storage.sql import Conn

log = logging.getLogger(__name__)


class MentorMoves(MentorBookings):
    async def _movable(self, conn: Conn, booking_id: int, member_id: int) -> tuple[Booking, Mentor]:
        booking = await self._load_booking(conn, booking_id)
        if booking.member_user_id != member_id:
            if booking.mentor_user_id == member_id:
                raise BookingError(
                    "The member moves a call, to one of your free times. If you can't make it, cancel it in "
                    "/calls with a note so they can book another time."
                )
            raise BookingError("You can only move your own calls. Use /calls to see them.")
        if booking.status != "confirmed":
            raise BookingError("Only a confirmed call can be moved. Cancel the request in /calls and book again.")
        if self.clock.now() >= booking.starts_at - LAST_ANSWER_BEFORE_START:
            raise BookingError("This call is too close to move now. Cancel it in /calls if you can't make it.")
        pending = await moves_store.pending_move(conn, booking.id)
        if pending is not None:
            raise BookingError(
                "You've already asked to move this call; the mentor's answer is on its way. It stays where it is "
                "until then."
            )
        mentor = await self._mentor(conn, booking.guild_id, booking.mentor_user_id)
        if mentor is None or mentor.status not in ("active", "paused"):
            raise BookingError("This mentor isn't taking calls right now, so the call can't be moved.")
        return booking, mentor

    async def move_slots(
        self, booking_id: int, member_id: int, limit: int = 25
    ) -> tuple[Booking, Mentor, list[datetime]]:
        """The times the member can move the call to: the mentor's free times, not counting this call itself."""
        booking, mentor = await self._movable(self.db.conn, booking_id, member_id)
        slots = await self._free(self.db.conn, mentor, limit=limit + 1, ignore=booking.id)
        return booking, mentor, [s for s in slots if s != booking.starts_at][:limit]

    async def propose_move(self, booking_id: int, member_id: int, starts_at: datetime) -> tuple[Booking, Move]:
        """Ask the mentor to move the call to ``starts_at``; :class:`SlotTaken` (with other times) if it's gone."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            booking, mentor = await self._movable(conn, booking_id, member_id)
            free = [
                s for s in await self._free(conn, mentor, limit=10_000, ignore=booking.id) if s != booking.starts_at
            ]
            if starts_at not in free:
                raise SlotTaken("That time was just taken or is no longer free. Pick another one.", free[:5])
            ends_at = starts_at + (booking.ends_at - booking.starts_at)
            mine = await store.list_bookings(conn, involving=member_id, statuses=LIVE, ends_after=now)
            if any(o.id != booking.id and o.starts_at < ends_at and starts_at < o.ends_at for o in mine):
                raise BookingError("You already have another call at that time. Pick a different time.")
            policy = await self.policy(conn, booking.guild_id)
            earlier = min(booking.starts_at, starts_at)
            expires = expiry_for(now, earlier, timedelta(hours=policy.min_notice_hours))
            expires = min(expires, booking.starts_at - LAST_ANSWER_BEFORE_START)
            try:
                move = await moves_store.insert_move(
                    conn, booking, starts_at=starts_at, ends_at=ends_at, expires_at=expires, now=now
                )
            except SlotTaken as taken:
                raise SlotTaken("Someone asked for that time a moment ago. Pick another one.", free[1:6]) from taken
            await self._schedule(conn, booking, MOVE_EXPIRY_JOB, expires, now, payload={"move_id": move.id})
            await self._booking_effect(conn, booking, "mentor", MentorEffect.MOVE_REQUEST_DM, move_id=move.id)
            await self._card(conn, booking)
        self._wake()
        log.info("call move proposed booking=%d move=%d", booking.id, move.id)
        return booking, move

    async def pending_move(self, booking_id: int) -> Move | None:
        """The open proposal to move this call, if any (``/calls`` says the call may move)."""
        return await moves_store.pending_move(self.db.conn, booking_id)

    async def get_move(self, move_id: int) -> Move | None:
        return await moves_store.get_move(self.db.conn, move_id)

    async def _open_move(self, conn: Conn, move_id: int, mentor_id: int) -> tuple[Move, Booking]:
        move = await moves_store.get_move(conn, move_id)
        if move is None:
            raise BookingError("I can't find that call any more. Use /calls to see your calls.")
        booking = await self._load_booking(conn, move.booking_id)
        if booking.mentor_user_id != mentor_id:
            raise BookingError("Only the mentor of this call can answer.")
        return move, booking

    async def accept_move(self, move_id: int, mentor_id: int) -> tuple[Booking, Move]:
        """Move the call: new times, the next invite sequence, the jobs at the new time, both people told."""
        now = self.clock.now()
        lapsed = False
        async with self.db.transaction() as conn:
            move, booking = await self._open_move(conn, move_id, mentor_id)
            if move.status == "accepted":
                return booking, move  # a second click
            if move.status != "pending":
                raise BookingError(_closed(move))
            if now >= move.expires_at:  # lapsed before its job ran: it stays lapsed (refused after the commit)
                lapsed = await self._lapse(conn, move, booking, now) is not None
        if lapsed:
            raise BookingError(_closed(replace(move, status="expired")))
        async with self.db.transaction() as conn:
            move, booking = await self._open_move(conn, move_id, mentor_id)
            if move.status != "pending":
                raise BookingError(_closed(move))
            try:
                moved = await moves_store.move_booking(
                    conn, booking.id, starts_at=move.starts_at, ends_at=move.ends_at, now=now
                )
            except SlotTaken:
                moved = None
            decided = await moves_store.decide_move(
                conn, move.id, to_status="accepted" if moved is not None else "withdrawn", now=now
            )
            assert decided is not None
            await self._cancel_jobs(conn, booking, (MOVE_EXPIRY_JOB,), now)
            if moved is None:
                await self._booking_effect(conn, booking, "member", MentorEffect.MOVE_ANSWER_DM, move_id=move.id)
                move = decided
            else:
                await self._cancel_jobs(conn, moved, (REMINDER_JOB,), now)
                await self._schedule_call_jobs(conn, moved, now)
                for role in ("member", "mentor"):
                    await self._booking_effect(
                        conn, moved, role, MentorEffect.CONFIRMATION, moved_from=int(booking.starts_at.timestamp())
                    )
                await self._card(conn, moved)
                booking, move = moved, decided
        self._wake()
        log.info("call move %s booking=%d move=%d", move.status, booking.id, move_id)
        return booking, move

    async def decline_move(self, move_id: int, mentor_id: int) -> tuple[Booking, Move]:
        now = self.clock.now()
        async with self.db.transaction() as conn:
            move, booking = await self._open_move(conn, move_id, mentor_id)
            if move.status == "declined":
                return booking, move
            if move.status != "pending":
                raise BookingError(_closed(move))
            decided = await moves_store.decide_move(conn, move.id, to_status="declined", now=now)
            assert decided is not None
            await self._cancel_jobs(conn, booking, (MOVE_EXPIRY_JOB,), now)
            await self._booking_effect(conn, booking, "member", MentorEffect.MOVE_ANSWER_DM, move_id=move.id)
            await self._card(conn, booking)
        log.info("call move declined booking=%d move=%d", booking.id, move_id)
        return booking, decided

    async def _lapse(self, conn: Conn, move: Move, booking: Booking, now: datetime) -> Move | None:
        expired = await moves_store.decide_move(conn, move.id, to_status="expired", now=now)
        if expired is not None:
            await self._cancel_jobs(conn, booking, (MOVE_EXPIRY_JOB,), now)
            for role in ("member", "mentor"):
                await self._booking_effect(conn, booking, role, MentorEffect.MOVE_ANSWER_DM, move_id=move.id)
            await self._card(conn, booking)
        return expired

    async def expire_move(self, move_id: int) -> Booking | None:
        """The move's expiry job: the call stays where it is and both people are told. None when nothing to do."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            move = await moves_store.get_move(conn, move_id)
            if move is None or move.status != "pending" or move.expires_at > now:
                return None
            booking = await self._load_booking(conn, move.booking_id)
            if await self._lapse(conn, move, booking, now) is None:
                return None
        log.info("call move expired booking=%d move=%d", booking.id, move_id)
        return booking


def _closed(move: Move) -> str:
    return {
        "expired": "This request to move the call expired, so the call stays at its original time.",
        "declined": "You already declined this; the call stays at its original time.",
        "withdrawn": "This request to move the call is no longer open (the call was cancelled or moved).",
    }.get(move.status, "This request to move the call is no longer open.")
