"""/stats: the last 8 weeks for moderators (and Manage Server), as one PNG chart and the same figures as text."""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from cogs._ui import is_staff, reply
from services import charts
from services.stats import WEEKS, stats_text

if TYPE_CHECKING:
    from bot import PorchlightBot

Interaction = discord.Interaction[Any]
CHART_ALT = "Bar charts of the figures listed in this message, week by week; counts under 3 are hidden."


class StatsCog(commands.Cog):
    def __init__(self, bot: PorchlightBot) -> None:
        self.bot = bot

    @app_commands.command(name="stats", description="Is Porchlight helping? The last 8 weeks, for moderators")
    @app_commands.guild_only()
    async def stats(self, interaction: Interaction) -> None:
        assert interaction.guild is not None
        config = await self.bot.services.setup.config(interaction.guild.id)
        if not is_staff(interaction, [config.moderator_role_id if config else None], "manage_guild"):
            await reply(
                interaction,
                "`/stats` is for this server's moderators (the moderator role set in `/setup roles`) and for "
                "people with Manage Server.",
            )
            return
        # Reading 8 weeks and drawing the chart can take longer than Discord's 3 seconds on a busy machine.
        await interaction.response.defer(ephemeral=True, thinking=True)
        figures = await self.bot.services.stats.weekly(interaction.guild.id)
        png = await asyncio.to_thread(charts.stats_png, figures)  # matplotlib is CPU work: off the event loop
        embeds = [
            discord.Embed(title=title, description=text, colour=discord.Colour.gold())
            for title, text in stats_text(figures)
        ]
        embeds[-1].set_footer(text="Counts under 3 show as \u201cfewer than 3\u201d so nobody can be singled out.")
        chart = discord.File(io.BytesIO(png), filename="porchlight-stats.png", description=CHART_ALT)
        await reply(
            interaction, f"Porchlight, last {WEEKS} weeks (weeks start Monday, UTC).", embeds=embeds, file=chart
        )


async def setup(bot: PorchlightBot) -> None:
    await bot.add_cog(StatsCog(bot))
