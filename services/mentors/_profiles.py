"""Mentor profiles: signup, approval, edits, pausing, leaving, and the roster and matching lists."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.contact import normalize_phone
from services.mentors._base import MentorBase
from services.mentors._rules import (
    BookingPolicy,
    CancelCause,
    LeaveResult,
    MentorEffect,
    MentorError,
    MentorMatch,
    _call_minutes,
    _contact_mode,
    _needs_mentor_phone,
    _tag_matches,
    _text,
    _weekly_limit,
    normalize_topics,
    validate_timezone,
)
from services.slots import calls_left_this_week
from services.text import clean_text
from services.windows import format_windows, parse_windows
from storage import mentors as store
from storage import roster_cards
from storage.mentors import LIVE, Mentor
from storage.sql import Conn

log = logging.getLogger(__name__)


# A process holds a roster card this long at most without giving it back (a card write is a few requests).
CARD_LEASE = timedelta(minutes=2)


class MentorProfiles(MentorBase):
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
            if status == "pending_approval":
                await self._mentor_effect(conn, guild_id, user_id, MentorEffect.APPLICATION)
            else:
                await self._listed(conn, mentor)
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
            await self._mentor_effect(conn, guild_id, user_id, MentorEffect.APPLICATION)
            await self._listed(conn, mentor)
            await self._mentor_effect(conn, guild_id, user_id, MentorEffect.DECIDED_DM, approved=True)
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
            await self._mentor_effect(conn, guild_id, user_id, MentorEffect.APPLICATION)
            await self._mentor_effect(conn, guild_id, user_id, MentorEffect.DECIDED_DM, approved=False)
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
            if updated.status != "pending_approval":
                await self._mentor_effect(conn, guild_id, user_id, MentorEffect.CARD)
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
            await self._mentor_effect(conn, guild_id, user_id, MentorEffect.CARD)
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
            await self._mentor_effect(conn, guild_id, user_id, MentorEffect.CARD)
        return updated

    async def set_roster_message(self, guild_id: int, user_id: int, message_id: int | None) -> Mentor | None:
        return await store.update_mentor(
            self.db.conn, guild_id, user_id, now=self.clock.now(), roster_message_id=message_id
        )

    # -- the roster card across processes (``storage.roster_cards``) --------------------------------------------

    async def card_edited_at(self, guild_id: int, user_id: int) -> datetime | None:
        return await roster_cards.edited_at(self.db.conn, guild_id, user_id)

    async def claim_card(self, guild_id: int, user_id: int) -> bool:
        """Hold the mentor's roster card for this process while it writes it; False: another process is writing it."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            return await roster_cards.claim(
                conn, guild_id, user_id, worker=self.jobs.worker, now=now, lease_until=now + CARD_LEASE
            )

    async def release_card(self, guild_id: int, user_id: int, *, edited: datetime | None) -> None:
        async with self.db.transaction() as conn:
            await roster_cards.release(conn, guild_id, user_id, worker=self.jobs.worker, edited=edited)

    async def leave(self, guild_id: int, user_id: int, *, cause: CancelCause = CancelCause.MENTOR_LEFT) -> LeaveResult:
        """Stop offering calls: the phone number is deleted and every upcoming call is cancelled (``cause`` says
        why to the other person: the mentor left the roster, or the server)."""
        now = self.clock.now()
        async with self.db.transaction() as conn:
            before = await self._require(conn, guild_id, user_id)
            upcoming = await store.list_bookings(
                conn, guild_id=guild_id, mentor_user_id=user_id, statuses=LIVE, ends_after=now
            )
            cancelled = []
            for booking in upcoming:
                done = await self._cancel_in(
                    conn, booking, by=user_id, reason="The mentor has stopped offering calls.", cause=cause
                )
                if done is not None:
                    cancelled.append(done)
            mentor = await store.update_mentor(
                conn, guild_id, user_id, now=now, status="left", phone_encrypted=None, paused_until=None
            )
            assert mentor is not None
            if before.status == "pending_approval":
                await self._mentor_effect(conn, guild_id, user_id, MentorEffect.APPLICATION)
            await self._listed(conn, mentor)
        self._wake()
        log.info("mentor left guild=%d user=%d cancelled=%d", guild_id, user_id, len(cancelled))
        return LeaveResult(mentor, cancelled)

    async def _listed(self, conn: Conn, mentor: Mentor) -> None:
        """The role and the roster card follow the profile's status (given and shown, or taken back and removed)."""
        await self._mentor_effect(conn, mentor.guild_id, mentor.user_id, MentorEffect.ROLE)
        await self._mentor_effect(conn, mentor.guild_id, mentor.user_id, MentorEffect.CARD)

    async def roster(self, guild_id: int) -> list[MentorMatch]:
        """Every active or paused mentor with their next 3 free slots and calls left this week (roster cards)."""
        out: list[MentorMatch] = []
        policy = await self.policy(self.db.conn, guild_id)
        for listed in await store.list_mentors(self.db.conn, guild_id, ("active", "paused")):
            mentor = await self._mentor(self.db.conn, guild_id, listed.user_id) or listed
            out.append(await self._match(self.db.conn, mentor, policy))
        return out

    async def roster_card(self, mentor: Mentor) -> MentorMatch:
        """One listed mentor's entry of :meth:`roster` (their card), without computing every other mentor's."""
        return await self._match(self.db.conn, mentor, await self.policy(self.db.conn, mentor.guild_id))

    async def _match(self, conn: Conn, mentor: Mentor, policy: BookingPolicy) -> MentorMatch:
        """Next 3 free slots and calls left this week, from one read of the mentor's calendar."""
        now = self.clock.now()
        calendar = await self._calendar(conn, mentor, now)
        slots = await self._free(conn, mentor, limit=3, policy=policy, calendar=calendar)
        left = calls_left_this_week(
            tz=ZoneInfo(mentor.timezone), weekly_limit=mentor.weekly_limit, booked=calendar[0], now=now
        )
        return MentorMatch(mentor, slots, left)

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
