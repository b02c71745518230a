"""The side effects of anonymous asks (``HelpEffect.ANON_DM``, ``RELAY``, ``RELAY_ACK``, ``REVEALED``,
``REVEAL_DM``), each carried out once by the effects runner.

A relay's words live in its ``help_relays`` row, never in the effect. The handler sends them with the effect's
nonce, then blanks the row: a crash between the two re-sends with the same nonce, and Discord returns the message
it already created instead of posting a second one."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from cogs._effects import EffectGone, EffectRunner, dm_once
from cogs._guilds import guild_of
from cogs.help import _render as render
from cogs.help._effects import NO_PING, HelpEffects, _unarchive, ping
from cogs.help._views import anonymous_dm_view
from services.effects import Landed
from services.help_requests import HelpEffect
from storage.effects import Effect
from storage.help_relays import TO_MEMBER

if TYPE_CHECKING:
    from cogs.help._desk import HelpDesk

log = logging.getLogger(__name__)


class AnonymousEffects:
    def __init__(self, desk: HelpDesk, effects: HelpEffects, runner: EffectRunner) -> None:
        self.desk = desk
        self.effects = effects
        self.bot = desk.bot
        self.requests = desk.requests
        for kind, handler in {
            HelpEffect.ANON_DM: self.anon_dm,
            HelpEffect.RELAY: self.relay,
            HelpEffect.RELAY_ACK: self.relay_ack,
            HelpEffect.REVEALED: self.revealed,
            HelpEffect.REVEAL_DM: self.reveal_dm,
        }.items():
            runner.register(kind, handler)

    async def anon_dm(self, effect: Effect) -> Landed | None:
        """How an anonymous asker follows their request: replies arrive in this DM; Close and Show my name."""
        request = await self.effects._request(effect)
        guild = await guild_of(self.bot, request.guild_id)
        if request.status == "closed" or request.asker_id is None or guild is None:
            return None
        text = render.anonymous_dm(request, guild.name)
        return await dm_once(self.bot, effect, request.asker_id, text, view=anonymous_dm_view(request.id))

    async def relay(self, effect: Effect) -> Landed | None:
        request = await self.effects._request(effect)
        relay = await self.requests.relay(int(effect.args["relay_id"]))
        if relay is None:
            raise EffectGone("the relay is gone")
        if relay.text is None:  # delivered by an earlier run, or deleted with /privacy delete
            return None
        if relay.direction == TO_MEMBER:
            guild = await guild_of(self.bot, request.guild_id)
            if request.asker_id is None or guild is None:
                await self.requests.relay_delivered(relay.id, None)
                return None
            name = await self._display_name(guild, relay.author_id)
            text = render.relay_dm(request, guild.name, name, relay.text)
            landed = await dm_once(self.bot, effect, request.asker_id, text)
            # Blanked either way: delivered, or the member's DMs are closed (the helper is told; nothing is kept).
            await self.requests.relay_delivered(relay.id, landed.result_id if landed else None)
            return landed
        thread = await self.effects._thread(request)
        await _unarchive(thread)
        message = await thread.send(render.relay_in_thread(relay.text), nonce=effect.nonce, allowed_mentions=NO_PING)
        await self.requests.relay_delivered(relay.id, message.id)
        return Landed(thread.id, message.id)

    async def relay_ack(self, effect: Effect) -> Landed | None:
        request = await self.effects._request(effect)
        relay = await self.requests.relay(int(effect.args["relay_id"]))
        if relay is None or relay.message_id is None or request.asker_id is None:
            return None
        return await dm_once(self.bot, effect, request.asker_id, render.relay_ack(request))

    async def revealed(self, effect: Effect) -> Landed | None:
        """The asker showed their name: add them to the thread, and say so there."""
        request = await self.effects._request(effect)
        if request.asker_id is None or request.revealed_at is None:
            return None
        thread = await self.effects._thread(request)
        await _unarchive(thread)
        try:
            await thread.add_user(discord.Object(request.asker_id))
        except discord.NotFound:  # the member left meanwhile
            raise EffectGone("the asker left") from None
        message = await thread.send(
            render.revealed_in_thread(request.asker_id), nonce=effect.nonce, allowed_mentions=ping(request.asker_id)
        )
        return Landed(thread.id, message.id)

    async def reveal_dm(self, effect: Effect) -> Landed | None:
        """A moderator looked up who asked: the asker is told, with the reason (read from the audit row)."""
        request = await self.effects._request(effect)
        reveal = await self.requests.reveal(int(effect.args["reveal_id"]))
        guild = await guild_of(self.bot, request.guild_id)
        if reveal is None or request.asker_id is None or guild is None:
            return None
        text = render.reveal_dm(request, guild.name, reveal.reason)
        return await dm_once(self.bot, effect, request.asker_id, text)

    async def _display_name(self, guild: discord.Guild, user_id: int | None) -> str:
        if user_id is None:
            return "A helper"
        member = guild.get_member(user_id)
        if member is None:
            try:
                member = await guild.fetch_member(user_id)
            except discord.NotFound:
                return "A helper"
        return member.display_name
