"""The mentor service: profiles and bookings (the parent classes) plus a member's export and deletion."""

from __future__ import annotations

import logging
from typing import Any

from services.errors import PorchlightError
from services.mentors._bookings import MentorBookings
from services.mentors._rules import (
    DeleteResult,
)
from storage import mentors as store
from storage.mentors import LIVE, Booking

log = logging.getLogger(__name__)


class MentorService(MentorBookings):
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
