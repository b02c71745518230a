"""The reach-out side effects (``services.reach_outs.ReachEffect``), each carried out once by the effects runner
(``cogs/_effects.py``): the nameless notice in the helper queue, and for a helper who takes it the private thread
(member and helper only, under the help channel), its opening message, the notice marked "taken" and the helper's
fallback DM. What a message says is rendered from the database when the effect runs."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from cogs._effects import (
    EffectGone,
    EffectRetry,
    EffectRunner,
    create_private_thread,
    dm_once,
    find_threads,
    keep_first,
    send_once,
)
from cogs._guilds import channel_of, guild_of
from cogs._threads import missing_thread_permissions
from cogs.checkins import _render as render
from cogs.checkins._reach import MEMBER_GONE, NO_PARENT, NO_PERMISSION, reach_out_view
from services.effects import Landed
from services.reach_outs import ReachEffect, ReachOutService
from storage.checkins import Checkin
from storage.effects import Effect

if TYPE_CHECKING:
    from bot import PorchlightBot

log = logging.getLogger(__name__)

NO_PING = discord.AllowedMentions.none()
OPENING_LOOKBACK = 20


def thread_name(checkin_id: int) -> str:
    return f"reach-out-{checkin_id}"


def checkin_id_of(effect: Effect) -> int:
    return int(effect.subject.split(":", 1)[1])


class ReachEffects:
    def __init__(self, bot: PorchlightBot, runner: EffectRunner) -> None:
        self.bot = bot
        self.reach_outs: ReachOutService = bot.services.reach_outs
        for kind, handler in {
            ReachEffect.NOTICE: self.notice,
            ReachEffect.THREAD: self.thread,
            ReachEffect.OPENING: self.opening,
            ReachEffect.TAKEN: self.taken,
            ReachEffect.TELL_HELPER: self.tell_helper,
        }.items():
            runner.register(kind, handler)

    async def _checkin(self, effect: Effect) -> Checkin:
        checkin = await self.reach_outs.checkin(checkin_id_of(effect))
        if checkin is None or not checkin.share_with_helpers:
            raise EffectGone("the check-in is gone")  # the member deleted their data meanwhile
        return checkin

    async def _thread(self, guild: discord.Guild, thread_id: int) -> discord.Thread:
        thread = guild.get_thread(thread_id)
        if thread is not None:
            return thread
        try:
            channel = await self.bot.fetch_channel(thread_id)
        except (discord.NotFound, discord.Forbidden):
            raise EffectGone("the thread is gone") from None
        if not isinstance(channel, discord.Thread):
            raise EffectGone("not a thread")
        return channel

    # --- the notice ----------------------------------------------------------------------------------------------

    async def notice(self, effect: Effect) -> Landed:
        """The nameless notice, with the note the member chose to share. A later run finds it by its button."""
        checkin = await self._checkin(effect)
        guild = await guild_of(self.bot, checkin.guild_id)
        config = await self.bot.services.setup.config(checkin.guild_id)
        queue = guild.get_channel(config.queue_channel_id) if guild and config and config.queue_channel_id else None
        if not isinstance(queue, discord.TextChannel):
            raise EffectGone("no helper queue")
        message = await send_once(
            effect,
            queue,
            marker=f"checkin:reach:{checkin.id}",
            content=render.reach_out_notice(checkin.note),
            view=reach_out_view(checkin.id),
            allowed_mentions=NO_PING,
        )
        log.info("reach-out notice posted guild=%d checkin_id=%d", checkin.guild_id, checkin.id)
        return Landed(queue.id, message.id)

    # --- a helper took it ----------------------------------------------------------------------------------------

    async def thread(self, effect: Effect) -> Landed | None:
        """Find-or-create the private thread and add the member and the helper. A thread that cannot be opened
        gives the claim back (the reach-out stays takeable) and says why in the failed effect."""
        checkin = await self._checkin(effect)
        helper_id = int(effect.args["helper_id"])
        reach = await self.reach_outs.get(checkin.id)
        if reach is None or reach.helper_id != helper_id:
            return None  # given back meanwhile
        if reach.thread_id is not None:
            return Landed(None, reach.thread_id)
        guild = await guild_of(self.bot, checkin.guild_id)
        config = await self.bot.services.setup.config(checkin.guild_id)
        parent = guild.get_channel(config.help_channel_id) if guild and config and config.help_channel_id else None
        if not isinstance(parent, discord.TextChannel):
            await self.reach_outs.abandon(checkin.id, helper_id)
            raise EffectGone(NO_PARENT)
        if missing_thread_permissions(parent):
            await self.reach_outs.abandon(checkin.id, helper_id)
            raise EffectGone(NO_PERMISSION)
        name = thread_name(checkin.id)
        found = await find_threads(parent, name, archived=True) if effect.attempts > 1 else []
        if not found:
            try:
                found = await create_private_thread(parent, name)
            except discord.Forbidden:
                await self.reach_outs.abandon(checkin.id, helper_id)
                raise EffectGone(NO_PERMISSION) from None
        if not found:
            raise EffectRetry("the new thread is not listed yet")
        thread = await keep_first(found)
        try:
            if thread.archived:
                await thread.edit(archived=False)
            for member_id in (checkin.user_id, helper_id):
                await thread.add_user(discord.Object(member_id))
        except (discord.NotFound, discord.Forbidden) as error:
            # The member (or the helper) left, or a permission went: nothing has been said in it yet, so it goes.
            try:
                await thread.delete()
            except discord.HTTPException:
                log.warning("half-made reach-out thread not removed thread=%d", thread.id)
            await self.reach_outs.abandon(checkin.id, helper_id)
            raise EffectGone(MEMBER_GONE if isinstance(error, discord.NotFound) else NO_PERMISSION) from None
        await self.reach_outs.attach_thread(checkin.id, thread.id)
        log.info("reach-out thread opened guild=%d checkin_id=%d thread=%d", guild.id, checkin.id, thread.id)
        return Landed(parent.id, thread.id)

    async def opening(self, effect: Effect) -> Landed:
        checkin = await self._checkin(effect)
        helper_id = int(effect.args["helper_id"])
        reach = await self.reach_outs.get(checkin.id)
        guild = await guild_of(self.bot, checkin.guild_id)
        if reach is None or reach.thread_id is None or reach.helper_id != helper_id or guild is None:
            raise EffectGone("no thread")
        thread = await self._thread(guild, reach.thread_id)
        text = render.reach_out_opening(checkin.user_id, helper_id, checkin.note)
        if effect.attempts > 1:  # it may be there already (a restart after the nonce's window): the bot's first word
            async for message in thread.history(limit=OPENING_LOOKBACK, oldest_first=True):
                if message.author.id == guild.me.id and message.content == text:
                    return Landed(thread.id, message.id)
        message = await send_once(effect, thread, content=text, allowed_mentions=NO_PING)
        return Landed(thread.id, message.id)

    async def taken(self, effect: Effect) -> Landed | None:
        """The notice says who took it (its note removed) and its button is disabled. Edits are idempotent."""
        checkin_id, helper_id = checkin_id_of(effect), int(effect.args["helper_id"])
        channel = await channel_of(self.bot, int(effect.args["channel_id"]))
        if not isinstance(channel, discord.TextChannel):
            return None
        message = channel.get_partial_message(int(effect.args["message_id"]))
        try:
            await message.edit(
                content=render.reach_out_taken(helper_id),
                view=reach_out_view(checkin_id, taken=True),
                allowed_mentions=NO_PING,
            )
        except discord.NotFound:
            return None
        return Landed(channel.id, message.id)

    async def tell_helper(self, effect: Effect) -> Landed | None:
        """Only when the button's answer could not give the helper the thread (a crash, an outage)."""
        reach = await self.reach_outs.get(checkin_id_of(effect))
        helper_id = int(effect.args["helper_id"])
        if reach is None or reach.thread_id is None or reach.helper_id != helper_id:
            return None
        guild = await guild_of(self.bot, reach.guild_id)
        where = f" in **{guild.name}**" if guild else ""
        text = f"Thank you for reaching out{where}. The private thread is open: <#{reach.thread_id}>."
        return await dm_once(self.bot, effect, helper_id, text)
