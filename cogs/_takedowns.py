"""The take-down effects (``services/takedowns.py``): what Porchlight posted with a member's words or name, deleted
or edited to a neutral line when she deletes her data or her data is purged after she left. Each is idempotent
(a delete of a deleted message, an edit to the same text), so a crash or a retry never does harm."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord

from cogs._effects import EffectRunner, find_marked, send_once
from cogs._guilds import guild_of
from services.effects import Landed
from services.takedowns import NEUTRAL, TakeDown
from storage.effects import Effect

if TYPE_CHECKING:
    from bot import PorchlightBot

log = logging.getLogger(__name__)

THREAD_CLOSED_NOTE = "This thread is closed. Thanks to everyone who helped."
# How far back a thread's take-down reads (a help thread rarely holds more than a few dozen of the bot's messages).
THREAD_LOOKBACK = 500
NO_PING = discord.AllowedMentions.none()


class TakeDowns:
    def __init__(self, bot: PorchlightBot, runner: EffectRunner) -> None:
        self.bot = bot
        for kind, handler in {
            TakeDown.DELETE: self.delete,
            TakeDown.REDACT: self.redact,
            TakeDown.THREAD: self.thread,
            TakeDown.MARKED: self.marked,
        }.items():
            runner.register(kind, handler)

    async def _channel(self, effect: Effect, channel_id: int) -> Any:
        """The channel or thread (archived threads are not cached), or None when it is gone."""
        guild = await guild_of(self.bot, effect.guild_id or 0)
        if guild is None:
            return None
        channel = guild.get_channel_or_thread(channel_id)
        if channel is not None:
            return channel
        try:
            return await self.bot.fetch_channel(channel_id)
        except (discord.NotFound, discord.Forbidden):
            return None

    async def delete(self, effect: Effect) -> Landed | None:
        channel = await self._channel(effect, int(effect.args["channel_id"]))
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            return None
        try:
            await channel.get_partial_message(int(effect.args["message_id"])).delete()
        except discord.NotFound:
            pass
        return Landed(channel.id, int(effect.args["message_id"]))

    async def redact(self, effect: Effect) -> Landed | None:
        channel = await self._channel(effect, int(effect.args["channel_id"]))
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            return None
        message = channel.get_partial_message(int(effect.args["message_id"]))
        async with _open(channel):
            try:
                await _neutral(message)
            except discord.NotFound:
                return None
        return Landed(channel.id, message.id)

    async def thread(self, effect: Effect) -> Landed | None:
        """Every message the bot posted in her thread becomes the neutral line (members' own messages stay); then
        the thread is archived and locked, with a closing note when it was still open."""
        thread = await self._channel(effect, int(effect.args["thread_id"]))
        if not isinstance(thread, discord.Thread):
            return None
        was_open = not (thread.archived and thread.locked)
        me = thread.guild.me.id
        noted = False
        if thread.archived:
            await thread.edit(archived=False)
        async for message in thread.history(limit=THREAD_LOOKBACK, oldest_first=True):
            if message.author.id != me:
                continue
            if message.content == THREAD_CLOSED_NOTE:
                noted = True
            elif message.content != NEUTRAL or message.embeds or message.components:
                await _neutral(message)
        if was_open and not noted:
            await send_once(effect, thread, content=THREAD_CLOSED_NOTE, allowed_mentions=NO_PING)
        await thread.edit(archived=True, locked=True)
        log.info("thread taken down thread=%d", thread.id)
        return Landed(thread.parent_id, thread.id)

    async def marked(self, effect: Effect) -> Landed | None:
        """A notice whose id the outbox no longer holds: found by its button in the channel's recent history."""
        channel = await self._channel(effect, int(effect.args["channel_id"]))
        if not isinstance(channel, discord.TextChannel):
            return None
        for message in await find_marked(channel, str(effect.args["marker"]), me=channel.guild.me.id):
            try:
                await message.delete()
            except discord.NotFound:
                pass
        return None


async def _neutral(message: discord.Message | discord.PartialMessage) -> None:
    await message.edit(content=NEUTRAL, embed=None, view=None, allowed_mentions=NO_PING)


class _open:
    """Unarchive a thread for an edit (Discord refuses edits in an archived thread), then put it back as it was."""

    def __init__(self, channel: discord.TextChannel | discord.Thread) -> None:
        self.thread = channel if isinstance(channel, discord.Thread) else None
        self.archived = self.locked = False

    async def __aenter__(self) -> None:
        if self.thread is not None and self.thread.archived:
            self.archived, self.locked = True, self.thread.locked
            await self.thread.edit(archived=False)

    async def __aexit__(self, *exc: object) -> None:
        if self.thread is not None and self.archived:
            await self.thread.edit(archived=True, locked=self.locked)
