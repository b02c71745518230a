"""The mentor service: profiles and bookings (the parent classes) plus a member's export and deletion."""

from __future__ import annotations

import logging
from typing import Any

from services.errors import PorchlightError
from services.mentors._away import MentorAway
from services.mentors._rules import (
    CancelCause,
    DeleteResult,
    MentorEffect,
    Role,
    booking_subject,
    erase_subject,
    mentor_subject,
)
from storage import guilds
from storage import mentor_absences as away_store
from storage import mentors as store
from storage.mentors import LIVE, Booking
from storage.sql import Conn

log = logging.getLogger(__name__)


class MentorService(MentorAway):
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
        away = [
            {
                "guild_id": row.guild_id,
                "kind": row.kind,
                "from": row.first_day.isoformat(),
                "to": row.last_day.isoformat(),
                "timezone": row.timezone,
                "created_at": row.created_at.isoformat(),
            }
            for row in await away_store.of_user(conn, user_id, guild_id)
        ]
        return {"mentor_profiles": profiles, "calls": calls, "mentor_away": away}

    def _own_number(self, token: bytes | None) -> str | None:
        if token is None:
            return None
        try:
            return self.vault.decrypt(token)
        except PorchlightError:
            return None

    async def take_down(self, guild_id: int, user_id: int) -> list[str]:
        """A member left the server: what Porchlight posted that carries her is taken down at once (as on deletion),
        while her data is kept for the grace period. Returns the effect subjects to run. Done at departure because
        the outbox's record of what was posted is purged after 30 days, as long as the grace period."""
        async with self.db.transaction() as conn:
            subjects = await self._take_downs(conn, user_id, guild_id, left=True)
        return sorted(subjects)

    async def _take_downs(self, conn: Conn, user_id: int, guild_id: int | None, *, left: bool = False) -> set[str]:
        """Record the take-down of what carries ``user_id``: her application in the helper queue (edited to a
        neutral note), her roster card (deleted), and the other person's DMs about their calls (her name, words and
        number removed). From the outbox's record of what was posted; nothing here names her."""
        subjects: set[str] = set()
        for booking in await store.list_bookings(conn, guild_id=guild_id, involving=user_id):
            other: Role = "mentor" if booking.member_user_id == user_id else "member"
            subject = booking_subject(booking.id, other)
            for kind in (MentorEffect.REQUEST_DM, MentorEffect.CONFIRMATION, MentorEffect.MOVE_REQUEST_DM):
                if await self._posted(conn, subject, kind):
                    starts_at = int(booking.starts_at.timestamp())
                    await self._booking_effect(
                        conn, booking, other, MentorEffect.REDACT, what="gone", starts_at=starts_at, left=left
                    )
                    break
            subjects.add(subject)
        for profile in await store.mentors_of_user(conn, user_id, guild_id):
            subject = mentor_subject(profile.guild_id, user_id)
            posted = await self._posted(conn, subject, MentorEffect.APPLICATION)
            taken = await self._posted(conn, erase_subject(profile.guild_id), MentorEffect.TAKE_DOWN)
            for channel_id, message_id in posted[:1]:
                if (channel_id, message_id) not in taken:
                    await self._take_down(conn, profile.guild_id, channel_id, message_id, "application")
            if profile.roster_message_id is not None:
                config = await guilds.get_config(conn, profile.guild_id)
                roster = config.roster_channel_id if config else None
                await self._take_down(conn, profile.guild_id, roster, profile.roster_message_id, "card")
                await store.update_mentor(conn, profile.guild_id, user_id, now=self.clock.now(), roster_message_id=None)
            if posted or profile.roster_message_id is not None:
                subjects.add(erase_subject(profile.guild_id))
        return subjects

    async def delete_member(self, user_id: int, guild_id: int | None = None) -> DeleteResult:
        """Delete one person's profiles and calls. Upcoming calls are cancelled first (the other person is told,
        with the cancelling invite). In the same transaction, what Porchlight posted that carries this person is
        recorded for take-down: their application in the helper queue (edited to a neutral note), their roster card
        (deleted), and the other person's DMs about their calls (edited to drop their name, words and number). The
        result names the effect subjects to run."""
        now = self.clock.now()
        subjects: set[str] = set()
        async with self.db.transaction() as conn:
            upcoming = await store.list_bookings(
                conn, guild_id=guild_id, involving=user_id, statuses=LIVE, ends_after=now
            )
            cancelled: list[Booking] = []
            for booking in upcoming:
                done = await self._cancel_in(conn, booking, by=user_id, reason=None, cause=CancelCause.DATA_DELETED)
                if done is not None:
                    cancelled.append(done)
            subjects |= await self._take_downs(conn, user_id, guild_id)
            profiles = await store.mentors_of_user(conn, user_id, guild_id)
            deleted = await store.delete_bookings_involving(conn, user_id, guild_id)
            await away_store.delete_of_user(conn, user_id, guild_id)
            removed = 0
            for mentor in profiles:
                removed += int(await store.delete_mentor(conn, mentor.guild_id, user_id))
        self._wake()
        log.info("mentor data deleted user=%d bookings=%d profiles=%d", user_id, deleted, removed)
        return DeleteResult(cancelled, sorted(subjects), deleted, removed)
