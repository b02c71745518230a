"""The baseline: a bare discord.py bot that answers `/setup show` with a constant ephemeral message."""

from __future__ import annotations

import discord
from discord import app_commands


class BareBot(discord.Client):
    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.none(), guild_ready_timeout=0.05)
        self.tree = app_commands.CommandTree(self)
        setup = app_commands.Group(name="setup", description="Baseline")

        @setup.command(name="show", description="Answer with a constant")
        async def show(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("ok", ephemeral=True)

        self.tree.add_command(setup)

    async def setup_hook(self) -> None:
        await self.tree.sync()
