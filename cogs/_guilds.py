"""A guild or channel by id, wherever its shard is held.

With shards spread over several processes (``PORCHLIGHT_SHARD_COUNT`` / ``PORCHLIGHT_SHARD_IDS``), a process caches
only the guilds on its own shards, yet it runs any job or effect from the shared database and receives every DM
interaction (Discord sends DMs to shard 0). ``guild_of`` gives the cached guild when there is one; for a guild on a
shard held elsewhere it builds one over REST: the guild with its roles (``GET /guilds/{id}``), its channels
(``GET /guilds/{id}/channels``) and the bot's own member (so ``guild.me`` and permission checks work). Threads are
not listed by Discord there; callers fetch those by id as they already do for archived threads.

``None`` means the bot is not in that guild: not in the cache of a shard this process holds (or of the one
connection when not sharded: exactly the behaviour before sharding), or Discord answers 403/404.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord

if TYPE_CHECKING:
    from discord.ext import commands

log = logging.getLogger(__name__)


def held_here(bot: discord.Client, guild_id: int) -> bool:
    """Whether this process's shards receive ``guild_id``'s events (always, when not sharded)."""
    count = bot.shard_count
    if not isinstance(bot, discord.AutoShardedClient) or count is None:
        return True
    held = bot.shard_ids if bot.shard_ids is not None else range(count)
    return (guild_id >> 22) % count in held


async def guild_of(bot: commands.Bot, guild_id: int | None) -> discord.Guild | None:
    """The guild ``guild_id`` with its roles, channels and ``me``: cached, or fetched when another process holds it."""
    if not guild_id:
        return None
    guild = bot.get_guild(guild_id)
    if guild is not None or held_here(bot, guild_id):
        return guild
    assert bot.user is not None
    try:
        fetched = await bot.fetch_guild(guild_id)
        channels = await fetched.fetch_channels()
        me = await fetched.fetch_member(bot.user.id)
    except (discord.NotFound, discord.Forbidden):
        return None  # the bot is not (any more) in that server
    for channel in channels:
        fetched._add_channel(channel)  # noqa: SLF001 - discord.py fills a fetched guild's cache no other way
    fetched._add_member(me)  # noqa: SLF001
    log.debug("guild fetched over REST guild=%d (held by another process's shard)", guild_id)
    return fetched


async def channel_of(bot: commands.Bot, channel_id: int) -> Any:
    """A channel or thread by id: cached, else fetched (a guild held by another process, an archived thread);
    None when Discord has no such channel or the bot cannot see it."""
    channel = bot.get_channel(channel_id)
    if channel is not None:
        return channel
    try:
        return await bot.fetch_channel(channel_id)
    except (discord.NotFound, discord.Forbidden):
        return None
