"""The roster channel: one card per listed mentor, edited in place, at most one edit per card per minute.

Decisions:
- A card's message id lives on the mentor's row (``roster_message_id``); a card is re-posted only when its message is
  gone (10008 on edit). Before posting, the channel's recent history is searched for the card by its Book button's
  custom id (a card posted by a run killed before it stored the id, or behind a 5xx): never two cards.
- Cards change through the ``mentor.card`` effect the service records with each change (``_effects.py``), which
  calls :meth:`Roster.refresh`; the debounce below applies.
- Debounce by the bot's clock: a change within a minute of the card's last edit becomes a ``mentors.roster_refresh``
  job at last edit + 1 minute (one pending job per card, by dedupe key), so bursts of bookings coalesce into one edit.
  When the job itself schedules the next refresh its key is taken (a running job holds it), so that one goes under
  the key's ``:next`` form.
- Cards also refresh as time passes: after each edit the next refresh is scheduled for when the first shown slot
  stops being bookable (minimum notice), and at least every six hours (calls left this week, a dated pause ending).
- Across processes (several share one database): the last edit time is on the mentor's row (``card_edited_at``),
  so the debounce holds whichever process edited the card and across restarts; and a card is written by one process
  at a time (``card_claimed_by`` for a lease, ``storage/roster_cards.py``), else two processes could both find no
  card and post one each. A process that finds the card held schedules a refresh after the holder's write instead.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import discord

from cogs._effects import find_marked
from cogs._guilds import guild_of
from cogs.mentors import _render as render
from cogs.mentors._views import card_view
from services import settings_catalog
from services.mentors import Mentor, MentorMatch
from storage.jobs import DuplicateJob, Job

if TYPE_CHECKING:
    from bot import PorchlightBot

log = logging.getLogger(__name__)

ROSTER_JOB = "mentors.roster_refresh"
EDIT_INTERVAL = timedelta(minutes=1)
MAX_REFRESH_GAP = timedelta(hours=6)
LISTED = ("active", "paused")


class Roster:
    def __init__(self, bot: PorchlightBot) -> None:
        self.bot = bot
        self.mentors = bot.services.mentors
        # One writer per card in this process (a lock nobody holds or waits for is dropped); across processes, the
        # card's claim on the mentor's row.
        self._locks: weakref.WeakValueDictionary[tuple[int, int], asyncio.Lock] = weakref.WeakValueDictionary()
        self.reconciled = asyncio.Event()

    async def refresh(self, guild_id: int, user_id: int) -> str | None:
        """Bring one card up to date now, or within a minute of its last edit. Returns a problem to report, if any."""
        now = self.bot.services.clock.now()
        mentor = await self.mentors.get(guild_id, user_id)
        listed = mentor is not None and mentor.status in LISTED
        last = mentor.card_edited_at if mentor is not None and listed else None
        if listed and last is not None and now - last < EDIT_INTERVAL:  # a card is removed at once
            await self._schedule(guild_id, user_id, last + EDIT_INTERVAL)
            return None
        return await self.sync(guild_id, user_id)

    async def on_job(self, job: Job) -> None:
        if job.guild_id is None or job.user_id is None:
            return  # a card job always names its server and mentor; nothing to do for anything else
        await self.sync(job.guild_id, job.user_id)

    async def _schedule(self, guild_id: int, user_id: int, due_at: datetime) -> None:
        key = f"{ROSTER_JOB}:{guild_id}:{user_id}"
        for dedupe_key in (key, f"{key}:next"):
            try:
                await self.bot.services.jobs.schedule(
                    kind=ROSTER_JOB,
                    due_at=due_at,
                    guild_id=guild_id,
                    user_id=user_id,  # the mentor: /privacy delete and the leave purge find the job by it
                    dedupe_key=dedupe_key,
                )
            except DuplicateJob:
                continue  # that job is running now (it is the caller): the next refresh takes the other key
            return

    async def _channel(self, guild_id: int) -> discord.abc.Messageable | None:
        config = await self.bot.services.setup.config(guild_id)
        if config is None or config.roster_channel_id is None:
            return None
        guild = await guild_of(self.bot, guild_id)
        channel = guild.get_channel(config.roster_channel_id) if guild else None
        return channel if isinstance(channel, discord.TextChannel) else None

    async def problem(self, guild_id: int) -> str | None:
        """What stops the roster card from being shown, if anything (said to whoever acted)."""
        if await self._channel(guild_id) is None:
            return "this server has no roster channel I can post in; a moderator can set one with `/setup channels`"
        return None

    async def sync(self, guild_id: int, user_id: int) -> str | None:
        """Post, edit or remove the card so it matches the database."""
        key = (guild_id, user_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            if not await self.mentors.claim_card(guild_id, user_id):
                if await self.mentors.get(guild_id, user_id) is not None:
                    # Another process is writing the card now, perhaps from what stood before this change: the
                    # card is brought up to date after its write.
                    await self._schedule(guild_id, user_id, self.bot.services.clock.now() + EDIT_INTERVAL)
                return None
            edited: list[datetime] = []
            try:
                return await self._sync_held(guild_id, user_id, edited)
            finally:
                await asyncio.shield(
                    self.mentors.release_card(guild_id, user_id, edited=edited[-1] if edited else None)
                )

    async def _sync_held(self, guild_id: int, user_id: int, edited: list[datetime]) -> str | None:
        mentor = await self.mentors.get(guild_id, user_id)
        if mentor is None:
            return None
        if mentor.status not in LISTED:
            if mentor.roster_message_id is not None:
                await self.remove(guild_id, user_id, mentor.roster_message_id)
            return None
        match = await self.mentors.roster_card(mentor)
        channel = await self._channel(guild_id)
        if channel is None:
            return "this server has no roster channel I can post in; a moderator can set one with `/setup channels`"
        problem = await self._write(channel, match)
        edited.append(self.bot.services.clock.now())
        await self._schedule_next(match)
        return problem

    async def _write(self, channel: discord.abc.Messageable, match: MentorMatch) -> str | None:
        mentor = match.mentor
        embed, view = render.card_embed(match), card_view(mentor)
        try:
            if mentor.roster_message_id is not None:
                try:
                    await channel.get_partial_message(mentor.roster_message_id).edit(  # type: ignore[attr-defined]
                        embed=embed, view=view
                    )
                    return None
                except discord.NotFound:
                    log.info("roster card gone, re-posting guild=%d user=%d", mentor.guild_id, mentor.user_id)
            message = await self._find(channel, mentor)
            if message is not None:
                await message.edit(embed=embed, view=view)
            else:
                message = await channel.send(embed=embed, view=view)
        except discord.Forbidden as error:
            log.warning("roster card refused guild=%d user=%d code=%s", mentor.guild_id, mentor.user_id, error.code)
            return "I can't post in the roster channel (I need View Channel, Send Messages and Embed Links there)"
        await self.mentors.set_roster_message(mentor.guild_id, mentor.user_id, message.id)
        log.info("roster card posted guild=%d user=%d message=%d", mentor.guild_id, mentor.user_id, message.id)
        return None

    async def _find(self, channel: discord.abc.Messageable, mentor: Mentor) -> discord.Message | None:
        """A card the bot posted without learning its id (killed before storing it, or a response lost to a 5xx):
        found by its Book button's custom id, so a card is never posted twice; extra ones are deleted."""
        guild = await guild_of(self.bot, mentor.guild_id)
        if guild is None:
            return None
        found = await find_marked(channel, f"mentors:book:{mentor.user_id}", me=guild.me.id)
        for duplicate in found[1:]:
            try:
                await duplicate.delete()
            except discord.NotFound:
                pass
        return found[0] if found else None

    async def _schedule_next(self, match: MentorMatch) -> None:
        now = self.bot.services.clock.now()
        due = now + MAX_REFRESH_GAP
        if match.slots:
            config = await self.bot.services.setup.config(match.mentor.guild_id)
            notice = timedelta(hours=settings_catalog.number(config, "mentor_min_notice_hours"))
            due = min(due, match.slots[0] - notice)
        await self._schedule(match.mentor.guild_id, match.mentor.user_id, max(due, now + EDIT_INTERVAL))

    async def remove(self, guild_id: int, user_id: int, message_id: int) -> None:
        channel = await self._channel(guild_id)
        if channel is not None:
            try:
                await channel.get_partial_message(message_id).delete()  # type: ignore[attr-defined]
            except discord.NotFound:
                pass
            except discord.HTTPException as error:
                log.warning("roster card not removed guild=%d user=%d status=%s", guild_id, user_id, error.status)
                return
        await self.mentors.set_roster_message(guild_id, user_id, None)
        for dedupe_key in (f"{ROSTER_JOB}:{guild_id}:{user_id}", f"{ROSTER_JOB}:{guild_id}:{user_id}:next"):
            await self.bot.services.jobs.cancel(dedupe_key=dedupe_key)

    async def reconcile(self) -> None:
        """At start-up: every listed mentor's card edited (re-posted if deleted); departed mentors' cards removed."""
        try:
            for guild in list(self.bot.guilds):
                for gone in await self.mentors.departed_with_cards(guild.id):
                    assert gone.roster_message_id is not None
                    await self.remove(guild.id, gone.user_id, gone.roster_message_id)
                for match in await self.mentors.roster(guild.id):
                    await self.sync(guild.id, match.mentor.user_id)
        except Exception as error:  # a start-up pass must never take the bot down
            log.exception("roster reconciliation failed error=%s", type(error).__name__)
        finally:
            self.reconciled.set()
