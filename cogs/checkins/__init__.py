"""Private check-ins: /checkin, /checkin-history, /reminders, /pulse, follow-up and reminder DMs, reach-outs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.checkins._cog import CheckinCog
from cogs.checkins._views import DYNAMIC_ITEMS

if TYPE_CHECKING:
    from bot import PorchlightBot


async def setup(bot: PorchlightBot) -> None:
    bot.add_dynamic_items(*DYNAMIC_ITEMS)
    await bot.add_cog(CheckinCog(bot))


async def teardown(bot: PorchlightBot) -> None:
    bot.remove_dynamic_items(*DYNAMIC_ITEMS)
