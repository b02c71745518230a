"""Every DM Porchlight sends goes through :func:`send_dm`: one request when the member's DM channel is known.

Discord keeps one DM channel per bot and user, and its id never changes, so the id is remembered in the database
(``dm_channels``) and the message is posted to it directly (``PartialMessageable``): no ``GET /users/{id}``, no
``POST /users/@me/channels``. The first DM to someone opens the channel (two requests); a channel Discord calls
unknown (10003) is forgotten and opened again, once.

A closed DM (50007) is recorded for the member's next command (and pauses reminders after three in a row), never
replaced by a public post. Any other refusal is raised for the caller to judge (a job retries a 5xx, gives up on a
403).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord

if TYPE_CHECKING:
    from bot import PorchlightBot

log = logging.getLogger(__name__)

DMS_CLOSED = 50007
UNKNOWN_CHANNEL = 10003


async def send_dm(bot: PorchlightBot, user_id: int, content: str | None = None, **send: Any) -> discord.Message | None:
    """Send a DM (``send`` is what ``Messageable.send`` takes: ``view``, ``embed``, ``files``, ``allowed_mentions``).

    Returns the message, or None when the member's DMs are closed (recorded). Other HTTP errors propagate.
    """
    reminders = bot.services.reminders
    known = await reminders.dm_channel(user_id)
    try:
        if known is not None:
            try:
                message = await _post(bot, known, content, send)
            except discord.NotFound as error:
                if error.code != UNKNOWN_CHANNEL:
                    raise
                log.info("dm channel unknown, opening it again user=%d", user_id)
                await reminders.forget_dm_channel(user_id, known)
                for file in send.get("files", ()):
                    file.reset()  # the failed attempt read them
                message = await _open_and_post(bot, user_id, content, send)
        else:
            message = await _open_and_post(bot, user_id, content, send)
    except discord.Forbidden as error:
        if error.code != DMS_CLOSED:
            raise
        if bot.metrics is not None:
            bot.metrics.dms_refused.inc()
        outcome = await reminders.record_dm_failure(user_id)
        log.info(
            "dm not delivered user=%d failures=%d paused=%s", user_id, outcome.consecutive_failures, outcome.paused
        )
        return None
    await reminders.record_dm_success(user_id)
    return message


async def _open_and_post(
    bot: PorchlightBot, user_id: int, content: str | None, send: dict[str, Any]
) -> discord.Message:
    channel = await bot.create_dm(discord.Object(user_id))  # any snowflake will do: no user fetch
    await bot.services.reminders.remember_dm_channel(user_id, channel.id)
    return await channel.send(content, **send)


async def _post(bot: PorchlightBot, channel_id: int, content: str | None, send: dict[str, Any]) -> discord.Message:
    channel = bot.get_partial_messageable(channel_id, type=discord.ChannelType.private)
    return await channel.send(content, **send)
