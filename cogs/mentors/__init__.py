"""Commute-call mentors: /mentor, /mentors, /calls, the roster channel, booking DMs, reminders and voice rooms."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.mentors._away import AWAY_ITEMS
from cogs.mentors._cog import MentorCog
from cogs.mentors._views import DYNAMIC_ITEMS

if TYPE_CHECKING:
    from bot import PorchlightBot


async def setup(bot: PorchlightBot) -> None:
    bot.add_dynamic_items(*DYNAMIC_ITEMS, *AWAY_ITEMS)
    await bot.add_cog(MentorCog(bot))


async def teardown(bot: PorchlightBot) -> None:
    bot.remove_dynamic_items(*DYNAMIC_ITEMS, *AWAY_ITEMS)
