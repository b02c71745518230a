"""Is a member still in the server? Without the members intent the bot hears of no departure, so the moments that
would reach someone who left (a call reminder, a voice room, an escalation) ask Discord first.

One ``fetch_member`` per person, a "still here" remembered for :data:`TTL` (a burst of escalations, or two checks of
one call, cost one request each). Unknown Member / Unknown User means gone; any other error means
"can't tell", and the work goes ahead as if they were here (a Discord hiccup never cancels a call).

What happens to someone found gone is the privacy cog's departure handling, the same as the daily pass: their calls
are cancelled through the one cancellation path (the other person gets the DM and the cancel invite), their
requests closed as asker-left, their mentor card removed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

import discord

if TYPE_CHECKING:
    from bot import PorchlightBot

log = logging.getLogger(__name__)

TTL = timedelta(minutes=5)
UNKNOWN_MEMBER = 10007
UNKNOWN_USER = 10013
PRIVACY_COG = "PrivacyCog"


class Presence:
    def __init__(self, bot: PorchlightBot) -> None:
        self.bot = bot
        # Only "still here" is remembered: someone found gone is handled at once, and asked afresh next time (they
        # may have come back).
        self._seen: dict[tuple[int, int], datetime] = {}

    async def is_member(self, guild: discord.Guild, user_id: int) -> bool | None:
        """True: in the server; False: gone (Unknown Member/User); None: Discord could not say."""
        now = self.bot.services.clock.now()
        seen_at = self._seen.get((guild.id, user_id))
        if seen_at is not None and now - seen_at < TTL:
            return True
        try:
            await guild.fetch_member(user_id)
        except discord.NotFound as error:
            if error.code not in (UNKNOWN_MEMBER, UNKNOWN_USER):
                return None
            self._seen.pop((guild.id, user_id), None)
            return False
        except discord.HTTPException as error:
            log.warning("member check failed guild=%d user=%d status=%s", guild.id, user_id, error.status)
            return None
        self._seen[(guild.id, user_id)] = now
        return True

    def forget(self, guild_id: int, user_id: int) -> None:
        self._seen.pop((guild_id, user_id), None)


class _Confirms(Protocol):
    async def confirm_members(self, guild_id: int, *user_ids: int) -> bool: ...


async def confirm_members(bot: PorchlightBot, guild_id: int, *user_ids: int) -> bool:
    """True when every one of ``user_ids`` is (as far as Discord can say) still in the server. Anyone found gone is
    handled as a departure (calls cancelled with notice, requests closed) and the answer is False: stop."""
    cog: _Confirms | None = bot.get_cog(PRIVACY_COG)  # type: ignore[assignment]
    return True if cog is None else await cog.confirm_members(guild_id, *user_ids)
