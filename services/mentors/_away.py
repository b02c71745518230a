"""Mentors away or travelling: ``/mentor away`` hides their slots on those dates, ``/mentor travel`` reads their
weekly windows in another zone on those dates (the rules are in ``services.slots``).

Decisions (``docs/decisions.md``):
- Dates are whole days, inclusive: away dates on the mentor's home calendar, travel dates on the travel zone's.
  Typed forgivingly (``2026-12-07``, ``2026/12/7``, ``2026.12.07``); a range starts today at the earliest, ends on
  or after it starts, lasts at most ``MAX_RANGE_DAYS`` and starts within a year. Ranges may not overlap, and a
  mentor holds at most ``MAX_RANGES`` current ones.
- Calls already booked keep their time (they are instants). Setting an away range DMs the mentor the calls that
  fall in it, each with a one-click "cancel with notice" (the one cancellation path; the member is told the mentor
  is away). Travel ranges flag nothing: the mentor's calls stand where they were booked.
- ``/mentor away-list`` shows current and future ranges with a Remove button each; ended ones are dropped.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from services.mentors._moves import MentorMoves
from services.mentors._rules import BookingError, CancelCause, MentorEffect, MentorError, validate_timezone
from services.slots import Absence
from storage import mentor_absences as away_store
from storage import mentors as store
from storage.mentor_absences import AbsenceRow
from storage.mentors import LIVE, Booking, Mentor
from storage.sql import Conn

log = logging.getLogger(__name__)

MAX_RANGE_DAYS = 90
MAX_RANGES = 10
MAX_AHEAD = timedelta(days=365)
_DATE = re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})")


def parse_day(text: str, name: str) -> date:
    """``YYYY-MM-DD``, forgivingly (``/`` or ``.`` between, one-digit month or day), or :class:`MentorError`."""
    cleaned = (text or "").strip()
    match = _DATE.fullmatch(cleaned)
    try:
        if match is None:
            raise ValueError
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise MentorError(
            f"I couldn't read `{cleaned[:20]}` as the `{name}` date. Use YYYY-MM-DD, e.g. `2026-12-07`."
        ) from None


def absence_of(row: AbsenceRow) -> Absence:
    return Absence(row.first_day, row.last_day, ZoneInfo(row.timezone) if row.timezone else None)


def describe(row: AbsenceRow) -> str:
    span = f"{row.first_day.isoformat()} to {row.last_day.isoformat()}"
    return f"away {span}" if row.kind == "away" else f"in {row.timezone} {span}"


@dataclass(frozen=True, slots=True)
class AwayResult:
    absence: AbsenceRow
    flagged: list[Booking]  # live calls inside an away range: the mentor gets a DM to cancel them with notice


class MentorAway(MentorMoves):
    async def _absences(self, conn: Conn, mentor: Mentor) -> list[Absence]:
        today = self.clock.now().astimezone(ZoneInfo(mentor.timezone)).date()
        rows = await away_store.of_mentor(conn, mentor.guild_id, mentor.user_id, ending_from=today - timedelta(days=1))
        return [absence_of(r) for r in rows]

    async def set_away(self, guild_id: int, user_id: int, first: str, last: str) -> AwayResult:
        return await self._add(guild_id, user_id, "away", first, last, None)

    async def set_travel(self, guild_id: int, user_id: int, first: str, last: str, timezone: str) -> AwayResult:
        return await self._add(guild_id, user_id, "travel", first, last, timezone)

    async def _add(
        self, guild_id: int, user_id: int, kind: str, first_text: str, last_text: str, zone_text: str | None
    ) -> AwayResult:
        first, last = parse_day(first_text, "from"), parse_day(last_text, "to")
        now = self.clock.now()
        async with self.db.transaction() as conn:
            mentor = await self._require(conn, guild_id, user_id)
            home = ZoneInfo(mentor.timezone)
            zone = None
            if zone_text is not None:
                zone = validate_timezone(zone_text).key
                if zone == mentor.timezone:
                    raise MentorError(
                        f"{zone} is already your time zone, so there is nothing to change. Use `/mentor away` for "
                        "days without calls."
                    )
            today = now.astimezone(home).date()
            if last < first:
                raise MentorError(f"`to` ({last}) is before `from` ({first}). Put the earlier date first.")
            if first < today:
                raise MentorError(f"`from` ({first}) has already passed. Start today ({today}) or later.")
            if (last - first).days + 1 > MAX_RANGE_DAYS:
                raise MentorError(
                    f"That's {(last - first).days + 1} days; a range can be at most {MAX_RANGE_DAYS}. Split it, or "
                    "use `/mentor pause` for a longer break."
                )
            if first > today + MAX_AHEAD:
                raise MentorError("That's more than a year ahead. Set it closer to the time.")
            await away_store.remove_ended(conn, guild_id, user_id, today)
            existing = await away_store.of_mentor(conn, guild_id, user_id)
            clash = next((r for r in existing if r.first_day <= last and first <= r.last_day), None)
            if clash is not None:
                raise MentorError(
                    f"That overlaps your range {describe(clash)}. Remove it in `/mentor away-list` first, or pick "
                    "other dates."
                )
            if len(existing) >= MAX_RANGES:
                raise MentorError(f"You have {MAX_RANGES} ranges set already; remove one in `/mentor away-list`.")
            row = await away_store.add(
                conn, guild_id, user_id, kind=kind, first_day=first, last_day=last, timezone=zone, now=now
            )
            flagged: list[Booking] = []
            if kind == "away":
                span = absence_of(row)
                upcoming = await store.list_bookings(
                    conn, guild_id=guild_id, mentor_user_id=user_id, statuses=LIVE, ends_after=now
                )
                flagged = [b for b in upcoming if span.covers(b.starts_at, home)]
                if flagged:
                    await self._mentor_effect(conn, guild_id, user_id, MentorEffect.AWAY_CALLS_DM, absence_id=row.id)
            await self._mentor_effect(conn, guild_id, user_id, MentorEffect.CARD)
        log.info("mentor %s set guild=%d user=%d days=%d", kind, guild_id, user_id, (last - first).days + 1)
        return AwayResult(row, flagged)

    async def absences(self, guild_id: int, user_id: int) -> list[AbsenceRow]:
        """Current and future ranges, in date order."""
        mentor = await self._require(self.db.conn, guild_id, user_id)
        today = self.clock.now().astimezone(ZoneInfo(mentor.timezone)).date()
        return await away_store.of_mentor(self.db.conn, guild_id, user_id, ending_from=today)

    async def get_absence(self, absence_id: int) -> AbsenceRow | None:
        return await away_store.get(self.db.conn, absence_id)

    async def clear_absence(self, guild_id: int, user_id: int, absence_id: int) -> AbsenceRow:
        async with self.db.transaction() as conn:
            row = await away_store.get(conn, absence_id)
            if row is None or row.user_id != user_id or row.guild_id != guild_id:
                raise MentorError("That range is already gone. `/mentor away-list` shows what is set.")
            await away_store.remove(conn, absence_id, user_id)
            await self._mentor_effect(conn, guild_id, user_id, MentorEffect.CARD)
        log.info("mentor range removed guild=%d user=%d", guild_id, user_id)
        return row

    async def calls_in_absence(self, absence_id: int) -> tuple[AbsenceRow, list[Booking]] | None:
        """For the flag DM, when it runs: the range and the live calls still inside it (None when it is gone)."""
        conn = self.db.conn
        row = await away_store.get(conn, absence_id)
        if row is None:
            return None
        mentor = await store.get_mentor(conn, row.guild_id, row.user_id)
        if mentor is None:
            return None
        span, home = absence_of(row), ZoneInfo(mentor.timezone)
        upcoming = await store.list_bookings(
            conn, guild_id=row.guild_id, mentor_user_id=row.user_id, statuses=LIVE, ends_after=self.clock.now()
        )
        return row, [b for b in upcoming if span.covers(b.starts_at, home)]

    async def cancel_for_away(self, booking_id: int, mentor_id: int) -> Booking:
        """The flag DM's one click: cancel with notice that the mentor is away (the one cancellation path)."""
        booking = await self.get_booking(booking_id)
        if booking is None or booking.mentor_user_id != mentor_id:
            raise BookingError("I can't find that call any more. Use /calls to see your calls.")
        return await self.cancel(booking_id, mentor_id, cause=CancelCause.MENTOR_AWAY)
