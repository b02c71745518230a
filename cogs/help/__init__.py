"""Private help requests: /ask, the helper queue, claims, /close, escalation, idle checks and reconciliation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.help._cog import HelpCog
from cogs.help._views import DYNAMIC_ITEMS

if TYPE_CHECKING:
    from bot import PorchlightBot


async def setup(bot: PorchlightBot) -> None:
    bot.add_dynamic_items(*DYNAMIC_ITEMS)
    await bot.add_cog(HelpCog(bot))


async def teardown(bot: PorchlightBot) -> None:
    bot.remove_dynamic_items(*DYNAMIC_ITEMS)
